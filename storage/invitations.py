"""Invitations repository: create once per case and survey, then move through statuses."""

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, or_
from sqlalchemy.orm.util import identity_key
from sqlalchemy.sql.dml import Update
from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.clock import utcnow
from storage.db import insert_ignoring_conflicts
from storage.links import new_link_token
from storage.tables import Invitation, InvitationStatus

S = InvitationStatus


@dataclass(frozen=True)
class NewInvitation:
    """What it takes to schedule one invitation."""

    survey_id: str
    case_id: str
    channel: str
    address: str
    respondent_id: int
    language: str | None
    attributes: dict[str, Any]
    scheduled_at: datetime
    rule_id: str | None = None
    touchpoint: str | None = None
    expiry_hours: float | None = None
    remind_after_hours: float | None = None
    send_window: str | None = None
    timezone: str | None = None
    # AWAITING_LINK for a person whose chat nobody knows: sent only when they open its link;
    # such an invitation's expiry counts from its creation.
    status: InvitationStatus = InvitationStatus.SCHEDULED
    expires_at: datetime | None = None


def tags_column(tags: Any) -> str | None:
    """Tags (a list, or a comma-separated string) as stored: ",vip,refund," (lower case)."""
    if tags is None:
        return None
    items = tags.split(",") if isinstance(tags, str) else [str(tag) for tag in tags]
    cleaned = sorted({item.strip().lower() for item in items if item.strip()})
    return "," + ",".join(cleaned) + "," if cleaned else None


def _attribute(attributes: dict[str, Any], name: str) -> str | None:
    value = attributes.get(name)
    return str(value)[:128] if value not in (None, "") else None


async def create_invitation(session: AsyncSession, new: NewInvitation) -> tuple[Invitation, bool]:
    """Schedule `new` unless its case already has this survey.

    Returns the invitation and whether this call created it. Duplicates (a retried webhook,
    two workers) are absorbed by the unique constraint on (case_id, survey_id).
    """
    values = {
        "survey_id": new.survey_id,
        "case_id": new.case_id,
        "respondent_id": new.respondent_id,
        "channel": new.channel,
        "address": new.address,
        "language": new.language,
        "attributes": new.attributes,
        "team": _attribute(new.attributes, "team"),
        "agent": _attribute(new.attributes, "agent"),
        "tags": tags_column(new.attributes.get("tags")),
        "rule_id": new.rule_id,
        "touchpoint": new.touchpoint,
        "expiry_hours": new.expiry_hours,
        "remind_after_hours": new.remind_after_hours,
        "send_window": new.send_window,
        "timezone": new.timezone,
        "status": new.status.value,
        "link_token": new_link_token(),
        "created_at": utcnow(),
        "scheduled_at": new.scheduled_at,
        "expires_at": new.expires_at,
    }
    insert = insert_ignoring_conflicts(session, Invitation, values, ("case_id", "survey_id"))
    result = await session.exec(insert.returning(col(Invitation.id)))
    created = result.scalar_one_or_none() is not None
    statement = (
        select(Invitation)
        .where(col(Invitation.case_id) == new.case_id, col(Invitation.survey_id) == new.survey_id)
        .execution_options(populate_existing=True)
    )
    return (await session.exec(statement)).one(), created


async def get_invitation(session: AsyncSession, invitation_id: int) -> Invitation | None:
    """The invitation with this id, or None."""
    return await session.get(Invitation, invitation_id)


async def get_invitation_for_update(session: AsyncSession, invitation_id: int) -> Invitation | None:
    """The invitation, row-locked until the transaction ends (PostgreSQL).

    SQLite has no row locks (it compiles FOR UPDATE away); its single writer serialises anyway.
    """
    statement = (
        select(Invitation)
        .where(col(Invitation.id) == invitation_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return (await session.exec(statement)).one_or_none()


async def _transition(
    session: AsyncSession,
    invitation_id: int,
    allowed_from: Collection[InvitationStatus],
    **values: Any,
) -> bool:
    # One conditional UPDATE: a repeated or out-of-order call changes nothing.
    allowed = tuple(status.value for status in allowed_from)
    if identity_key(Invitation, invitation_id) in session.identity_map:
        # The session holds this invitation: the ORM's UPDATE keeps that object in step.
        statement = (
            update(Invitation)
            .where(col(Invitation.id) == invitation_id, col(Invitation.status).in_(allowed))
            .values(**values)
        )
        result = await session.exec(statement)
    else:
        # Nothing loaded to keep in step (the answer path): a Core UPDATE built once per
        # transition. The ORM's version cost about 0.4 ms of CPU per call, building the
        # statement and matching it against the session's objects, more than running it.
        params = {f"new_{name}": value for name, value in values.items()}
        statement = _transition_statement(allowed, tuple(values))
        result = await session.exec(statement, params={"the_id": invitation_id, **params})
    return result.rowcount > 0


@cache
def _transition_statement(allowed: tuple[str, ...], names: tuple[str, ...]) -> Update:
    invitations = Invitation.metadata.tables["invitations"]
    # `status = a OR status = b`, not `status IN (a, b)`: an IN of values is an "expanding"
    # parameter that SQLAlchemy renders into the cached SQL anew on every execution (3% of
    # the answer path's CPU in bench/answers.py); plain comparisons are bound once.
    status = invitations.c.status
    return (
        update(invitations)
        .where(invitations.c.id == bindparam("the_id"), or_(*(status == s for s in allowed)))
        .values({name: bindparam(f"new_{name}") for name in names})
    )


async def mark_sending(session: AsyncSession, invitation_id: int, at: datetime) -> bool:
    """scheduled -> sending: claim the send, right before the platform call.

    Commit it before calling the platform: only the sender whose claim changed the row may
    send, so two workers (or a retried job) never send one invitation twice.
    """
    return await _transition(
        session, invitation_id, (S.SCHEDULED,), status=S.SENDING.value, sending_at=at
    )


async def unclaim(session: AsyncSession, invitation_id: int) -> bool:
    """sending -> scheduled: the platform refused for now (5xx, network), so try again later.

    `scheduled_at` keeps the original due time; the job queue holds the retry's time.
    """
    return await _transition(
        session, invitation_id, (S.SENDING,), status=S.SCHEDULED.value, sending_at=None
    )


async def mark_sent(
    session: AsyncSession,
    invitation_id: int,
    message_ref: str,
    sent_at: datetime,
    expires_at: datetime | None,
    reminder_at: datetime | None = None,
) -> bool:
    """scheduled | sending | failed -> sent, remembering the channel's message id.

    `failed` is accepted because the platform's word wins: a send that completes after the
    row was marked failed (interrupted, say) did reach the customer. A row that answers moved
    on already (started, completed: the customer answered before PostgreSQL took this record,
    see bot/runner/sending.py) keeps its status and gets the send's fields.
    """
    sent: dict[str, Any] = {
        "message_ref": message_ref,
        "sent_at": sent_at,
        "expires_at": expires_at,
        "reminder_at": reminder_at,
        "failure_reason": None,
    }
    allowed = (S.SCHEDULED, S.SENDING, S.FAILED)
    if await _transition(session, invitation_id, allowed, status=S.SENT.value, **sent):
        return True
    return await _transition(session, invitation_id, (S.STARTED, S.COMPLETED), **sent)


async def mark_failed(session: AsyncSession, invitation_id: int, reason: str) -> bool:
    """scheduled | sending | sent -> failed, with the reason."""
    return await _transition(
        session,
        invitation_id,
        (S.SCHEDULED, S.SENDING, S.SENT),
        status=S.FAILED.value,
        failure_reason=reason,
    )


async def mark_reminded(session: AsyncSession, invitation_id: int, at: datetime) -> bool:
    """Record the one reminder of a sent, unanswered invitation; False if it had one already."""
    statement = (
        update(Invitation)
        .where(
            col(Invitation.id) == invitation_id,
            col(Invitation.status) == S.SENT.value,
            col(Invitation.reminded_at).is_(None),
        )
        .values(reminded_at=at)
    )
    result = await session.exec(statement)
    return result.rowcount > 0


async def unmark_reminded(session: AsyncSession, invitation_id: int) -> bool:
    """Forget a reminder claimed but refused for now by the platform, so it can be tried again."""
    statement = (
        update(Invitation)
        .where(col(Invitation.id) == invitation_id, col(Invitation.status) == S.SENT.value)
        .values(reminded_at=None)
    )
    result = await session.exec(statement)
    return result.rowcount > 0


async def set_message_ref(session: AsyncSession, invitation_id: int, message_ref: str) -> bool:
    """Point the invitation at the message now showing its question (a reminder's)."""
    statement = (
        update(Invitation)
        .where(col(Invitation.id) == invitation_id)
        .values(message_ref=message_ref)
    )
    result = await session.exec(statement)
    return result.rowcount > 0


# The transitions an answer makes: the statuses each may start from, the time it stamps.
# `sending` too: the customer can answer as soon as the message is out, before PostgreSQL has
# taken the send's record (it was away just then: see bot/runner/sending.py).
ANSWER_TRANSITIONS: dict[InvitationStatus, tuple[tuple[InvitationStatus, ...], str]] = {
    S.STARTED: ((S.SENT, S.SENDING), "started_at"),
    S.COMPLETED: ((S.SENT, S.STARTED, S.SENDING), "completed_at"),
}


async def mark_started(session: AsyncSession, invitation_id: int, at: datetime) -> bool:
    """sent | sending -> started: the first answer arrived."""
    return await _answer_transition(session, invitation_id, S.STARTED, at)


async def mark_completed(session: AsyncSession, invitation_id: int, at: datetime) -> bool:
    """sent | sending | started -> completed."""
    return await _answer_transition(session, invitation_id, S.COMPLETED, at)


async def _answer_transition(
    session: AsyncSession, invitation_id: int, status: InvitationStatus, at: datetime
) -> bool:
    allowed, stamp = ANSWER_TRANSITIONS[status]
    return await _transition(session, invitation_id, allowed, **{"status": status.value, stamp: at})


def answer_transition_statement(status: InvitationStatus) -> Update:
    """The conditional UPDATE of `mark_started` or `mark_completed` (STARTED or COMPLETED) as
    a Core statement, built once; `answer_transition_values` binds it."""
    allowed, stamp = ANSWER_TRANSITIONS[status]
    return _transition_statement(tuple(s.value for s in allowed), ("status", stamp))


def answer_transition_values(
    invitation_id: int, status: InvitationStatus, at: datetime
) -> dict[str, object]:
    _, stamp = ANSWER_TRANSITIONS[status]
    return {"the_id": invitation_id, "new_status": status.value, f"new_{stamp}": at}


async def mark_expired(session: AsyncSession, invitation_id: int) -> bool:
    """scheduled | awaiting_link | sent | started -> expired."""
    return await _transition(
        session,
        invitation_id,
        (S.SCHEDULED, S.AWAITING_LINK, S.SENT, S.STARTED),
        status=S.EXPIRED.value,
    )


async def expire_sent(session: AsyncSession, invitation_id: int) -> bool:
    """awaiting_link | sent | started -> expired: the expiry time came with the survey
    unfinished (or its link never opened)."""
    return await _transition(
        session, invitation_id, (S.AWAITING_LINK, S.SENT, S.STARTED), status=S.EXPIRED.value
    )


async def bind_link(
    session: AsyncSession, invitation_id: int, respondent_id: int, address: str
) -> bool:
    """awaiting_link -> scheduled, now made out to the chat that opened the link.

    One conditional UPDATE: of two accounts opening the link at once, one binds it.
    """
    return await _transition(
        session,
        invitation_id,
        (S.AWAITING_LINK,),
        status=S.SCHEDULED.value,
        respondent_id=respondent_id,
        address=address,
    )


async def due_invitations(
    session: AsyncSession, now: datetime, limit: int = 100, *, lock: bool = False
) -> list[Invitation]:
    """Scheduled invitations due at `now`, oldest first.

    `lock=True` adds FOR UPDATE SKIP LOCKED on PostgreSQL, so concurrent senders each get
    different rows for the rest of their transaction.
    """
    statement = (
        select(Invitation)
        .where(
            col(Invitation.status) == S.SCHEDULED.value,
            col(Invitation.scheduled_at) <= now,
        )
        .order_by(col(Invitation.scheduled_at), col(Invitation.id))
        .limit(limit)
    )
    if lock:
        statement = statement.with_for_update(skip_locked=True)
    return list((await session.exec(statement)).all())


async def pending_reminders(
    session: AsyncSession, until: datetime | None, limit: int = 100
) -> list[Invitation]:
    """Sent, unanswered invitations whose reminder is due by `until` (None: any time)."""
    statement = select(Invitation).where(
        col(Invitation.status) == S.SENT.value,
        col(Invitation.reminder_at).is_not(None),
        col(Invitation.reminded_at).is_(None),
    )
    if until is not None:
        statement = statement.where(col(Invitation.reminder_at) <= until)
    statement = statement.order_by(col(Invitation.reminder_at), col(Invitation.id)).limit(limit)
    return list((await session.exec(statement)).all())


async def pending_expiries(
    session: AsyncSession, until: datetime | None, limit: int = 100
) -> list[Invitation]:
    """Sent, started or link-awaiting invitations whose expiry comes by `until` (None: any
    time)."""
    statement = select(Invitation).where(
        col(Invitation.status).in_([S.SENT.value, S.STARTED.value, S.AWAITING_LINK.value]),
        col(Invitation.expires_at).is_not(None),
    )
    if until is not None:
        statement = statement.where(col(Invitation.expires_at) <= until)
    statement = statement.order_by(col(Invitation.expires_at), col(Invitation.id)).limit(limit)
    return list((await session.exec(statement)).all())


async def stuck_sending(session: AsyncSession, before: datetime, limit: int = 100) -> list[int]:
    """Ids of invitations claimed for sending before `before` and never settled."""
    statement = (
        select(Invitation.id)
        .where(col(Invitation.status) == S.SENDING.value, col(Invitation.sending_at) < before)
        .order_by(col(Invitation.sending_at))
        .limit(limit)
    )
    return [found for found in (await session.exec(statement)).all() if found is not None]


async def list_invitations(
    session: AsyncSession,
    *,
    survey_id: str | None = None,
    status: InvitationStatus | str | None = None,
    limit: int = 100,
) -> list[Invitation]:
    """Invitations, optionally of one survey and/or status, by id."""
    statement = select(Invitation).order_by(col(Invitation.id)).limit(limit)
    if survey_id is not None:
        statement = statement.where(col(Invitation.survey_id) == survey_id)
    if status is not None:
        statement = statement.where(col(Invitation.status) == str(status))
    return list((await session.exec(statement)).all())


async def survey_times(
    session: AsyncSession,
    respondent_ids: int | Sequence[int],
    since: datetime,
    limit: int = 100,
) -> list[datetime]:
    """When the respondents (one person's addresses) were sent, or are due to be sent, any
    survey, from `since` on (latest first): its send time once sent, its due time while it
    waits (a link handed out and not opened yet waits too).

    Quarantine reads these: one survey per customer per N days, whatever the survey. Failed
    invitations, and those that closed without being sent, never reached the customer.
    """
    ids = [respondent_ids] if isinstance(respondent_ids, int) else list(respondent_ids)
    at = func.coalesce(col(Invitation.sent_at), col(Invitation.scheduled_at))
    waiting = col(Invitation.status).in_(
        [S.SCHEDULED.value, S.SENDING.value, S.AWAITING_LINK.value]
    )
    statement = (
        select(at)
        .where(
            col(Invitation.respondent_id).in_(ids),
            col(Invitation.status) != S.FAILED.value,
            or_(col(Invitation.sent_at).is_not(None), waiting),
            at >= since,
        )
        .order_by(at.desc())
        .limit(limit)
    )
    return list((await session.exec(statement)).all())


async def case_invitation(session: AsyncSession, case_id: str) -> Invitation | None:
    """The first invitation of this case, whatever its survey (None: the case has none)."""
    statement = (
        select(Invitation)
        .where(col(Invitation.case_id) == case_id)
        .order_by(col(Invitation.id))
        .limit(1)
        .execution_options(populate_existing=True)
    )
    return (await session.exec(statement)).first()
