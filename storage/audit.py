"""Audit log repository: who changed what (rules paused, rules replaced, data forgotten)."""

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.clock import utcnow
from storage.tables import AuditEntry


async def record_audit(
    session: AsyncSession, actor: str, action: str, target: str, detail: str
) -> None:
    """Add one entry to the audit log; the caller commits it with the change it records."""
    session.add(
        AuditEntry(
            at=utcnow(), actor=actor[:160], action=action[:64], target=target[:320], detail=detail
        )
    )
    await session.flush()


async def latest_audit(session: AsyncSession, action: str) -> AuditEntry | None:
    """The newest entry of ``action`` (e.g. when comments were last purged), or None."""
    statement = (
        select(AuditEntry)
        .where(col(AuditEntry.action) == action)
        .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
        .limit(1)
    )
    return (await session.exec(statement)).first()
