"""Telegram invitation links, t.me/<bot>?start=<token>, and the bot username they need."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from storage.links import TOKEN_PATTERN
from storage.tables import Invitation

log = logging.getLogger(__name__)

CHANNEL = "telegram"


def start_link(username: str, token: str) -> str:
    """The link that opens a chat with the bot and sends it ``/start <token>``."""
    return f"https://t.me/{username.lstrip('@')}?start={token}"


def start_token(payload: str | None) -> str | None:
    """The token of a ``/start <payload>`` when it looks like one (None: a bare /start, or
    something no link of ours carries)."""
    token = (payload or "").strip()
    return token if TOKEN_PATTERN.fullmatch(token) else None


class InvitationLinks:
    """Gives each Telegram invitation its link. The username is TELEGRAM_BOT_USERNAME, or
    the Bot API's getMe, asked once and remembered (until then, and while the Bot API does
    not answer, links are None: nothing else waits on them)."""

    def __init__(self, bot: Bot, username: str | None = None) -> None:
        self.bot = bot
        self._username = username.lstrip("@") if username else None
        self._asking = asyncio.Lock()

    async def username(self) -> str | None:
        if self._username is None:
            async with self._asking:
                if self._username is None:
                    try:
                        me = await self.bot.me()
                    except TelegramAPIError as error:
                        log.warning("telegram: getMe failed, no invitation links yet: %s", error)
                        return None
                    self._username = me.username
        return self._username

    async def link(self, invitation: Invitation) -> str | None:
        """The invitation's link, or None (not a Telegram invitation, or no username yet)."""
        if invitation.channel != CHANNEL or invitation.link_token is None:
            return None
        username = await self.username()
        return start_link(username, invitation.link_token) if username else None
