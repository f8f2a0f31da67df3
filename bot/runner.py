"""The channel-neutral survey flow: lock, load state, advance, persist the answer, render."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from bot import conversations
from bot.channel import Channel, Receipt
from bot.conversations import Conversation
from bot.errors import DeliveryFailed
from storage.answers import NewAnswer, answers_for
from storage.clock import utcnow
from storage.db import Database
from storage.invitations import (
    expire_sent,
    get_invitation,
    mark_expired,
    mark_failed,
    mark_reminded,
    mark_sending,
    mark_sent,
    set_message_ref,
    unclaim,
    unmark_reminded,
)
from storage.progress import LearntLanguage, Progress, record_progress
from storage.respondents import get_respondent, upsert_respondent
from storage.state import BaseStateStore, Locked, key
from storage.tables import Invitation, InvitationStatus
from surveys.catalog import Catalog
from surveys.conversation import (
    Asked,
    Finished,
    Prompt,
    Recorded,
    Rejected,
    RejectReason,
    Reply,
    Skip,
    Tap,
    Text,
    advance,
    current_prompt,
    start,
    with_language,
)
from surveys.definitions import SUPPORTED_LANGUAGES, QuestionKind, Survey
from surveys.errors import UnknownSurvey
from surveys.messages import Message, message
from surveys.schedule import Window, send_time

log = logging.getLogger(__name__)

# Why an invitation claimed for sending but never confirmed is not sent again: the platform
# may have shown it already, and neither Telegram nor Slack takes an idempotency key.
INTERRUPTED_SEND = "interrupted during send; not resent to avoid a duplicate message"


@dataclass(frozen=True)
class Outcome:
    """What the channel shows the person who replied, beyond what the runner already sent.

    ``notice`` is a short text for them (a callback answer in Telegram, an ephemeral message in
    Slack); ``handled`` is False when nothing was waiting for their message.
    """

    notice: str | None = None
    handled: bool = True


@dataclass(frozen=True)
class AnswerGiven:
    """Told to every answer listener once an answer is safely in SQL (alerts use it)."""

    invitation_id: int
    channel: str
    respondent: str
    survey_id: str
    language: str
    question_id: str
    kind: str
    score: int | None
    choice: str | None
    text: str | None
    finished: bool
    at: datetime = field(compare=False)


@dataclass(frozen=True)
class _Answered:
    """A reply that advanced its survey: what the listeners hear of once the lock is freed."""

    conversation: Conversation
    step: Asked | Finished


AnswerListener = Callable[[AnswerGiven], Awaitable[None]]
# Awaited with (channel, address) right before a send is claimed: delivery waits there for a
# turn of the shared rate limits, and it returns the moment (epoch seconds, a few ms ahead at
# most) the platform call is to be made, after the claim. It may raise to put the send off.
Turn = Callable[[str, str], Awaitable[float]]
# Tells the channel a reply was accepted (Telegram: answer the callback query, no text).
Acknowledge = Callable[[], Awaitable[None]]


def supported_language(hint: str | None) -> str | None:
    """A client's language code (``pl``, ``pt-BR``) if cxbot speaks it, else None."""
    base = (hint or "").split("-")[0].lower()
    return base if base in SUPPORTED_LANGUAGES else None


def notice_language(hint: str | None) -> str:
    """The language of a short notice to someone we may know nothing about but their client."""
    return supported_language(hint) or "en"


class SurveyRunner:
    """Runs every survey conversation, whatever the channel; the one place that decides."""

    def __init__(
        self,
        catalog: Catalog,
        database: Database,
        state: BaseStateStore,
        channels: Mapping[str, Channel],
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.catalog = catalog
        self.database = database
        self.state = state
        self.channels = channels
        self.clock = clock
        # Called after each stored answer; a failing listener is logged, never the customer's
        # problem.
        self.listeners: list[AnswerListener] = []

    async def deliver(self, invitation_id: int, *, turn: Turn | None = None) -> InvitationStatus:
        """Send a scheduled invitation's first question, once; harmless to call twice.

        The row is claimed (scheduled -> sending, committed) right before the platform call,
        and only the caller whose claim changed it sends. A permanent refusal marks it failed;
        a temporary one (5xx, network, 429 beyond the retry budget) puts it back to scheduled
        and raises DeliveryFailed for the caller to try again later. A row found `sending`
        was claimed by a sender that died mid-call: the platform may have shown the message
        already, so it is marked failed, not sent a second time. ``turn`` is awaited just
        before the claim; what it raises goes up with nothing claimed.
        """
        async with self.state.lock(key("lock", invitation_id), timeout=60.0):
            async with self.database.session() as session:
                invitation = await get_invitation(session, invitation_id)
                if invitation is None:
                    raise LookupError(f"no invitation {invitation_id}")
                if invitation.status == InvitationStatus.SENDING:
                    return await self._fail(invitation_id, INTERRUPTED_SEND)
                if invitation.status != InvitationStatus.SCHEDULED:
                    return InvitationStatus(invitation.status)
                respondent = await get_respondent(session, invitation.respondent_id)
            channel = self.channels.get(invitation.channel)
            try:
                survey = self.catalog.get(invitation.survey_id)
            except UnknownSurvey:
                return await self._fail(invitation_id, f"survey '{invitation.survey_id}' is gone")
            if channel is None or respondent is None:
                return await self._fail(invitation_id, f"channel '{invitation.channel}' is off")
            asked = start(survey, survey.resolve_language(invitation.language, respondent.language))
            moment = await turn(invitation.channel, invitation.address) if turn else 0.0
            now = self.clock()
            expires_at = now + timedelta(hours=invitation.expiry_hours or survey.expiry_hours)
            reminder_at = _reminder_time(invitation, now, expires_at)
            conversation = Conversation(
                invitation_id=invitation_id,
                channel=invitation.channel,
                address=invitation.address,
                respondent=respondent.external_id,
                language_explicit=invitation.language is not None,
                prompt_ref=None,
                expires_at=expires_at,
                state=asked.state,
            )
            async with self.database.session() as session:
                claimed = await mark_sending(session, invitation_id, now)
                await session.commit()
            if not claimed:  # settled elsewhere since we looked (an expiry, say)
                return await self._status(invitation_id)
            await sleep_until(moment)
            try:
                ref = await channel.send_prompt(invitation.address, invitation_id, asked.prompt)
            except DeliveryFailed as error:
                if error.permanent:
                    return await self._fail(invitation_id, error.reason)
                async with self.database.session() as session:
                    await unclaim(session, invitation_id)
                    await session.commit()
                raise
            ttl = (expires_at - now).total_seconds()
            await conversations.save(
                self.state, conversation.model_copy(update={"prompt_ref": ref}), ttl
            )
            async with self.database.session() as session:
                await mark_sent(session, invitation_id, ref, now, expires_at, reminder_at)
                await session.commit()
            return InvitationStatus.SENT

    async def _fail(self, invitation_id: int, reason: str) -> InvitationStatus:
        log.warning("invitation %s failed: %s", invitation_id, reason)
        async with self.database.session() as session:
            await mark_failed(session, invitation_id, reason)
            await session.commit()
        return InvitationStatus.FAILED

    async def _status(self, invitation_id: int) -> InvitationStatus:
        async with self.database.session() as session:
            invitation = await get_invitation(session, invitation_id)
        if invitation is None:
            raise LookupError(f"no invitation {invitation_id}")
        return InvitationStatus(invitation.status)

    async def handle_button(
        self,
        channel: str,
        invitation_id: int,
        actor: str,
        reply: Tap | Skip,
        hint: str | None,
        *,
        acknowledge: Acknowledge | None = None,
        receipt: Receipt | None = None,
    ) -> Outcome:
        """A tap on a button that names its invitation (a score, an option, Skip).

        ``acknowledge``, if given, is awaited alongside the answer's messages once the tap is
        accepted (Telegram's callback answer stops the button's spinner); when it was not
        called the channel shows the returned notice instead. An error it raises counts as a
        failed message (the answer stays stored, the listeners are not told). ``receipt``, if
        given, is written with the conversation's new state when the tap is handled without
        an error (and marked written).
        """
        return await self._reply(channel, invitation_id, actor, reply, hint, acknowledge, receipt)

    async def handle_text(
        self,
        channel: str,
        actor: str,
        text: str,
        hint: str | None,
        *,
        receipt: Receipt | None = None,
    ) -> Outcome:
        """A free-text message: it answers the actor's active survey, if there is one.

        ``receipt`` as in `handle_button`: written with the survey's state, if there is one.
        """
        # The pointer to the survey, its lock and its conversation come in one step.
        done: Outcome | _Answered | None = None
        async with conversations.lock_active(self.state, channel, actor, 30.0) as locked:
            if locked.pointed is not None:
                done = await self._reply_locked(
                    locked, channel, int(locked.pointed), actor, Text(text), hint, None, receipt
                )
        if done is None:
            await self.remember_language(channel, actor, hint)
            return Outcome(message(Message.HELP, notice_language(hint)), handled=False)
        if receipt is not None:
            receipt.written = True
        return await self._after(done)

    async def remember_language(self, channel: str, actor: str, hint: str | None) -> None:
        """Keep the language a person's client reports, for the invitations that come later."""
        language = supported_language(hint)
        if language is None:
            return
        async with self.database.session() as session:
            await upsert_respondent(session, channel, actor, language)
            await session.commit()

    async def remind(self, channel: str, actor: str, hint: str | None) -> Outcome:
        """Show the actor's waiting question again (after /start, say), or the help text."""
        invitation_id = await conversations.active_invitation(self.state, channel, actor)
        if invitation_id is None:
            await self.remember_language(channel, actor, hint)
            return Outcome(message(Message.HELP, notice_language(hint)), handled=False)
        async with self.state.lock(key("lock", invitation_id), timeout=30.0):
            conversation = await conversations.load(self.state, invitation_id)
            if conversation is None or conversation.respondent != actor:
                return Outcome(message(Message.HELP, notice_language(hint)), handled=False)
            survey = self.catalog.get(conversation.state.survey_id)
            prompt = current_prompt(survey, conversation.state)
            if prompt is None:
                return Outcome(message(Message.HELP, notice_language(hint)), handled=False)
            ref = await self.channels[channel].send_prompt(
                conversation.address, invitation_id, prompt
            )
            await self._keep(conversation.model_copy(update={"prompt_ref": ref}))
        return Outcome()

    async def _keep(self, conversation: Conversation) -> None:
        ttl = (conversation.expires_at - self.clock()).total_seconds()
        if ttl > 0:
            await conversations.save(self.state, conversation, ttl)

    async def _reply(
        self,
        channel: str,
        invitation_id: int,
        actor: str,
        reply: Reply,
        hint: str | None,
        acknowledge: Acknowledge | None = None,
        receipt: Receipt | None = None,
    ) -> Outcome:
        # The conversation comes with the lock, and its new state goes with the release.
        async with self.state.lock(
            conversations.lock_key(invitation_id),
            timeout=30.0,
            read=conversations.conversation_key(invitation_id),
        ) as locked:
            done = await self._reply_locked(
                locked, channel, invitation_id, actor, reply, hint, acknowledge, receipt
            )
        if receipt is not None:
            receipt.written = True
        return await self._after(done)

    async def _reply_locked(
        self,
        locked: Locked,
        channel: str,
        invitation_id: int,
        actor: str,
        reply: Reply,
        hint: str | None,
        acknowledge: Acknowledge | None,
        receipt: Receipt | None,
    ) -> Outcome | _Answered:
        """The reply, with the invitation's lock held and its conversation read into `locked`;
        the receipt goes with the release unless the reply fails."""
        if receipt is not None:
            locked.set_on_release({receipt.key: "1"}, receipt.ttl)
        try:
            return await self._answer_locked(
                locked, channel, invitation_id, actor, reply, hint, acknowledge
            )
        except BaseException:
            if receipt is not None:
                locked.discard(receipt.key)
            raise

    async def _answer_locked(
        self,
        locked: Locked,
        channel: str,
        invitation_id: int,
        actor: str,
        reply: Reply,
        hint: str | None,
        acknowledge: Acknowledge | None,
    ) -> Outcome | _Answered:
        language = notice_language(hint)
        conversation = conversations.parse(locked.value)
        if conversation is None:
            found = await self._recover(invitation_id, language)
            if isinstance(found, Outcome):
                return found
            conversation = found
        if conversation.channel != channel or conversation.respondent != actor:
            return Outcome(message(Message.NOT_YOURS, language))
        if self.clock() >= conversation.expires_at:
            await self._expire(conversation)
            return Outcome(message(Message.CLOSED, conversation.state.language))
        survey = self.catalog.get(conversation.state.survey_id)
        state = conversation.state
        if not conversation.language_explicit and hint:
            state = with_language(survey, state, notice_language(hint))
        step = advance(survey, state, reply)
        if isinstance(step, Rejected):
            return Outcome(step.message)
        answered = current_prompt(survey, state)
        await self._persist(conversation, step, actor, hint)
        await self._render(conversation, survey, step, answered, reply, acknowledge, locked)
        return _Answered(conversation, step)

    async def _after(self, done: Outcome | _Answered) -> Outcome:
        """Once the lock is released: tell the listeners of the answer, if one was stored."""
        if isinstance(done, Outcome):
            return done
        if done.step.recorded is not None and self.listeners:
            await self._tell(done.conversation, done.step, done.step.recorded)
        return Outcome()

    async def _tell(
        self, conversation: Conversation, step: Asked | Finished, recorded: Recorded
    ) -> None:
        given = AnswerGiven(
            invitation_id=conversation.invitation_id,
            channel=conversation.channel,
            respondent=conversation.respondent,
            survey_id=step.state.survey_id,
            language=step.state.language,
            question_id=recorded.question_id,
            kind=recorded.kind.value,
            score=recorded.score,
            choice=recorded.choice,
            text=recorded.text,
            finished=isinstance(step, Finished),
            at=self.clock(),
        )
        for listener in list(self.listeners):
            try:
                await listener(given)
            except Exception:
                log.exception("answer listener %r failed", listener)

    async def _persist(
        self, conversation: Conversation, step: Asked | Finished, actor: str, hint: str | None
    ) -> None:
        """Write the answer the moment it is given: a score without a comment still counts."""
        # The first answer starts the survey and is when the customer's language is learnt;
        # later answers skip those writes. Whatever it holds, it is one round trip on
        # PostgreSQL (storage.progress).
        first = not conversation.state.answers and not conversation.state.skipped
        language = supported_language(hint) if first else None
        status = (
            InvitationStatus.COMPLETED
            if isinstance(step, Finished)
            else InvitationStatus.STARTED
            if first
            else None
        )
        now = self.clock()
        await record_progress(
            self.database,
            Progress(
                invitation_id=conversation.invitation_id,
                answer=(
                    _new_answer(conversation.invitation_id, step.recorded, now)
                    if step.recorded is not None
                    else None
                ),
                status=status,
                at=now,
                # The invitation names the respondent: one UPDATE, no upsert.
                language=(
                    LearntLanguage(conversation.channel, actor, language)
                    if language is not None
                    else None
                ),
            ),
        )

    async def _render(
        self,
        conversation: Conversation,
        survey: Survey,
        step: Asked | Finished,
        answered: Prompt | None,
        reply: Reply,
        acknowledge: Acknowledge | None,
        locked: Locked,
    ) -> None:
        """Close the answered question, show the next one (or thanks) and acknowledge the tap.

        The three calls need nothing from each other, so they go out together: the customer
        waits for one Bot API round trip instead of three. The conversation's new state is
        left on `locked`, written as the lock is released.
        """
        channel = self.channels[conversation.channel]
        others: list[Awaitable[None]] = []
        if conversation.prompt_ref is not None and answered is not None:
            label = _answer_label(answered, reply, step.state.language)
            others.append(
                channel.close_prompt(conversation.address, conversation.prompt_ref, answered, label)
            )
        if acknowledge is not None:
            others.append(acknowledge())
        showing: Awaitable[str | None] = (
            channel.send_prompt(conversation.address, conversation.invitation_id, step.prompt)
            if isinstance(step, Asked)
            else _nothing_back(channel.send_text(conversation.address, step.thanks))
        )
        results: list[object] = []
        try:
            results = await asyncio.gather(showing, *others, return_exceptions=True)
        finally:
            # Saved whatever happened on the wire: the answer is in SQL already, and the
            # customer can still type the next answer even if its question failed to show.
            if isinstance(step, Finished):
                conversations.forget_on_release(locked, conversation)
            else:
                shown = results[0] if results else None
                next_ref = shown if isinstance(shown, str) else None
                kept = conversation.model_copy(update={"state": step.state, "prompt_ref": next_ref})
                ttl = (kept.expires_at - self.clock()).total_seconds()
                if ttl > 0:
                    conversations.save_on_release(locked, kept, ttl)
        for result in results:
            if isinstance(result, BaseException):
                raise result

    async def _expire(self, conversation: Conversation) -> None:
        await conversations.forget(self.state, conversation)
        async with self.database.session() as session:
            await mark_expired(session, conversation.invitation_id)
            await session.commit()

    async def _recover(self, invitation_id: int, language: str) -> Conversation | Outcome:
        """Rebuild a conversation from SQL when the state store lost it (restart, eviction)."""
        async with self.database.session() as session:
            invitation = await get_invitation(session, invitation_id)
            respondent = (
                await get_respondent(session, invitation.respondent_id) if invitation else None
            )
            answers = await answers_for(session, invitation_id) if invitation else []
        if invitation is None or respondent is None:
            return Outcome(message(Message.BAD_BUTTON, language))
        if invitation.status == InvitationStatus.COMPLETED:
            return Outcome(message(Message.ALREADY_DONE, language))
        if invitation.status == InvitationStatus.EXPIRED or _past(invitation, self.clock()):
            async with self.database.session() as session:
                await mark_expired(session, invitation_id)
                await session.commit()
            return Outcome(message(Message.CLOSED, language))
        if invitation.status not in (InvitationStatus.SENT, InvitationStatus.STARTED):
            return Outcome(message(Message.BAD_BUTTON, language))
        try:
            survey = self.catalog.get(invitation.survey_id)
        except UnknownSurvey:
            return Outcome(message(Message.CLOSED, language))
        step: Asked | Finished | Rejected = start(
            survey, survey.resolve_language(invitation.language, respondent.language)
        )
        for answer in answers:
            replay: Reply = (
                Text(answer.text)
                if answer.text is not None
                else Tap(answer.question_id, answer.choice or str(answer.score))
            )
            step = _replay(survey, step, replay)
        assert invitation.expires_at is not None
        return Conversation(
            invitation_id=invitation_id,
            channel=invitation.channel,
            address=invitation.address,
            respondent=respondent.external_id,
            language_explicit=invitation.language is not None,
            prompt_ref=invitation.message_ref if not answers else None,
            expires_at=invitation.expires_at,
            state=step.state,
        )

    async def remind_invitation(self, invitation_id: int, *, turn: Turn | None = None) -> bool:
        """Ask a sent, still unanswered invitation's first question again, once.

        The reminder is a fresh message with a short reminder line above the question; the
        first message loses its buttons. Returns False, sending nothing, when the customer
        answered, the survey closed or the reminder went already. The reminder is claimed
        in SQL before the platform call, like a send: a crash mid-call costs the reminder,
        never doubles it. A temporary DeliveryFailed releases the claim and goes up.
        ``turn`` is awaited just before the claim, as in `deliver`.
        """
        async with self.state.lock(key("lock", invitation_id), timeout=60.0):
            async with self.database.session() as session:
                invitation = await get_invitation(session, invitation_id)
            if (
                invitation is None
                or invitation.status != InvitationStatus.SENT
                or invitation.reminded_at is not None
                or _past(invitation, self.clock())
            ):
                return False
            channel = self.channels.get(invitation.channel)
            found: Conversation | Outcome | None = await conversations.load(
                self.state, invitation_id
            )
            if found is None:
                found = await self._recover(invitation_id, "en")
            if channel is None or not isinstance(found, Conversation):
                return False
            try:
                survey = self.catalog.get(invitation.survey_id)
            except UnknownSurvey:
                return False
            prompt = current_prompt(survey, found.state)
            if prompt is None:
                return False
            line = message(Message.REMINDER, prompt.language)
            reminder = replace(prompt, text=f"{line}\n\n{prompt.text}")
            moment = await turn(invitation.channel, invitation.address) if turn else 0.0
            async with self.database.session() as session:
                claimed = await mark_reminded(session, invitation_id, self.clock())
                await session.commit()
            if not claimed:
                return False
            await sleep_until(moment)
            try:
                ref = await channel.send_prompt(invitation.address, invitation_id, reminder)
            except DeliveryFailed as error:
                if not error.permanent:
                    async with self.database.session() as session:
                        await unmark_reminded(session, invitation_id)
                        await session.commit()
                raise
            async with self.database.session() as session:
                await set_message_ref(session, invitation_id, ref)
                await session.commit()
            await self._keep(found.model_copy(update={"prompt_ref": ref}))
            if found.prompt_ref is not None:
                await self._quietly_close(channel, found.address, found.prompt_ref, prompt, None)
            return True

    async def expire_invitation(self, invitation_id: int) -> bool:
        """Close a sent or started survey whose time ran out: status, state and message.

        The question message loses its buttons and says the survey has closed; a later tap
        gets the closed notice. False when the survey was finished, failed or closed already.
        """
        async with self.state.lock(key("lock", invitation_id), timeout=60.0):
            async with self.database.session() as session:
                invitation = await get_invitation(session, invitation_id)
                if invitation is None:
                    return False
                answered = invitation.status == InvitationStatus.STARTED
                if not await expire_sent(session, invitation_id):
                    return False
                await session.commit()
                respondent = await get_respondent(session, invitation.respondent_id)
            conversation = await conversations.load(self.state, invitation_id)
            if conversation is not None:
                await conversations.forget(self.state, conversation)
            # The conversation names the question showing now; without it (its time-to-live
            # ends at the expiry too) SQL knows the question only while none was answered.
            ref = conversation.prompt_ref if conversation is not None else None
            if ref is None and not answered:
                ref = invitation.message_ref
            channel = self.channels.get(invitation.channel)
            if ref is None or channel is None:
                return True
            try:
                survey = self.catalog.get(invitation.survey_id)
            except UnknownSurvey:
                return True
            state = (
                conversation.state
                if conversation is not None
                else start(
                    survey,
                    survey.resolve_language(
                        invitation.language, respondent.language if respondent else None
                    ),
                ).state
            )
            prompt = current_prompt(survey, state)
            if prompt is not None:
                closed = message(Message.CLOSED, state.language)
                await self._quietly_close(channel, invitation.address, ref, prompt, closed)
            return True

    async def _quietly_close(
        self, channel: Channel, address: str, ref: str, prompt: Prompt, label: str | None
    ) -> None:
        # Only the look of an old message is at stake: the survey's state is already right.
        try:
            await channel.close_prompt(address, ref, prompt, label)
        except DeliveryFailed as error:
            log.info("could not close message %s in %s: %s", ref, address, error.reason)


def _replay(
    survey: Survey, step: Asked | Finished | Rejected, reply: Reply
) -> Asked | Finished | Rejected:
    following = advance(survey, step.state, reply)
    if isinstance(following, Rejected) and following.reason == RejectReason.STALE:
        # The customer skipped an optional question in between: skip it and try again.
        skipped = advance(survey, step.state, Skip())
        if not isinstance(skipped, Rejected):
            return advance(survey, skipped.state, reply)
    return following


async def sleep_until(moment: float) -> None:
    """Sleep until ``moment`` (epoch seconds, a granted turn's; 0: do not wait)."""
    ahead = moment - time.time()
    if ahead > 0:
        await asyncio.sleep(ahead)


def _reminder_time(
    invitation: Invitation, sent_at: datetime, expires_at: datetime
) -> datetime | None:
    """When to remind: the rule's hours after the send, moved into its send window in the
    customer's time zone as the first send was, if that still comes before the survey closes."""
    if not invitation.remind_after_hours:
        return None
    at = sent_at + timedelta(hours=invitation.remind_after_hours)
    if invitation.send_window is not None:
        window = Window.model_validate(invitation.send_window)
        at = send_time(at, window, invitation.timezone or "UTC")
    return at if at < expires_at else None


def _past(invitation: Invitation, now: datetime) -> bool:
    return invitation.expires_at is not None and now >= invitation.expires_at


def _new_answer(invitation_id: int, recorded: Recorded, now: datetime) -> NewAnswer:
    return NewAnswer(
        invitation_id=invitation_id,
        question_id=recorded.question_id,
        kind=recorded.kind.value,
        score=recorded.score,
        choice=recorded.choice,
        text=recorded.text,
        answered_at=now,
    )


async def _nothing_back(sending: Awaitable[None]) -> str | None:
    await sending
    return None


def _answer_label(prompt: Prompt, reply: Reply, language: str) -> str | None:
    """The line that replaces a question's buttons once answered, or None when skipped."""
    if isinstance(reply, Skip):
        return None
    if prompt.kind is QuestionKind.TEXT:
        return None
    value = reply.value if isinstance(reply, Tap) else reply.text.strip()
    for choice in prompt.choices:
        if choice.value == value or choice.label.lower() == value.lower():
            shown = f"{choice.label} · {choice.caption}" if choice.caption else choice.label
            return message(Message.CHOSEN, language, value=shown)
    return message(Message.CHOSEN, language, value=value)
