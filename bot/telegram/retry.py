"""Honours Telegram's 429 retry_after for every Bot API call, since aiogram does not."""

from __future__ import annotations

import asyncio
import logging

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType

log = logging.getLogger(__name__)


class RetryAfter(BaseRequestMiddleware):
    """Waits the time Telegram asks and sends again, up to ``attempts`` tries in all.

    A 429 means Telegram did not act on the request, so sending again cannot double a message.
    A wait longer than ``max_wait`` is not waited out here: the error goes up to the caller.
    """

    def __init__(self, attempts: int, max_wait: float) -> None:
        self.attempts = attempts
        self.max_wait = max_wait

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                if attempt == self.attempts or error.retry_after > self.max_wait:
                    raise
                log.info(
                    "telegram asked to wait %ss before %s (attempt %s of %s)",
                    error.retry_after,
                    type(method).__name__,
                    attempt,
                    self.attempts,
                )
                await asyncio.sleep(error.retry_after)
        raise AssertionError("unreachable: the last attempt returns or raises")
