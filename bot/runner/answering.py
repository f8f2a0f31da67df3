"""Answering: a tap, a free-text message or /start, taken under the survey's lock."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime

from bot import conversations
from bot.channel import Receipt
from bot.conversations import Conversation
from bot.runner.expiring import expire
from bot.runner.outcomes import (
    Acknowledge,
    AnswerGiven,
    Outcome,
    notice_language,
    supported_language,
)
from bot.runner.recovery import recover, waiting_in_sql
from bot.runner.wiring import Wiring
from storage.answers import NewAnswer
from storage.progress import LearntLanguage, Progress, record_progress
from storage.respondents import upsert_respondent
from storage.state import Locked
from storage.tables import InvitationStatus
from surveys.conversation import (
    Asked,
    Finished,
    Prompt,
    Recorded,
    Rejected,
    Reply,
    Skip,
    Tap,
    Text,
    advance,
    current_prompt,
    with_language,
)
from surveys.definitions import QuestionKind, Survey
from surveys.messages import Message, message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Answered:
    """A reply that advanced its survey: what the listeners hear of once the lock is freed."""

    conversation: Conversation
    step: Asked | Finished


async def handle_button(
    w: Wiring,
    channel: str,
    invitation_id: int,
    actor: str,
    reply: Reply,
    hint: str | None,
    *,
    acknowledge: Acknowledge | None = None,
    receipt: Receipt | None = None,
) -> Outcome:
    """A reply that names its invitation: a tap (see `SurveyRunner.handle_button`), or a
    comment written for it (`SurveyRunner.handle_comment`)."""
    async with _lock(w, invitation_id, receipt) as locked:
        done = await _reply_locked(
            w, locked, channel, actor, reply, hint, acknowledge, receipt, invitation_id
        )
    assert done is not None  # an invitation named: it was locked
    return await _after(w, done, receipt)


async def handle_text(
    w: Wiring,
    channel: str,
    actor: str,
    text: str,
    hint: str | None,
    *,
    receipt: Receipt | None = None,
) -> Outcome:
    """A free-text message: it answers the actor's active survey, if there is one."""
    # The seen-mark, the pointer to the survey, its lock and its conversation: one step.
    unless = receipt.key if receipt is not None else None
    async with conversations.lock_active(w.state, channel, actor, 30.0, unless) as locked:
        done = await _reply_locked(w, locked, channel, actor, Text(text), hint, None, receipt)
    if done is None:
        # No pointer: the cache lost it, or nothing waits. SQL, the record, tells which.
        invitation_id = await waiting_in_sql(w, channel, actor)
        if invitation_id is not None:
            async with _lock(w, invitation_id, receipt) as locked:
                done = await _reply_locked(
                    w, locked, channel, actor, Text(text), hint, None, receipt, invitation_id
                )
    if done is None:
        await remember_language(w, channel, actor, hint)
        return Outcome(message(Message.HELP, notice_language(hint)), handled=False)
    return await _after(w, done, receipt)


async def remember_language(w: Wiring, channel: str, actor: str, hint: str | None) -> None:
    """Keep the language a person's client reports, for the invitations that come later."""
    language = supported_language(hint)
    if language is None:
        return
    async with w.database.session() as session:
        await upsert_respondent(session, channel, actor, language)
        await session.commit()


async def show_again(
    w: Wiring, channel: str, actor: str, hint: str | None, *, invitation_id: int | None = None
) -> Outcome:
    """Show the actor's waiting question again (after /start, say), or the help text;
    ``invitation_id``: that survey's (its link was opened), not whichever waits."""
    help_text = Outcome(message(Message.HELP, notice_language(hint)), handled=False)
    if invitation_id is None:
        invitation_id = await conversations.active_invitation(w.state, channel, actor)
    if invitation_id is None:
        invitation_id = await waiting_in_sql(w, channel, actor)
    if invitation_id is None:
        await remember_language(w, channel, actor, hint)
        return help_text
    async with _lock(w, invitation_id) as locked:
        found = conversations.parse(locked.value) or await recover(
            w, invitation_id, notice_language(hint)
        )
        if not isinstance(found, Conversation) or found.respondent != actor:
            return help_text
        conversation = found
        survey = w.catalog.get(conversation.state.survey_id)
        prompt = current_prompt(survey, conversation.state)
        if prompt is None:
            return help_text
        ref = await w.channels[channel].send_prompt(conversation.address, invitation_id, prompt)
        await conversations.keep(
            w.state, conversation.model_copy(update={"prompt_ref": ref}), w.clock()
        )
    return Outcome()


def _lock(
    w: Wiring, invitation_id: int, receipt: Receipt | None = None
) -> AbstractAsyncContextManager[Locked]:
    """The survey's lock, its cached conversation read with it and the receipt's mark looked
    for (one round trip); the new state and the mark go with the release."""
    return w.state.lock(
        conversations.lock_key(invitation_id),
        timeout=30.0,
        read=conversations.conversation_key(invitation_id),
        unless=receipt.key if receipt is not None else None,
    )


async def _reply_locked(
    w: Wiring,
    locked: Locked,
    channel: str,
    actor: str,
    reply: Reply,
    hint: str | None,
    acknowledge: Acknowledge | None,
    receipt: Receipt | None,
    invitation_id: int | None = None,
) -> Outcome | _Answered | None:
    """The reply, with the invitation's lock held (``invitation_id``, else the one
    `locked.pointed` names) and its conversation read into `locked`; the receipt goes with
    the release unless the reply fails. None only when nothing was locked (no invitation
    named, no pointer); when the receipt's mark is found, `receipt.seen` is set, nothing is
    done, and the answer is an empty Outcome."""
    if locked.seen:
        assert receipt is not None
        receipt.seen = True
        return Outcome()
    if invitation_id is None:
        if locked.pointed is None:
            return None
        invitation_id = int(locked.pointed)
    if receipt is not None:
        locked.set_on_release({receipt.key: "1"}, receipt.ttl)
    try:
        return await _answer_locked(
            w, locked, channel, invitation_id, actor, reply, hint, acknowledge
        )
    except BaseException:
        if receipt is not None:
            locked.discard(receipt.key)
        raise


async def _answer_locked(
    w: Wiring,
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
        found = await recover(w, invitation_id, language)
        if isinstance(found, Outcome):
            return found
        conversation = found
    if conversation.channel != channel or conversation.respondent != actor:
        return Outcome(message(Message.NOT_YOURS, language))
    if w.clock() >= conversation.expires_at:
        await expire(w, conversation)
        return Outcome(message(Message.CLOSED, conversation.state.language))
    survey = w.catalog.get(conversation.state.survey_id)
    state = conversation.state
    if not conversation.language_explicit and hint:
        state = with_language(survey, state, notice_language(hint))
    step = advance(survey, state, reply)
    if isinstance(step, Rejected):
        return Outcome(step.message)
    answered = current_prompt(survey, state)
    await _persist(w, conversation, step, actor, hint)
    await _render(w, conversation, survey, step, answered, reply, acknowledge, locked)
    return _Answered(conversation, step)


async def _after(w: Wiring, done: Outcome | _Answered, receipt: Receipt | None) -> Outcome:
    """Once the lock is released (with the receipt's mark, unless it was seen): tell the
    listeners of the answer, if one was stored."""
    if receipt is not None and not receipt.seen:
        receipt.written = True
    if isinstance(done, Outcome):
        return done
    if done.step.recorded is not None and w.listeners:
        await _tell(w, done.conversation, done.step, done.step.recorded)
    return Outcome()


async def _tell(
    w: Wiring, conversation: Conversation, step: Asked | Finished, recorded: Recorded
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
        at=w.clock(),
    )
    for listener in list(w.listeners):
        try:
            await listener(given)
        except Exception:
            log.exception("answer listener %r failed", listener)


async def _persist(
    w: Wiring, conversation: Conversation, step: Asked | Finished, actor: str, hint: str | None
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
    now = w.clock()
    await record_progress(
        w.database,
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
    w: Wiring,
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
    channel = w.channels[conversation.channel]
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
            ttl = (kept.expires_at - w.clock()).total_seconds()
            if ttl > 0:
                conversations.save_on_release(locked, kept, ttl)
    for result in results:
        if isinstance(result, BaseException):
            raise result


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
