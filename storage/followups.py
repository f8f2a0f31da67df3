"""Follow-ups repository: one per detractor invitation; open -> claimed -> resolved."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

from storage.db import insert_ignoring_conflicts
from storage.tables import Followup, FollowupStatus, Invitation, Respondent

S = FollowupStatus


@dataclass(frozen=True)
class NewFollowup:
    """A detractor answer that the team should hear about.

    ``alert_channel`` and ``alert_address`` name where the alert goes (comma-separated when it
    goes to several chats); how they are read is the alerting code's business.
    """

    invitation_id: int
    kind: str
    score: int
    alert_channel: str
    alert_address: str
    created_at: datetime


@dataclass(frozen=True)
class Change:
    """A follow-up after a claim or resolve, and whether that call changed it."""

    followup: Followup
    changed: bool


@dataclass(frozen=True)
class FollowupCase:
    """A follow-up with the case it is about (from its invitation and respondent)."""

    followup: Followup
    case_id: str
    survey_id: str
    agent: str | None
    team: str | None
    customer_channel: str
    customer_id: str
    # The customer asked to be forgotten: customer_id is an anonymous token, the comment gone.
    forgotten: bool = False


async def create_followup(session: AsyncSession, new: NewFollowup) -> tuple[Followup, bool]:
    """The follow-up of ``new.invitation_id``, created unless it exists; and whether created.

    Two listeners racing on one invitation get one row: the unique invitation_id decides.
    """
    values: dict[str, Any] = {
        "invitation_id": new.invitation_id,
        "kind": new.kind,
        "score": new.score,
        "alert_channel": new.alert_channel,
        "alert_address": new.alert_address,
        "status": S.OPEN.value,
        "created_at": new.created_at,
    }
    insert = insert_ignoring_conflicts(session, Followup, values, ("invitation_id",))
    result = await session.exec(insert.returning(col(Followup.id)))
    created = result.scalar_one_or_none() is not None
    statement = (
        select(Followup)
        .where(col(Followup.invitation_id) == new.invitation_id)
        .execution_options(populate_existing=True)
    )
    return (await session.exec(statement)).one(), created


async def get_followup(session: AsyncSession, followup_id: int) -> Followup | None:
    """The follow-up with this id as stored now, or None."""
    statement = (
        select(Followup)
        .where(col(Followup.id) == followup_id)
        .execution_options(populate_existing=True)
    )
    return (await session.exec(statement)).one_or_none()


async def set_alert_ref(session: AsyncSession, followup_id: int, ref: str) -> None:
    """Remember where the alert was posted, so that later changes can edit it."""
    await session.exec(
        update(Followup).where(col(Followup.id) == followup_id).values(alert_ref=ref)
    )


async def add_comment(session: AsyncSession, invitation_id: int, comment: str) -> Followup | None:
    """Store the customer's comment on the invitation's follow-up, unless it has one already.

    Returns the follow-up when this call stored the comment; None when the invitation has no
    follow-up or its comment was already there (the first comment is the one shown).
    """
    result = await session.exec(
        update(Followup)
        .where(col(Followup.invitation_id) == invitation_id, col(Followup.comment).is_(None))
        .values(comment=comment)
    )
    if result.rowcount == 0:
        return None
    statement = (
        select(Followup)
        .where(col(Followup.invitation_id) == invitation_id)
        .execution_options(populate_existing=True)
    )
    return (await session.exec(statement)).one()


async def claim(session: AsyncSession, followup_id: int, who: str, at: datetime) -> Change | None:
    """open -> claimed by ``who``. A follow-up already claimed keeps its first claimer.

    None when there is no such follow-up; otherwise the row as it is now (``claimed_by`` says
    who has it) and whether this call claimed it.
    """
    result = await session.exec(
        update(Followup)
        .where(col(Followup.id) == followup_id, col(Followup.status) == S.OPEN.value)
        .values(status=S.CLAIMED.value, claimed_by=who, claimed_at=at)
    )
    return await _change(session, followup_id, result.rowcount > 0)


async def resolve(session: AsyncSession, followup_id: int, who: str, at: datetime) -> Change | None:
    """open | claimed -> resolved by ``who`` (anyone may resolve, claimed or not)."""
    result = await session.exec(
        update(Followup)
        .where(
            col(Followup.id) == followup_id,
            col(Followup.status).in_([S.OPEN.value, S.CLAIMED.value]),
        )
        .values(status=S.RESOLVED.value, resolved_by=who, resolved_at=at)
    )
    return await _change(session, followup_id, result.rowcount > 0)


async def _change(session: AsyncSession, followup_id: int, changed: bool) -> Change | None:
    followup = await get_followup(session, followup_id)
    return Change(followup, changed) if followup is not None else None


def _with_case() -> Select[Followup, Invitation, Respondent]:
    return (
        select(Followup, Invitation, Respondent)
        .join(Invitation, col(Invitation.id) == col(Followup.invitation_id))
        .join(Respondent, col(Respondent.id) == col(Invitation.respondent_id))
        .execution_options(populate_existing=True)
    )


def _case(row: tuple[Followup, Invitation, Respondent]) -> FollowupCase:
    followup, invitation, respondent = row
    return FollowupCase(
        followup=followup,
        case_id=invitation.case_id,
        survey_id=invitation.survey_id,
        agent=invitation.agent,
        team=invitation.team,
        customer_channel=respondent.channel,
        customer_id=respondent.external_id,
        forgotten=respondent.forgotten_at is not None,
    )


async def followup_case(session: AsyncSession, followup_id: int) -> FollowupCase | None:
    """The follow-up with its case, agent, team and customer, or None."""
    row = (await session.exec(_with_case().where(col(Followup.id) == followup_id))).one_or_none()
    return _case(row) if row is not None else None


async def posted_followup_ids(session: AsyncSession, invitation_ids: Collection[int]) -> list[int]:
    """The follow-ups of these invitations whose alert was posted somewhere, by id."""
    if not invitation_ids:
        return []
    statement = (
        select(col(Followup.id))
        .where(
            col(Followup.invitation_id).in_(sorted(invitation_ids)),
            col(Followup.alert_ref).is_not(None),
        )
        .order_by(col(Followup.id))
    )
    return [int(found) for found in (await session.exec(statement)).all() if found is not None]


async def list_open(
    session: AsyncSession, *, teams: Collection[str] | None = None
) -> list[FollowupCase]:
    """Follow-ups not resolved yet (open or claimed), oldest first; only ``teams`` if given."""
    statement = (
        _with_case()
        .where(col(Followup.status).in_([S.OPEN.value, S.CLAIMED.value]))
        .order_by(col(Followup.created_at), col(Followup.id))
    )
    if teams is not None:
        statement = statement.where(col(Invitation.team).in_(list(teams)))
    return [_case(row) for row in (await session.exec(statement)).all()]
