"""Decisions repository: what was decided about each incoming event, for "/why CASE"."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.clock import utcnow
from storage.tables import Decision, DecisionOutcome, Invitation


@dataclass(frozen=True)
class NewDecision:
    """One event and what became of it: scheduled (with its invitation) or suppressed (why)."""

    source: str
    event_type: str
    case_id: str
    channel: str
    recipient: str
    outcome: DecisionOutcome
    detail: str
    event: dict[str, Any]
    rule_id: str | None = None
    reason: str | None = None
    invitation_id: int | None = None
    send_at: datetime | None = None
    created_at: datetime | None = None


@dataclass(frozen=True)
class CaseDecision:
    """A stored decision with the current status of its invitation (None: no invitation)."""

    decision: Decision
    invitation_status: str | None


async def record_decision(session: AsyncSession, new: NewDecision) -> Decision:
    """Store `new`; every event gets a row, duplicates and suppressed ones included."""
    decision = Decision(
        created_at=new.created_at or utcnow(),
        source=new.source[:32],
        event_type=new.event_type[:64],
        case_id=new.case_id[:255],
        channel=new.channel[:32],
        recipient=new.recipient[:320],
        rule_id=new.rule_id,
        outcome=new.outcome.value,
        reason=new.reason,
        detail=new.detail,
        invitation_id=new.invitation_id,
        send_at=new.send_at,
        event=new.event,
    )
    session.add(decision)
    await session.flush()
    return decision


async def decisions_for_case(
    session: AsyncSession, case_id: str, limit: int = 50
) -> list[CaseDecision]:
    """The decisions about `case_id`, newest first, each with its invitation's status now."""
    statement = (
        select(Decision, col(Invitation.status))
        .outerjoin(Invitation, col(Invitation.id) == col(Decision.invitation_id))
        .where(col(Decision.case_id) == case_id)
        .order_by(col(Decision.created_at).desc(), col(Decision.id).desc())
        .limit(limit)
    )
    rows = await session.exec(statement)
    return [CaseDecision(decision, status) for decision, status in rows.all()]
