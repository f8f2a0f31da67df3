"""Digests in a Telegram group: the text, then each chart as a photo."""

from __future__ import annotations

import functools

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError

from bot.admin.replies import AdminReply
from bot.digests.errors import DigestNotPosted
from bot.digests.turns import DigestTurn
from bot.telegram.admin import send_reply


class TelegramDigests:
    """The DigestPoster of Telegram: posts with the bot to the group's chat id, each message
    after its ``turn`` (bot/digests/turns.py) when given."""

    channel = "telegram"

    def __init__(self, bot: Bot, turn: DigestTurn | None = None) -> None:
        self.bot = bot
        self.turn = turn

    async def post(self, address: str, reply: AdminReply) -> None:
        turn = self.turn
        before = functools.partial(turn, address) if turn is not None else None
        try:
            await send_reply(self.bot, int(address), reply, before=before)
        except (TelegramForbiddenError, TelegramBadRequest) as error:
            # Removed from the group, or the group is gone: trying again changes nothing.
            raise DigestNotPosted(f"telegram: {error.message}", permanent=True) from error
        except TelegramAPIError as error:
            raise DigestNotPosted(f"telegram: {error.message}", permanent=False) from error
