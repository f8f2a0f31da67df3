"""Drops a Bot API update that was already handled (Telegram redelivers on errors)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from bot.channel import Receipt
from storage.state import BaseStateStore, key

# update_id may jump after a quiet week, so remember seen ids rather than "the highest". Telegram
# keeps an update for 24 hours at most (getUpdates and webhook alike): it cannot come again
# later, so a mark outliving that by an hour is enough.
SEEN_TTL = 25 * 3600.0


class HandleOnce(BaseMiddleware):
    """Marks an update seen only after it was handled, so a failed one is tried again.

    Handlers get the mark as ``receipt``: the survey runner writes it with the conversation's
    new state (one Redis round trip instead of two); otherwise it is written here.
    """

    def __init__(self, state: BaseStateStore) -> None:
        self.state = state

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Update):
            return await handler(event, data)
        seen = key("seen", "telegram", data["bot"].id, event.update_id)
        if await self.state.get(seen) is not None:
            return None
        receipt = data["receipt"] = Receipt(seen, SEEN_TTL)
        try:
            result = await handler(event, data)
        except BaseException:
            if receipt.written:  # with the answer, but the update failed after all
                await self.state.delete(seen)
            raise
        if not receipt.written:
            await self.state.set(seen, "1", SEEN_TTL)
        return result
