"""The port a channel implements to post a digest (text and charts) to a team chat."""

from __future__ import annotations

from typing import Protocol

from bot.admin.replies import AdminReply


class DigestPoster(Protocol):
    """Posts to a group (Telegram) or channel (Slack) for everyone in it to see.

    Implementations turn platform errors into ``DigestNotPosted``.
    """

    channel: str

    async def post(self, address: str, reply: AdminReply) -> None: ...
