"""Honours Telegram's 429 retry_after for every Bot API call, since aiogram does not."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from aiogram import Bot
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType

from bot.background import Background
from bot.paced import PacedTurn, ReplyTurn, before_message, departing

log = logging.getLogger(__name__)

# Told of every 429: (the chat the call was for, if any; seconds Telegram asked to wait).
RetryAfterListener = Callable[[str | None, float], Awaitable[None]]
# Told of paced sends that left late, together: (its turn, seconds after its moment) each.
Departed = Callable[[Sequence[tuple[PacedTurn, float]]], Awaitable[None]]
# The calls that send or change a message: Telegram's per-bot limit counts them.
MESSAGE_CALLS = frozenset(
    {
        "SendMessage",
        "EditMessageText",
        "EditMessageReplyMarkup",
        "EditMessageCaption",
        "SendPhoto",
        "SendDocument",
        "SendMediaGroup",
        "CopyMessage",
        "ForwardMessage",
        "DeleteMessage",
    }
)
# Awaited before a refused call goes again (the chat it is for, if any): delivery waits there
# for a turn of the shared rate limits, so that retries count against them like first sends.
RetryTurn = Callable[[str | None], Awaitable[None]]


class RetryAfter(BaseRequestMiddleware):
    """Waits the time Telegram asks and sends again, up to ``attempts`` tries in all.

    A 429 means Telegram did not act on the request, so sending again cannot double a message.
    A wait longer than ``max_wait`` is not waited out here: the error goes up to the caller.
    ``listeners`` hear of each 429 first: delivery pauses the bucket for every process.
    ``turns`` are awaited after the wait, before the call goes again: without them, the
    calls refused together would all go again the moment the pause ends, on top of the sends
    the limits let through then, and be refused again (a 429 every second, for ever).
    ``replies``, when set, is awaited before each message-sending call that took no turn
    (bot/paced.py): a reply to a customer, which thus takes its turn in the bot's stream too.
    """

    def __init__(self, attempts: int, max_wait: float) -> None:
        self.attempts = attempts
        self.max_wait = max_wait
        self.listeners: list[RetryAfterListener] = []
        self.turns: list[RetryTurn] = []
        self.replies: ReplyTurn | None = None
        self.departed: Departed | None = None
        self._reports = Background(close_timeout=0.0)  # only drained: see reported()
        self._late_ones: list[tuple[PacedTurn, float]] = []
        self._reporting = False

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        paced = await self._before_message() if type(method).__name__ in MESSAGE_CALLS else None
        if paced is None:
            return await self._attempts(make_request, bot, method)
        with departing(paced, self._late):  # the session tells when its request is written
            return await self._attempts(make_request, bot, method)

    async def _attempts(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        for attempt in range(1, self.attempts + 1):
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as error:
                await self._tell(method, error.retry_after)
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
                await self._wait_turn(method)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _before_message(self) -> PacedTurn | None:
        """A reply to a customer waits for its turn; returns the call's turn (a paced send's,
        or a reply's that waited for a moment), whose departure is to be told."""
        paced = await before_message(self.replies)
        if paced is not None and paced.slot and self.departed is not None:
            return paced
        return None

    def _late(self, turn: PacedTurn, late: float) -> None:
        """Told by the session as the request is written; told on in the background (it goes
        now), all those that come while one report is under way in the next one: one call and
        one connection at a time, however many replies go at once."""
        self._late_ones.append((turn, late))
        if not self._reporting:
            self._reporting = True
            self._reports.spawn(self._report(), "cxbot late departures")

    async def reported(self) -> None:
        """Until the late departures told so far have been told."""
        await self._reports.drain()

    async def _report(self) -> None:
        assert self.departed is not None
        try:
            while self._late_ones:
                late_ones, self._late_ones = self._late_ones, []
                try:
                    await self.departed(late_ones)
                except Exception as error:  # the next ones keep to the moments handed out
                    log.warning("telling %s late departures failed: %r", len(late_ones), error)
        finally:
            self._reporting = False

    async def _wait_turn(self, method: TelegramMethod[TelegramType]) -> None:
        chat = _chat(method)
        for turn in list(self.turns):
            try:
                await turn(chat)
            except Exception:  # the limits unreachable: go again as before, unmetered
                log.exception("waiting for a turn with %r failed", turn)

    async def _tell(self, method: TelegramMethod[TelegramType], retry_after: float) -> None:
        chat = _chat(method)
        for listener in list(self.listeners):
            try:
                await listener(chat, retry_after)
            except Exception:  # a pause not shared must not lose the request itself
                log.exception("retry-after listener %r failed", listener)


def _chat(method: TelegramMethod[TelegramType]) -> str | None:
    chat = getattr(method, "chat_id", None)
    return str(chat) if chat is not None else None


def retry_after_middleware(bot: Bot) -> RetryAfter | None:
    """The RetryAfter middleware installed on ``bot``'s session, if any."""
    for middleware in bot.session.middleware:
        if isinstance(middleware, RetryAfter):
            return middleware
    return None
