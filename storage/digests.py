"""Digests repository: which chats get which scheduled report, and the claim of each slot."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.clock import utcnow
from storage.db import insert_ignoring_conflicts
from storage.tables import Digest

SLOT = ("channel", "address", "schedule", "filters")


@dataclass(frozen=True)
class NewDigest:
    channel: str
    address: str
    schedule: str
    filters: str
    created_by: str
    next_at: datetime


async def subscribe(session: AsyncSession, new: NewDigest) -> tuple[Digest, bool]:
    """The chat's digest of this schedule and filters, added unless it exists; and whether
    it was added (the same command twice adds one)."""
    values: dict[str, Any] = {**new.__dict__, "created_at": utcnow()}
    insert = insert_ignoring_conflicts(session, Digest, values, SLOT)
    created = (
        await session.exec(insert.returning(col(Digest.id)))
    ).scalar_one_or_none() is not None
    found = await session.exec(
        select(Digest)
        .where(
            col(Digest.channel) == new.channel,
            col(Digest.address) == new.address,
            col(Digest.schedule) == new.schedule,
            col(Digest.filters) == new.filters,
        )
        .execution_options(populate_existing=True)
    )
    return found.one(), created


async def digests_in(session: AsyncSession, channel: str, address: str) -> list[Digest]:
    """The digests posted to one chat, in the order they were added."""
    found = await session.exec(
        select(Digest)
        .where(col(Digest.channel) == channel, col(Digest.address) == address)
        .order_by(col(Digest.id))
    )
    return list(found)


async def unsubscribe(session: AsyncSession, digest_ids: list[int]) -> int:
    """Delete these digests; how many there were."""
    if not digest_ids:
        return 0
    result = await session.exec(delete(Digest).where(col(Digest.id).in_(digest_ids)))
    return result.rowcount


async def due_digests(session: AsyncSession, now: datetime, *, limit: int = 100) -> list[Digest]:
    """Digests whose slot has come (``next_at`` at or before ``now``), the oldest first."""
    found = await session.exec(
        select(Digest).where(col(Digest.next_at) <= now).order_by(col(Digest.next_at)).limit(limit)
    )
    return list(found)


async def move_slot(
    session: AsyncSession,
    digest_id: int,
    *,
    expected: datetime,
    next_at: datetime,
    posted_at: datetime | None = None,
) -> bool:
    """Move the digest's slot from ``expected`` to ``next_at``; False when another worker
    moved it first (or it was deleted): then this one must not post."""
    values: dict[str, Any] = {"next_at": next_at}
    if posted_at is not None:
        values["posted_at"] = posted_at
    result = await session.exec(
        update(Digest)
        .where(col(Digest.id) == digest_id, col(Digest.next_at) == expected)
        .values(**values)
    )
    return result.rowcount == 1
