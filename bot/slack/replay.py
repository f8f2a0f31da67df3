"""Slack taps that could not be handled while a store was away: kept here, tried again.

Slack retries an Events API delivery that was not acknowledged (a non-2xx answer, or none
within 3 s: at once, after a minute, after five), so a failed *event* (a DM comment) is
answered 500 and comes back. It does not retry an *interaction* (a button tap): the person
sees an error and the tap is gone. So a tap that failed because Redis or the database was
unreachable is kept in this process and tried again with backoff, and the person is told
their answer is kept; once handled, they see what they would have seen. A restart of cxbot
while taps are kept loses them (logged with their number).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from storage.outages import unreachable

log = logging.getLogger(__name__)

# Kept taps at most (beyond, the person gets Slack's error: nothing is kept silently).
LIMIT = 10_000
RETRY_FOR_S = 3600.0
# Seconds before the first try again, doubling up to the most.
FIRST_DELAY_S = 0.5
MOST_DELAY_S = 30.0

Attempt = Callable[[], Awaitable[None]]


def keep_on_outage(replays: Replays | None, what: str, attempt: Attempt, error: Exception) -> bool:
    """Keep `attempt`, which failed with `error`, to try again if that was an outage and there
    is room (logged); False when not kept: the caller lets the failure through."""
    if replays is None or not unreachable(error) or not replays.keep(what, attempt):
        return False
    log.warning("slack: %s kept to try again: %s", what, error)
    return True


class Replays:
    """Attempts kept until they succeed, fail for a reason other than an outage, or an hour
    passed. `keep` never waits; the attempts run as background tasks."""

    def __init__(self, *, limit: int = LIMIT, first_delay: float | None = None) -> None:
        self.limit = limit
        self.first_delay = FIRST_DELAY_S if first_delay is None else first_delay
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def kept(self) -> int:
        return len(self._tasks)

    def keep(self, what: str, attempt: Attempt) -> bool:
        """Try `attempt` again later; False (nothing kept) when too many are kept already."""
        if len(self._tasks) >= self.limit:
            log.error("slack: %s not kept: %d taps are waiting already", what, len(self._tasks))
            return False
        task = asyncio.create_task(self._again(what, attempt))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return True

    async def _again(self, what: str, attempt: Attempt) -> None:
        delay = self.first_delay
        since = time.monotonic()
        while True:
            await asyncio.sleep(delay)
            delay = min(delay * 2, MOST_DELAY_S)
            try:
                await attempt()
            except Exception as error:
                if not unreachable(error):
                    log.error("slack: %s failed when tried again", what, exc_info=error)
                    return
                if time.monotonic() - since > RETRY_FOR_S:
                    log.error("slack: %s given up after %.0fs: %s", what, RETRY_FOR_S, error)
                    return
                continue
            log.info("slack: %s handled after %.1fs", what, time.monotonic() - since)
            return

    async def close(self) -> None:
        """Stop trying; the taps still kept are lost (logged)."""
        if self._tasks:
            log.error("slack: stopping with %d taps not yet saved", len(self._tasks))
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
