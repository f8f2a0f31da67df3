"""Triggers: decide each incoming event against the rules, schedule its survey, keep the why."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.addressing import LINK_CHANNELS, Addressee, addressee, identities_of, resolve
from bot.channel import Channel
from bot.errors import InvalidRecipient
from bot.invite import KNOWN_CHANNELS
from bot.triggers.errors import KNOWN_FIELDS, InvalidEvent, UnknownRule
from bot.triggers.events import Source
from bot.triggers.rulebook import RuleBook
from bot.triggers.text import rules_text, why_text
from storage.audit import record_audit
from storage.clock import utcnow
from storage.db import Database
from storage.decisions import NewDecision, decisions_for_case, excerpt, record_decision
from storage.invitations import (
    NewInvitation,
    case_invitation,
    create_invitation,
    survey_times,
)
from storage.people import lock_person, same_person
from storage.rule_states import clear_rule_states, rule_states, set_rule_state
from storage.tables import DecisionOutcome, Invitation, InvitationStatus, Respondent
from storage.ticket_writes import ticket_writes_for_case
from surveys.catalog import Catalog
from surveys.definitions import base_language
from surveys.fields import LIMITS
from surveys.rules import Event, Rule, RuleSet, Scheduled, Suppressed, Suppression, decide

log = logging.getLogger(__name__)

NO_RULES_DETAIL = "no rules: set CXBOT_RULES to a rules file so that events can get surveys"


# An invitation's link for the customer to open (Telegram), or None.
Links = Callable[[Invitation], Awaitable[str | None]]


class Replies(Protocol):
    """Help desks posting a survey's link as their reply to the customer (deliver:
    helpdesk_reply): whether a case's help desk can, and doing it at a time."""

    def replies_for(self, attributes: Mapping[str, Any]) -> bool: ...

    async def reply(self, invitation: Invitation, at: datetime) -> None: ...


class Scheduler(Protocol):
    """Delivery, as far as triggers need it: send this invitation at that time (naive UTC)."""

    async def schedule(self, invitation_id: int, at: datetime) -> None: ...


@dataclass(frozen=True)
class Outcome:
    """What was decided about one event, as the API answers it."""

    scheduled: bool
    rule_id: str | None
    invitation_id: int | None = None
    send_at: datetime | None = None
    reason: Suppression | None = None
    detail: str = ""
    link: str | None = None  # the invitation's link, for a scheduled Telegram survey


class Triggers:
    """Events in, decisions out; the rules, their pauses, and `/triggers` and `/why` texts."""

    def __init__(
        self,
        rulebook: RuleBook,
        catalog: Catalog,
        database: Database,
        channels: Mapping[str, Channel],
        scheduler: Scheduler,
        *,
        links: Links | None = None,
        replies: Replies | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.replies = replies
        self.rulebook = rulebook
        self.catalog = catalog
        self.database = database
        self.channels = channels
        self.scheduler = scheduler
        self.links = links
        self.clock = clock
        self._watcher: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Watch the rules file for edits (`cxbot run`); without it, each use looks."""
        if self.rulebook.path is not None and self._watcher is None:
            self._watcher = asyncio.create_task(self.rulebook.watch(), name="rules-watch")

    async def stop(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    # --- events ------------------------------------------------------------------------------
    async def handle(self, event: Event, source: Source) -> Outcome:
        """Decide `event`, store the decision (always) and the invitation (when scheduled).

        InvalidEvent (nothing stored; see `reject`) when its channel is off or its recipient
        unusable.
        """
        try:
            channel = self._channel(event.channel)
            try:
                recipient = await resolve(channel, event.recipient, event.user, event.person)
            except InvalidRecipient as failure:
                raise InvalidEvent.at(failure.field, failure.message) from failure
        except InvalidEvent as failure:
            failure.about(event.model_dump(include=set(KNOWN_FIELDS)))
            raise
        now = self.clock()
        async with self.database.session() as session:
            # A write first: on SQLite it takes the lock that orders concurrent events.
            to = await addressee(
                session, channel.name, recipient, identities_of(event.recipient, event.person)
            )
            respondent = to.respondent
            await lock_person(session, respondent)
            rules = await self._effective(session)
            surveyed = await _survey_times(session, respondent, rules, now)
            decided = (
                decide(event, rules, now=now, surveyed_at=surveyed)
                if self.rulebook.path is not None
                else Suppressed(Suppression.NO_RULE, None, NO_RULES_DETAIL)
            )
            invitation = None
            if isinstance(decided, Scheduled) or decided.reason == Suppression.QUARANTINE:
                # One survey per case, whichever rule an event of it matches (solved, then
                # closed); the case's own invitation would read as quarantine: say duplicate.
                assert decided.rule is not None
                invitation = await case_invitation(session, event.case_id)
                if invitation is not None:
                    decided = _duplicate(event, decided.rule, invitation)
            by_reply = isinstance(decided, Scheduled) and self._by_reply(event, decided.rule)
            if isinstance(decided, Scheduled):
                invitation, created = await create_invitation(
                    session, self._invitation(event, decided, to, by_reply=by_reply)
                )
                if not created:  # the same event, at the same moment, in another request
                    decided = _duplicate(event, decided.rule, invitation)
            outcome = _outcome(decided, invitation)
            await record_decision(session, _decision(event, source, outcome))
            await session.commit()
        if outcome.scheduled and invitation is not None:
            assert outcome.invitation_id is not None and outcome.send_at is not None
            if invitation.status != InvitationStatus.AWAITING_LINK:  # never sent blind
                await self.scheduler.schedule(outcome.invitation_id, outcome.send_at)
            elif by_reply and self.replies is not None:  # the help desk posts the link
                await self.replies.reply(invitation, outcome.send_at)
            if self.links is not None:
                outcome = replace(outcome, link=await self.links(invitation))
        log.info(
            "event %s %s from %s: %s %s",
            event.type,
            event.case_id,
            source.value,
            "scheduled" if outcome.scheduled else "suppressed",
            outcome.reason.value if outcome.reason else outcome.invitation_id,
        )
        return outcome

    async def reject(self, failure: InvalidEvent, source: Source, body: bytes = b"") -> bool:
        """Keep a refused event for `/why` when its case can be told; True if it was kept.

        What `failure.known` holds is stored (each value cut to its field's limit), with the
        error and an excerpt of the body (its first EXCERPT_CHARS characters).
        """
        known = {name: value[: LIMITS.get(name, 64)] for name, value in failure.known.items()}
        if "case_id" not in known:
            return False
        async with self.database.session() as session:
            await record_decision(
                session,
                NewDecision(
                    source=source.value,
                    event_type=known.get("type", "unknown"),
                    case_id=known["case_id"],
                    channel=known.get("channel", ""),
                    recipient=known.get("recipient", ""),
                    outcome=DecisionOutcome.REJECTED,
                    detail=failure.message,
                    event={**known, "error": failure.code, "excerpt": excerpt(body)},
                    reason=failure.code[:32],
                ),
            )
            await session.commit()
        log.info("event %s from %s refused: %s", known["case_id"], source.value, failure.message)
        return True

    def _channel(self, name: str) -> Channel:
        channel = self.channels.get(name)
        if channel is not None:
            return channel
        if name in KNOWN_CHANNELS:
            message = f"channel '{name}' is not available: {KNOWN_CHANNELS[name]}"
            raise InvalidEvent.at("channel", message, code="channel_not_configured")
        known = ", ".join(sorted(self.channels)) or "none"
        raise InvalidEvent.at("channel", f"unknown channel '{name}'; configured: {known}")

    def _by_reply(self, event: Event, rule: Rule) -> bool:
        """The rule wants the help desk's reply to carry the link, and it can: a Telegram
        survey (links are Telegram's) of a case from a help desk that writes back. Else the
        survey goes as without the setting (its chat, or waiting for its link)."""
        if rule.deliver != "helpdesk_reply":
            return False
        replies = self.replies
        if event.channel in LINK_CHANNELS and replies and replies.replies_for(event.attributes):
            return True
        log.warning(
            "rule %s: deliver: helpdesk_reply needs a Telegram survey of a case from a help desk "
            "whose API is set (case %s: channel %s, help desk %s); sent as usual",
            rule.id,
            event.case_id,
            event.channel,
            event.attributes.get("helpdesk", "none"),
        )
        return False

    def _invitation(
        self, event: Event, scheduled: Scheduled, to: Addressee, *, by_reply: bool = False
    ) -> NewInvitation:
        survey = self.catalog.get(scheduled.rule.survey)
        language = scheduled.language and base_language(scheduled.language)
        if language not in survey.languages:
            language = None  # the survey does not speak it: the customer's own language then
        promoted: dict[str, Any] = {
            "team": event.team,
            "agent": event.agent,
            "tags": list(event.tags) or None,
            "priority": event.priority,
        }
        attributes = event.attributes | {k: v for k, v in promoted.items() if v is not None}
        assert to.respondent.id is not None
        hours = scheduled.expiry_hours or survey.expiry_hours
        return NewInvitation(
            survey_id=survey.id,
            case_id=event.case_id,
            channel=event.channel,
            address=to.address,
            respondent_id=to.respondent.id,
            language=language,
            attributes=attributes,
            scheduled_at=scheduled.send_at,
            rule_id=scheduled.rule.id,
            touchpoint=scheduled.rule.touchpoint or event.type,
            expiry_hours=scheduled.expiry_hours,
            remind_after_hours=scheduled.reminder_after_hours,
            send_window=str(scheduled.window) if scheduled.window is not None else None,
            timezone=scheduled.timezone,
            # With deliver: helpdesk_reply the help desk hands the link out: it waits too.
            status=InvitationStatus.AWAITING_LINK
            if to.awaiting_link or by_reply
            else InvitationStatus.SCHEDULED,
            # A link handed out but not opened closes when the survey would have.
            expires_at=scheduled.send_at + timedelta(hours=hours)
            if to.awaiting_link or by_reply
            else None,
        )

    # --- rules -------------------------------------------------------------------------------
    async def rules(self) -> RuleSet:
        """The rules in force: the file's, with pauses and resumes from chat or the API."""
        async with self.database.session() as session:
            return await self._effective(session)

    async def _effective(self, session: AsyncSession) -> RuleSet:
        rules = self.rulebook.rules()
        for rule_id, state in (await rule_states(session)).items():
            if rule_id in rules.ids and rules.get(rule_id).paused != state.paused:
                rules = rules.with_paused(rule_id, state.paused)
        return rules

    async def pause(self, rule_id: str, paused: bool, actor: str) -> Rule:
        """Pause (or resume) a rule for every process; UnknownRule if there is no such rule."""
        rules = self.rulebook.rules()
        if rule_id not in rules.ids:
            raise UnknownRule(rule_id, rules.ids)
        async with self.database.session() as session:
            await set_rule_state(session, rule_id, paused, actor, self.clock())
            action = "rule.pause" if paused else "rule.resume"
            await record_audit(session, actor, action, rule_id, "")
            await session.commit()
        return rules.get(rule_id).model_copy(update={"paused": paused})

    async def replace_rules(self, text: str, actor: str) -> RuleSet:
        """New rules from YAML or JSON text: checked, written to the file, in force at once.

        The file then decides alone: earlier pauses and resumes are forgotten.
        """
        before = self.rulebook.rules().ids
        rules = self.rulebook.replace(text)
        async with self.database.session() as session:
            cleared = await clear_rule_states(session)
            detail = f"{len(before)} rules -> {len(rules.rules)}: {', '.join(rules.ids) or 'none'}"
            if cleared:
                detail += f"; {cleared} pause/resume override(s) cleared"
            await record_audit(session, actor, "rules.replace", str(self.rulebook.path), detail)
            await session.commit()
        return rules

    # --- chat texts --------------------------------------------------------------------------
    async def rules_text(self) -> str:
        """`/triggers`: each rule with its match, survey, timing, sampling and paused state."""
        rules = await self.rules()
        return rules_text(rules, path=self.rulebook.path, error=self.rulebook.error)

    async def set_paused(self, rule_id: str, paused: bool, actor: str) -> str:
        """`/triggers pause|resume ID`: a confirmation, or the known ids if `rule_id` is wrong."""
        try:
            rule = await self.pause(rule_id, paused, actor)
        except UnknownRule as failure:
            return str(failure)
        if paused:
            return f"⏸ rule {rule.id} is paused: its events are suppressed (paused_rule)"
        return f"▶ rule {rule.id} is active again"

    async def why_text(self, case_id: str) -> str:
        """`/why CASE`: every decision about the case, newest first, with invitation status."""
        async with self.database.session() as session:
            found = await decisions_for_case(session, case_id.strip(), limit=100)
            writes = await ticket_writes_for_case(session, case_id.strip())
        return why_text(case_id.strip(), found, writes)


async def _survey_times(
    session: AsyncSession, respondent: Respondent, rules: RuleSet, now: datetime
) -> list[datetime]:
    # A quarantine reaches back from the send time, which is now or later, and counts the
    # surveys of every address of the person: their Telegram, Slack, email alike.
    longest = max((rule.quarantine_days for rule in rules.rules), default=0.0)
    if longest <= 0:
        return []
    addresses = await same_person(session, respondent)
    return await survey_times(session, addresses, now - timedelta(days=longest))


def _duplicate(event: Event, rule: Rule, existing: Invitation) -> Suppressed:
    return Suppressed(
        Suppression.DUPLICATE,
        rule,
        f"duplicate: case {event.case_id} already has survey {existing.survey_id} "
        f"(invitation {existing.id})",
    )


def _outcome(decided: Scheduled | Suppressed, invitation: Invitation | None) -> Outcome:
    if isinstance(decided, Scheduled):
        assert invitation is not None
        return Outcome(True, decided.rule.id, invitation.id, decided.send_at)
    rule_id = decided.rule.id if decided.rule else None
    # A duplicate points at the case's existing invitation.
    existing = invitation.id if invitation is not None else None
    return Outcome(False, rule_id, existing, reason=decided.reason, detail=decided.detail)


def _decision(event: Event, source: Source, outcome: Outcome) -> NewDecision:
    return NewDecision(
        source=source.value,
        event_type=event.type,
        case_id=event.case_id,
        channel=event.channel,
        recipient=event.addressed_to,
        outcome=DecisionOutcome.SCHEDULED if outcome.scheduled else DecisionOutcome.SUPPRESSED,
        detail=outcome.detail,
        event=event.model_dump(mode="json"),
        rule_id=outcome.rule_id,
        reason=outcome.reason.value if outcome.reason else None,
        invitation_id=outcome.invitation_id,
        send_at=outcome.send_at,
    )
