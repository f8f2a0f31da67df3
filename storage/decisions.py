"""Decisions repository: what was decided about each incoming event, for "/why CASE"."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.clock import utcnow
from storage.tables import Decision, DecisionOutcome, Invitation

# How much of a refused event's body is kept with its error, and of any decision's detail.
EXCERPT_CHARS = 1000
DETAIL_CHARS = 2000


def excerpt(body: bytes) -> str:
    """The start of a refused body, as text that any database can store."""
    text = body[: EXCERPT_CHARS * 4].decode("utf-8", errors="replace")
    return _column(text, EXCERPT_CHARS)


def _column(text: str, limit: int) -> str:
    # PostgreSQL text cannot hold NUL; a refused event may carry one.
    return text.replace("\x00", "")[:limit]


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
        source=_column(new.source, 32),
        event_type=_column(new.event_type, 64),
        case_id=_column(new.case_id, 255),
        channel=_column(new.channel, 32),
        recipient=_column(new.recipient, 320),
        rule_id=new.rule_id,
        outcome=new.outcome.value,
        reason=new.reason,
        detail=_column(new.detail, DETAIL_CHARS),
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
