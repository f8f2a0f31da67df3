"""Polling getUpdates without losing an update: the offset moves only past updates handled.

aiogram's `start_polling` confirms each update as it is read, whether or not its handling
then fails, and runs every update as a task of its own, without a bound: a store outage or
a burst lost updates. Here handling is bounded (`concurrency` at once; the rest wait their
turn), an update whose handling failed is tried again with backoff (for up to an hour while
a store or the network is away, three times for anything else), and the offset given to
getUpdates stays at the oldest update not yet handled or given up on. After a crash,
Telegram sends the unconfirmed updates again; the seen-marks of `dedupe.HandleOnce` drop
those already handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.types import Update
from aiogram.utils.backoff import Backoff, BackoffConfig

from storage.outages import unreachable

log = logging.getLogger(__name__)

# Telegram returns at most 100 updates a call.
WINDOW = 100
LONG_POLL_S = 30
# While an old update is still being handled, look for new ones this often (getUpdates
# answers at once then: the unconfirmed old ones are still there).
REFETCH_S = 1.0
# An update failing because a store or the network is away is tried again this long; one
# failing for another reason this many times. Then it is given up on (logged, confirmed).
RETRY_FOR_S = 3600.0
OTHER_ATTEMPTS = 3
RETRY_BACKOFF = BackoffConfig(min_delay=0.5, max_delay=30.0, factor=2.0, jitter=0.1)
FETCH_BACKOFF = BackoffConfig(min_delay=1.0, max_delay=30.0, factor=1.5, jitter=0.1)
STOP_WAIT_S = 10.0
# stop() cancels the loop again this often until it has ended: a cancellation can be swallowed
# (Python 3.11's asyncio.wait_for when its awaitable finishes in the same step; redis-py 8.1
# inside a command), and the loop would go on to a 30 s long poll, and another, for ever.
STOP_ASK_S = 0.2


def passing(error: BaseException) -> bool:
    """A failure that trying again later may cure: a store or Telegram away for now."""
    return unreachable(error) or isinstance(
        error, TelegramNetworkError | TelegramServerError | TelegramRetryAfter
    )


class Polling:
    """Reads updates with getUpdates and feeds them to the dispatcher; see the module."""

    def __init__(
        self,
        bot: Bot,
        dispatcher: Dispatcher,
        *,
        concurrency: int,
        allowed_updates: Sequence[str],
        long_poll: int = LONG_POLL_S,
        retry: BackoffConfig | None = None,
    ) -> None:
        self.bot = bot
        self.dispatcher = dispatcher
        self.allowed_updates = list(allowed_updates)
        self.long_poll = long_poll
        self.retry = retry or RETRY_BACKOFF
        self._turns = asyncio.Semaphore(concurrency)
        # Ids at or past `offset` being handled or waiting to be tried again.
        self._unsettled: set[int] = set()
        # Ids at or past `offset` taken in (handled, given up on or still unsettled).
        self._known: set[int] = set()
        self._offset: int | None = None
        self._settled = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def offset(self) -> int | None:
        """The getUpdates offset: every update before it was handled or given up on."""
        return self._offset

    def start(self) -> None:
        self._loop = asyncio.create_task(self._run(), name="telegram-polling")

    async def stop(self) -> None:
        """Stop reading; let updates being handled finish (a while), then confirm them."""
        if self._loop is None:
            return
        self._stopping = True
        while not self._loop.done():
            self._loop.cancel()
            await asyncio.wait({self._loop}, timeout=STOP_ASK_S)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            self._loop.result()
        self._loop = None
        if self._tasks:
            _, late = await asyncio.wait(set(self._tasks), timeout=STOP_WAIT_S)
            for task in late:  # left unconfirmed: Telegram sends them again after a restart
                task.cancel()
            await asyncio.gather(*late, return_exceptions=True)
        self._advance()
        if self._offset is not None:
            with contextlib.suppress(Exception):  # unconfirmed is only redelivered: harmless
                await self.bot(GetUpdates(offset=self._offset, limit=1, timeout=0))

    async def _run(self) -> None:
        backoff = Backoff(FETCH_BACKOFF)
        while not self._stopping:
            waits = 0 if self._unsettled else self.long_poll
            try:
                updates = await self.bot(
                    GetUpdates(
                        offset=self._offset,
                        limit=WINDOW,
                        timeout=waits,
                        allowed_updates=self.allowed_updates,
                    ),
                    request_timeout=int((self.bot.session.timeout or 60) + waits),
                )
            except Exception as error:
                log.warning(
                    "telegram: getUpdates failed (%s); again in %.1fs", error, backoff.next_delay
                )
                await backoff.asleep()
                continue
            backoff.reset()
            for update in updates:
                self._take(update)
            await self._room(self._offset)

    def _take(self, update: Update) -> None:
        number = update.update_id
        if number in self._known or (self._offset is not None and number < self._offset):
            return
        self._known.add(number)
        self._unsettled.add(number)
        task = asyncio.create_task(self._handle(update))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _room(self, fetched_at: int | None) -> None:
        """Wait until fetching again can bring new updates: the offset moved past handled ones
        with room left in the window, or a while passed with room for new ones behind it."""
        while self._unsettled:
            self._advance()
            moved = fetched_at is None or (self._offset or 0) > fetched_at
            if moved and len(self._unsettled) <= WINDOW // 2:
                return
            self._settled.clear()
            try:
                await asyncio.wait_for(self._settled.wait(), REFETCH_S)
            except TimeoutError:
                if len(self._known) < WINDOW:
                    return
        self._advance()

    def _advance(self) -> None:
        if self._unsettled:
            self._offset = min(self._unsettled)
        elif self._known:
            self._offset = max(self._known) + 1
        if self._offset is not None:
            self._known = {number for number in self._known if number >= self._offset}

    async def _handle(self, update: Update) -> None:
        # Cancelled (at stop), the update stays unsettled: never confirmed, sent again later.
        await self._attempts(update)
        self._unsettled.discard(update.update_id)
        self._settled.set()

    async def _attempts(self, update: Update) -> None:
        """Handle the update until it succeeds or is given up on."""
        backoff = Backoff(self.retry)
        first_failure = 0.0
        attempts = 0
        while True:
            async with self._turns:
                error = await self._feed(update)
            if error is None:
                return
            attempts += 1
            first_failure = first_failure or time.monotonic()
            if passing(error):
                if time.monotonic() - first_failure > RETRY_FOR_S:
                    log.error(
                        "telegram: update %s given up after %.0fs: %s",
                        update.update_id,
                        RETRY_FOR_S,
                        error,
                    )
                    return
            elif attempts >= OTHER_ATTEMPTS:
                log.error(
                    "telegram: update %s given up after %d attempts",
                    update.update_id,
                    attempts,
                    exc_info=error,
                )
                return
            log.warning(
                "telegram: update %s failed (%s: %s); again in %.1fs",
                update.update_id,
                type(error).__name__,
                error,
                backoff.next_delay,
            )
            await backoff.asleep()

    async def _feed(self, update: Update) -> Exception | None:
        try:
            response = await self.dispatcher.feed_update(self.bot, update)
            if isinstance(response, TelegramMethod):  # a handler's "answer in the webhook"
                await self.bot(response)
        except Exception as error:
            return error
        return None
