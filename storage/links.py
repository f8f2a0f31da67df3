"""Invitation links: the secret token a link carries, and finding its invitation again."""

from __future__ import annotations

import re
import secrets

from sqlmodel import col, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.tables import Invitation

# What a token may look like (Telegram's /start payload: at most 64 of A-Za-z0-9_-).
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,64}")


def new_link_token() -> str:
    """The secret of an invitation's link: 32 characters of A-Za-z0-9_- (192 random bits)."""
    return secrets.token_urlsafe(24)


async def invitation_by_token(session: AsyncSession, token: str) -> Invitation | None:
    """The invitation whose link carries ``token``, or None."""
    statement = (
        select(Invitation)
        .where(col(Invitation.link_token) == token)
        .execution_options(populate_existing=True)
    )
    return (await session.exec(statement)).one_or_none()


async def ensure_link_token(session: AsyncSession, invitation_id: int) -> str | None:
    """The invitation's link token, given one now if it was made before links existed
    (None: no such invitation). The caller commits."""
    await session.exec(
        update(Invitation)
        .where(col(Invitation.id) == invitation_id, col(Invitation.link_token).is_(None))
        .values(link_token=new_link_token())
    )
    statement = select(Invitation.link_token).where(col(Invitation.id) == invitation_id)
    return (await session.exec(statement)).one_or_none()
