"""Replies to customers take turns in the bot's paced stream, counted in batches.

Replies (an edited question, the "why?", the thanks) and invitations share the platform's
per-bot limit. While invitations go out (the stream had one paced in the last BUSY_S), a reply
waits for a moment of its own in the stream, ahead of every invitation not yet handed one: a
customer who just tapped waits tens of milliseconds, not behind a backlog, and the invitations
yield. While none go out, a reply goes at once and is counted afterwards, so that invitations
starting then find its place taken. Either way the process counts its replies together, in one
call to Redis at most every FLUSH_S for those gone, or one per batch for those waiting (all the
replies that arrive while a count is under way join the next one): the answer path gets no
round trip per reply. When what the process knows of the stream is older than FRESH_S, a reply
waits for one count to learn it. With Redis gone, replies go at once, uncounted.
A reply that waited for a moment is told its turn (its slot in the bot's window), so that the
middleware can tell when it really left, as an invitation's send does (bot/paced.py).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time

from bot.delivery.pacing import Pacer, Stream
from bot.paced import PacedTurn

log = logging.getLogger(__name__)

# Replies already gone are counted together this often at most.
FLUSH_S = 0.02
# The stream is busy with invitations while one was paced in it this recently.
BUSY_S = 1.0
# What a count told of the stream is trusted this long.
FRESH_S = 0.5
# A count that takes longer is given up: the replies waiting on it go at once.
COUNT_TIMEOUT_S = 1.0


class ReplyTurns:
    """One process's replies in one bot's (or workspace's) stream; await it before a reply."""

    def __init__(self, pacer: Pacer, stream: Stream) -> None:
        self.pacer = pacer
        self.stream = stream
        # Each waiting reply's moment (monotonic: as late and as early as it can be) and slot.
        self._waiting: list[asyncio.Future[tuple[float, float, str]]] = []
        self._gone = 0
        self._counting: asyncio.Task[None] | None = None
        self._known_until = 0.0  # monotonic: what the last count told is fresh until then
        self._busy_until = 0.0  # monotonic: invitations go out until then, as far as known

    async def __call__(self) -> PacedTurn | None:
        """Return when the reply may go: with its turn, if it waited for a moment (None: it
        goes as it comes, counted after)."""
        now = time.monotonic()
        if now < self._known_until and now >= self._busy_until:
            self._gone += 1
            self._start()
            return None
        future: asyncio.Future[tuple[float, float, str]] = (
            asyncio.get_running_loop().create_future()
        )
        self._waiting.append(future)
        self._start()
        moment, earliest, slot = await future
        now, epoch = time.monotonic(), time.time()
        left = moment - now
        turn = PacedTurn(epoch + left, slot, earliest=epoch + earliest - now) if slot else None
        if left > 0:
            await asyncio.sleep(left)
        return turn

    def _start(self) -> None:
        if self._counting is None or self._counting.done():
            self._counting = asyncio.create_task(self._count_all())

    async def _count_all(self) -> None:
        while self._waiting or self._gone:
            if not self._waiting:
                await asyncio.sleep(FLUSH_S)
            waiting, self._waiting = self._waiting, []
            gone, self._gone = self._gone, 0
            await self._count(waiting, gone)

    async def _count(
        self, waiting: list[asyncio.Future[tuple[float, float, str]]], gone: int
    ) -> None:
        asked = time.monotonic()
        try:
            async with asyncio.timeout(COUNT_TIMEOUT_S):
                counted = await self.pacer.count(self.stream, len(waiting), gone)
        except Exception as error:  # the limits unreachable: replies go, uncounted
            log.warning("counting %s replies failed: %r", len(waiting) + gone, error)
            now = time.monotonic()
            self._known_until, self._busy_until = now + FRESH_S, 0.0
            moments = [(now, now, "")] * len(waiting)
        else:
            now = time.monotonic()
            self._known_until = now + FRESH_S
            paced = counted.since_paced
            self._busy_until = 0.0 if math.isinf(paced) else now + BUSY_S - paced
            first = now + counted.wait
            after, slots = counted.moments(), list(counted.slots)
            if len(slots) != len(waiting):  # a pacer that gave no slots: one gap apart, untold
                after = [i * self.stream.gap for i in range(len(waiting))]
                slots = [""] * len(waiting)
            early = asked + counted.wait
            moments = [
                (first + later, early + later, slot)
                for later, slot in zip(after, slots, strict=True)
            ]
        for future, moment in zip(waiting, moments, strict=True):
            if not future.done():  # its reply may have been cancelled meanwhile
                future.set_result(moment)

    async def drain(self) -> None:
        """Until every reply so far is counted."""
        while self._counting is not None and not self._counting.done():
            await asyncio.shield(self._counting)

    async def close(self) -> None:
        """Stop counting; a reply still waiting goes at once."""
        if self._counting is not None:
            self._counting.cancel()
        for future in self._waiting:
            if not future.done():
                future.set_result((0.0, 0.0, ""))
        self._waiting.clear()
