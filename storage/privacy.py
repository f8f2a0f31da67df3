"""Privacy: forget a respondent (comments and identity go, anonymous scores stay) and purge
comments past the retention period. Both are written to the audit log."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Text, cast, func, or_
from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.audit import record_audit
from storage.clock import utcnow
from storage.people import EMAIL, IDENTITY_KINDS, addresses_of, email_address
from storage.respondents import find_respondent
from storage.tables import (
    Answer,
    Decision,
    DecisionOutcome,
    Followup,
    Invitation,
    InvitationStatus,
    Person,
)

S = InvitationStatus

FORGET_ACTION = "forget_respondent"
PURGE_ACTION = "purge_comments"
# What stays of an invitation's attributes and a decision's event: case facts that reports
# and /why group on, nothing that names or reaches the person.
KEPT_CASE_FIELDS = ("type", "case_id", "team", "agent", "tags", "priority")
# A survey not yet sent to a forgotten person is never sent; one in progress is closed.
FORGOTTEN_REASON = "respondent forgotten"
_NOT_SENT = (S.SCHEDULED.value, S.SENDING.value, S.AWAITING_LINK.value)
_IN_PROGRESS = (S.SENT.value, S.STARTED.value)


@dataclass(frozen=True)
class ForgetResult:
    """What ``forget_respondent`` removed, and the anonymous token that replaced the identity."""

    respondent_id: int
    token: str
    invitation_ids: tuple[int, ...]
    comments: int  # free-text answers deleted
    followup_comments: int  # comments copied onto detractor follow-ups, cleared
    decisions: int  # stored events stripped of the person's address and payload
    scores_kept: int  # score/choice answers that stay, no longer linked to anyone
    cancelled: int  # invitations not sent yet (failed) or in progress (expired)
    # Every address of the person, as they were known (channel, id): the chat ones have state
    # (live conversations) for the caller to drop. Only held in memory, never stored.
    addresses: tuple[tuple[str, str], ...] = ()

    def summary(self) -> str:
        """One line for the audit log and for the person who asked."""
        return (
            f"{self.comments} comment(s) and {self.followup_comments} follow-up comment(s) "
            f"deleted; identity replaced in {len(self.invitation_ids)} invitation(s) and "
            f"{self.decisions} event record(s); {self.cancelled} open survey(s) closed; "
            f"{self.scores_kept} score(s) kept anonymously; {max(len(self.addresses), 1)} "
            "address(es) of the person forgotten"
        )


def anonymous_token() -> str:
    """A stand-in external id: unique, and unrelated to the person it replaces."""
    return f"forgotten-{secrets.token_hex(12)}"


def _kept(payload: dict[str, Any]) -> dict[str, Any]:
    return {name: payload[name] for name in KEPT_CASE_FIELDS if name in payload}


async def forget_respondent(
    session: AsyncSession, channel: str, external_id: str, actor: str
) -> ForgetResult | None:
    """Delete the comments and identity of the person known on ``channel`` as ``external_id``.

    Their score answers stay (reports keep their numbers) but nothing links them to the person
    any more: the respondent's external id becomes an anonymous token, each invitation's
    address becomes that token and its attributes keep only case facts (team, agent, tags,
    priority), and each stored event about them loses its recipient and payload. Invitations not
    sent yet are failed, those in progress expired. None when nobody is known by that id.
    The caller commits (with the audit entry written here).
    """
    if channel == EMAIL:
        external_id = email_address(external_id)
    respondent = await find_respondent(session, channel, external_id)
    if respondent is None or respondent.id is None:
        return None
    token = anonymous_token()
    # The person goes everywhere: every address linked to this one (their Telegram chat,
    # Slack user, email, help desk ids), with every invitation made out to any of them.
    people = await addresses_of(session, respondent)
    known = [(address.channel, address.external_id) for address in people]
    invitations = list(
        (
            await session.exec(
                select(Invitation)
                .where(col(Invitation.respondent_id).in_([a.id for a in people]))
                .execution_options(populate_existing=True)
            )
        ).all()
    )
    ids = [invitation.id for invitation in invitations if invitation.id is not None]
    # What their cases named them by (an email in the attributes, say). Not the invitations'
    # addresses: in a group chat or a Slack channel that is a place other people share.
    named = _identities(invitation.attributes for invitation in invitations)

    comments, followup_comments = await _delete_comments(session, ids, before=None)
    scores_kept = await _count_answers(session, ids)
    cancelled = 0
    now = utcnow()
    for invitation in invitations:
        if invitation.status in _NOT_SENT:
            invitation.status = S.FAILED.value
            invitation.failure_reason = FORGOTTEN_REASON
            cancelled += 1
        elif invitation.status in _IN_PROGRESS:
            invitation.status = S.EXPIRED.value
            cancelled += 1
        invitation.address = token
        invitation.attributes = _kept(invitation.attributes)
        session.add(invitation)

    names = {external_id, *named}
    elsewhere: dict[str, set[str]] = {}
    for kind, value in known:  # an email or help desk id may be an event's recipient anywhere
        elsewhere.setdefault("*" if kind in IDENTITY_KINDS else kind, set()).add(value)
    decisions = await _strip_decisions(session, ids, channel, names, token, elsewhere=elsewhere)

    for n, address in enumerate(people):
        # One token per person; a second address of one kind needs its own (unique per kind).
        address.external_id = token if n == 0 else f"{token}-{n}"
        address.forgotten_at = now
        address.updated_at = now
        session.add(address)
    if respondent.person_id is not None:
        person = await session.get(Person, respondent.person_id)
        if person is not None:
            person.forgotten_at = now
            session.add(person)
    await session.flush()
    result = ForgetResult(
        respondent_id=respondent.id,
        token=token,
        invitation_ids=tuple(ids),
        comments=comments,
        followup_comments=followup_comments,
        decisions=decisions,
        scores_kept=scores_kept,
        cancelled=cancelled,
        addresses=tuple(known),
    )
    # The audit entry names the respondent by row id and token, never by the forgotten id.
    await record_audit(
        session, actor, FORGET_ACTION, f"respondent {respondent.id} ({token})", result.summary()
    )
    return result


async def purge_comments_before(session: AsyncSession, cutoff: datetime, actor: str) -> int:
    """Delete every comment given before ``cutoff`` (naive UTC); scores stay.

    Free-text answers are deleted and any text on other answers cleared; comments copied onto
    follow-ups created before the cutoff are cleared too. Returns how many answer comments went;
    the audit entry (written even when nothing was due, so admins see the purge runs) counts
    both. The caller commits.
    """
    comments, followup_comments = await _delete_comments(session, None, before=cutoff)
    await record_audit(
        session,
        actor,
        PURGE_ACTION,
        f"comments before {cutoff.isoformat(sep=' ', timespec='seconds')}",
        f"{comments} comment(s) and {followup_comments} follow-up comment(s) deleted",
    )
    return comments


async def _delete_comments(
    session: AsyncSession, invitation_ids: Sequence[int] | None, *, before: datetime | None
) -> tuple[int, int]:
    """Delete free-text answers and clear comments, of some invitations and/or before a time."""
    answer_filters: list[Any] = []
    followup_filters: list[Any] = []
    if invitation_ids is not None:
        answer_filters.append(col(Answer.invitation_id).in_(invitation_ids))
        followup_filters.append(col(Followup.invitation_id).in_(invitation_ids))
    if before is not None:
        answer_filters.append(col(Answer.answered_at) < before)
        followup_filters.append(col(Followup.created_at) < before)
    if invitation_ids is not None and not invitation_ids:
        return 0, 0
    # A text answer is nothing but the comment: the row goes. Other answers keep their score.
    deleted = await session.exec(
        delete(Answer).where(
            *answer_filters,
            col(Answer.score).is_(None),
            col(Answer.choice).is_(None),
            col(Answer.text).is_not(None),
        )
    )
    cleared = await session.exec(
        update(Answer).where(*answer_filters, col(Answer.text).is_not(None)).values(text=None)
    )
    followups = await session.exec(
        update(Followup)
        .where(*followup_filters, col(Followup.comment).is_not(None))
        .values(comment=None)
    )
    return deleted.rowcount + cleared.rowcount, followups.rowcount


async def _count_answers(session: AsyncSession, invitation_ids: Sequence[int]) -> int:
    if not invitation_ids:
        return 0
    statement = select(func.count()).where(
        col(Answer.invitation_id).in_(invitation_ids),
        or_(col(Answer.score).is_not(None), col(Answer.choice).is_not(None)),
    )
    return int((await session.exec(statement)).one())


async def _strip_decisions(
    session: AsyncSession,
    invitation_ids: Sequence[int],
    channel: str,
    known: set[str],
    token: str,
    *,
    elsewhere: Mapping[str, set[str]] | None = None,
) -> int:
    """Replace the person's address and event payload in every decision that concerns them.

    Those are the decisions that scheduled one of their invitations, and every other one about
    them: addressed to one of their ids on that id's channel (``known`` on ``channel``; in
    ``elsewhere``, names on another channel, and under "*" names that count on any channel,
    as an email or a help desk id does), or naming them as the ``user`` of a shared place (a
    group chat, a Slack channel or thread), or as the event's person. What their scheduled
    events named them by counts too: a Slack customer invited by email has the email as the
    recipient of the decision that scheduled it, and of any later one suppressed by quarantine,
    which has no invitation. A decision about someone else in the same group or thread is left
    alone. Those names are also taken out of each decision's free-text detail.
    """
    linked = list(
        (
            await session.exec(
                select(Decision)
                .where(col(Decision.invitation_id).in_(invitation_ids))
                .execution_options(populate_existing=True)
            )
        ).all()
    )
    by_channel: dict[str, set[str]] = {channel: {name for name in known if name}}
    anywhere = set((elsewhere or {}).get("*", set()))
    for on, names in (elsewhere or {}).items():
        if on != "*":
            by_channel.setdefault(on, set()).update(names)
    for decision in linked:
        by_channel.setdefault(decision.channel, set()).add(_addressed(decision))
        anywhere |= _person_named(decision)  # an email or help desk id: any channel
    anywhere |= {name for names in by_channel.values() for name in names if "@" in name}
    anywhere.discard("")
    every_name = {name for names in by_channel.values() for name in names} | anywhere
    where: list[Any] = [
        (col(Decision.channel) == on) & func.lower(col(Decision.recipient)).in_(_lower(names))
        for on, names in by_channel.items()
    ]
    where.append(func.lower(col(Decision.recipient)).in_(_lower(anywhere)))
    # The event's user or person, inside its stored JSON (rare: /forget only, a scan is fine).
    payload = func.lower(cast(col(Decision.event), Text))
    where += [
        payload.like(f'%"{_like(name.lower())}"%', escape="\\")
        for name in every_name
        if len(name) >= 3
    ]
    # A refused event keeps an excerpt of its body, which may name them where no field could
    # be read: long enough names (an email, a chat id) are looked for inside it.
    where += [
        (col(Decision.outcome) == DecisionOutcome.REJECTED.value)
        & payload.like(f"%{_like(name.lower())}%", escape="\\")
        for name in every_name
        if len(name) >= EXCERPT_NAME_MIN
    ]
    candidates = list(
        (
            await session.exec(
                select(Decision).where(or_(*where)).execution_options(populate_existing=True)
            )
        ).all()
    )
    # Picked by any name on any channel above; theirs only where the name counts.
    counted = {on: set(_lower(names | anywhere)) for on, names in by_channel.items()}
    everywhere = set(_lower(anywhere))
    searched = set(_lower(every_name))
    theirs = [d for d in candidates if _about(d, counted.get(d.channel, everywhere), searched)]
    decisions = {decision.id: decision for decision in [*linked, *theirs]}
    for decision in decisions.values():
        decision.recipient = token
        decision.event = _kept(decision.event)
        decision.detail = _scrubbed(decision.detail, every_name, token)
        session.add(decision)
    return len(decisions)


def _addressed(decision: Decision) -> str:
    """Who a decision's event is for on its channel: the user of a shared place (a group
    chat, a Slack channel or thread), else the recipient."""
    user = decision.event.get("user")
    return str(user) if user else decision.recipient


def _person_named(decision: Decision) -> set[str]:
    """The person's email and requester id, when the event named one (valid on any channel)."""
    person = decision.event.get("person")
    if not isinstance(person, Mapping):
        return set()
    return {str(value) for key, value in person.items() if value and key != "name"}


def _about(decision: Decision, names: set[str], searched: set[str]) -> bool:
    """Whether the decision is about the person: its addressee or person is one of ``names``
    (lower case: their ids on the decision's channel, and those that count on any channel),
    or, refused, its excerpt holds one of ``searched`` (every name they were known by; the
    excerpt says nothing of which channel an id in it is on)."""
    named = {_addressed(decision), *_person_named(decision)} - {""}
    if any(name.lower() in names for name in named):
        return True
    excerpt = decision.event.get("excerpt")
    if decision.outcome != DecisionOutcome.REJECTED.value or not isinstance(excerpt, str):
        return False
    text = excerpt.lower()
    return any(name in text for name in searched if len(name) >= EXCERPT_NAME_MIN)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _lower(names: set[str]) -> list[str]:
    return sorted({name.lower() for name in names if name})


# The shortest name looked for inside a refused event's excerpt: a shorter id ("1001") would
# match a case number or a price there.
EXCERPT_NAME_MIN = 6

# Attribute and event fields that name or reach a person (beyond the recipient itself).
_IDENTITY_FIELDS = (
    "recipient",
    "user",
    "email",
    "requester",
    "requester_email",
    "requester_id",
    "chat_id",
    "user_id",
)


def _identities(payloads: Iterable[Mapping[str, Any]]) -> set[str]:
    """The addresses that payloads (invitation attributes, stored events) name a person by."""
    found: set[str] = set()
    for payload in payloads:
        if not isinstance(payload, Mapping):
            continue
        for name in _IDENTITY_FIELDS:
            value = payload.get(name)
            if isinstance(value, str | int) and not isinstance(value, bool) and str(value):
                found.add(str(value))
    return found


def _scrubbed(detail: str, names: set[str], token: str) -> str:
    """`detail` with every one of `names` replaced by the token, whatever its case."""
    for name in sorted(names, key=len, reverse=True):
        if len(name) >= 3:  # a one- or two-character id would match inside ordinary words
            detail = re.sub(re.escape(name), token, detail, flags=re.IGNORECASE)
    return detail
