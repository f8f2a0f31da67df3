"""Drops a Bot API update that was already handled (Telegram redelivers on errors)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.types import TelegramObject, Update

from bot.channel import Receipt
from storage.state import BaseStateStore, Locked, key

# update_id may jump after a quiet week, so remember seen ids rather than "the highest". Telegram
# keeps an update for 24 hours at most (getUpdates and webhook alike): it cannot come again
# later, so a mark outliving that by an hour is enough.
SEEN_TTL = 25 * 3600.0
# A handler flagged so (`flags={RUNNER_CHECKS: True}`) hands its `receipt` to the survey
# runner before it does anything else, and the runner looks for the mark as it takes the
# survey's lock (one round trip for both); every other handler runs only if the mark is absent.
RUNNER_CHECKS = "receipt_checked_by_runner"


class HandleOnce(BaseMiddleware):
    """Marks an update seen only after it was handled, so a failed one is tried again.

    An inner middleware of the message and callback_query observers (it runs once a handler
    was chosen, and reads its flags). Handlers get the mark as ``receipt``: the survey runner
    looks for it with the survey's lock and writes it with the conversation's new state
    (one Redis round trip for each instead of two); for every other handler it is looked for
    as this middleware takes a lock of the update's own, and written as it releases it.
    """

    def __init__(self, state: BaseStateStore) -> None:
        self.state = state

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        update = data.get("event_update")
        if not isinstance(update, Update):
            return await handler(event, data)
        seen = key("seen", "telegram", data["bot"].id, update.update_id)
        receipt = data["receipt"] = Receipt(seen, SEEN_TTL)
        if get_flag(data, RUNNER_CHECKS):
            return await self._handle(handler, event, data, receipt, None)
        # Every other handler (commands, /start links, alert buttons) runs under a lock of the
        # update's own: a copy redelivered while the first is still handled (a webhook call
        # that Telegram timed out, a long /export) waits for it, then finds its mark and is
        # dropped, instead of answering a second time.
        handling = key("handling", "telegram", data["bot"].id, update.update_id)
        async with self.state.lock(handling, unless=seen) as locked:
            if locked.seen:
                return None
            return await self._handle(handler, event, data, receipt, locked)

    async def _handle(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
        receipt: Receipt,
        locked: Locked | None,
    ) -> Any:
        """Run the handler; mark the update seen unless it failed or a handler marked it (under
        `locked`, the mark is written as that lock is released: no round trip of its own)."""
        try:
            result = await handler(event, data)
        except BaseException:
            if receipt.written:  # with the answer, but the update failed after all
                await self.state.delete(receipt.key)
            raise
        if not receipt.written and not receipt.seen:
            if locked is not None:
                locked.set_on_release({receipt.key: "1"}, receipt.ttl)
            else:
                await self.state.set(receipt.key, "1", receipt.ttl)
        return result
