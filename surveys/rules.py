"""Trigger rules: which support events get which survey, when, and which are held back.

The rules file itself is read by surveys.ruleset and the clock arithmetic lives in
surveys.schedule; this module decides, and re-exports what callers need from both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, field_validator

from surveys.errors import InvalidRules
from surveys.fields import (
    Attributes,
    CaseId,
    ChannelName,
    EventType,
    Label,
    Language,
    Moment,
    Priority,
    Recipient,
    Tags,
    UserId,
    Zone,
)
from surveys.people import PersonRef, chat_or_person
from surveys.ruleset import Match, Rule, RuleSet, load_rules, parse_rules
from surveys.schedule import Window, naive_utc, send_time

__all__ = [
    "Decision",
    "Event",
    "InvalidRules",
    "Match",
    "Rule",
    "RuleSet",
    "Scheduled",
    "Suppressed",
    "Suppression",
    "Window",
    "decide",
    "first_match",
    "in_sample",
    "load_rules",
    "parse_rules",
    "send_time",
]


class Event(BaseModel):
    """An incoming support event (a case closed, solved, ...), already mapped from its source.

    Its fields are typed in surveys.fields, as an invitation's are.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    type: EventType
    case_id: CaseId
    channel: ChannelName
    # What the help desk knows of the customer (email, requester id): enough without a
    # recipient on Telegram, where the survey then waits for its link to be opened.
    person: PersonRef | None = None
    # The customer's id on `channel`.
    recipient: Recipient | None = Field(None, validate_default=True)
    user: UserId | None = None
    language: Language | None = None
    timezone: Zone | None = None
    occurred_at: Moment | None = None
    team: Label | None = None
    agent: Label | None = None
    tags: Tags = ()
    priority: Priority | None = None
    attributes: Attributes = Field(default_factory=dict)  # the rest of what the source sent

    @field_validator("user", "language", "timezone", "team", "agent", "priority", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        # Help desks send "" for a field nobody filled in.
        return None if isinstance(value, str) and not value.strip() else value

    _someone = field_validator("recipient")(chat_or_person)

    @property
    def addressed_to(self) -> str:
        """Who the event names, as /why shows it: the recipient, else the person's email or id."""
        if self.recipient is not None:
            return self.recipient
        assert self.person is not None
        return self.person.email or self.person.requester or ""

    @field_validator("tags", mode="before")
    @classmethod
    def _tag_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list | tuple):
            return tuple(tag for tag in value if not (isinstance(tag, str) and not tag.strip()))
        return () if value is None else value


class Suppression(StrEnum):
    NO_RULE = "no_rule"
    SAMPLING = "sampling"
    QUARANTINE = "quarantine"
    DUPLICATE = "duplicate_case"  # decided by the caller, which owns the database
    PAUSED = "paused_rule"


@dataclass(frozen=True)
class Scheduled:
    """Send `rule.survey` at `send_at` (naive UTC)."""

    rule: Rule
    send_at: datetime
    expiry_hours: float | None  # None: the survey's own expiry
    reminder_after_hours: float | None
    language: str | None
    # Where the customer's day is, for the reminder too: the rule's window, the event's zone
    # (else the rule's).
    window: Window | None = None
    timezone: str = "UTC"


@dataclass(frozen=True)
class Suppressed:
    """No survey for this event; `detail` tells a person why, as `/why CASE` shows it."""

    reason: Suppression
    rule: Rule | None
    detail: str


Decision: TypeAlias = Scheduled | Suppressed


def first_match(event: Event, rules: RuleSet) -> Rule | None:
    """The first rule, in file order, whose match fits `event`; paused rules count."""
    return next((rule for rule in rules.rules if _matches(rule.match, event)), None)


def in_sample(rule_id: str, case_id: str, percent: float) -> bool:
    """Whether a case falls in a rule's sample; the same case always gets the same answer."""
    digest = hashlib.sha256(f"{rule_id}:{case_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < percent / 100


def decide(
    event: Event,
    rules: RuleSet,
    *,
    now: datetime,
    surveyed_at: Collection[datetime] = (),
) -> Decision:
    """Whether and when `event` gets a survey.

    `surveyed_at` are the times the customer was sent, or is due to be sent, any survey;
    quarantine keeps `quarantine_days` between them and this survey's send time.
    """
    now = naive_utc(now)
    rule = first_match(event, rules)
    if rule is None:
        return Suppressed(
            Suppression.NO_RULE,
            None,
            f"no rule: case {event.case_id} ({event.type} on {event.channel}) matches none "
            f"of the rules ({len(rules.rules)} checked)",
        )
    if rule.paused:
        return Suppressed(Suppression.PAUSED, rule, f"paused: rule {rule.id} is paused")
    if not in_sample(rule.id, event.case_id, rule.sample):
        return Suppressed(
            Suppression.SAMPLING,
            rule,
            f"sampled out: case {event.case_id} falls outside the {rule.sample:g}% sample "
            f"of rule {rule.id}",
        )
    # The delay counts from the event, but not from a time still to come (a clock off).
    due = max(min(event.occurred_at or now, now) + rule.delay, now)
    zone = event.timezone or rule.timezone
    send_at = send_time(due, rule.window, zone)
    held = _quarantine(rule, send_at, now, surveyed_at)
    if held is not None:
        return held
    return Scheduled(
        rule=rule,
        send_at=send_at,
        expiry_hours=rule.expiry_hours,
        reminder_after_hours=rule.reminder_after_hours,
        language=rule.language or event.language,
        window=rule.window,
        timezone=zone,
    )


def _quarantine(
    rule: Rule, send_at: datetime, now: datetime, surveyed_at: Collection[datetime]
) -> Suppressed | None:
    """Suppressed when another survey reaches the customer within the rule's quarantine of
    `send_at`, before or after it (a survey still waiting for its delay counts too)."""
    if rule.quarantine_days <= 0:
        return None
    span = timedelta(days=rule.quarantine_days)
    near = [t for t in map(naive_utc, surveyed_at) if abs(send_at - t) < span]
    if not near:
        return None
    nearest = min(near, key=lambda t: abs(send_at - t))
    days = f"{rule.quarantine_days:g} day" + ("" if rule.quarantine_days == 1 else "s")
    when = (
        f"was surveyed {nearest:%Y-%m-%d %H:%M} UTC"
        if nearest <= now
        else f"already has a survey due {nearest:%Y-%m-%d %H:%M} UTC"
    )
    return Suppressed(
        Suppression.QUARANTINE,
        rule,
        f"quarantine: customer {when}, rule {rule.id} allows one survey per {days}",
    )


def _matches(match: Match, event: Event) -> bool:
    """Case-insensitive; an event's tags match when any of them is among `tags`."""
    singles = (
        (match.types, event.type),
        (match.channels, event.channel),
        (match.teams, event.team),
        (match.agents, event.agent),
        (match.priorities, event.priority),
    )
    for allowed, value in singles:
        if allowed and (value is None or value.casefold() not in _fold(allowed)):
            return False
    return not match.tags or bool(_fold(match.tags) & _fold(event.tags))


def _fold(values: Collection[str]) -> set[str]:
    return {value.casefold() for value in values}
