"""Work started after a reply has gone (alerts, Slack commands): kept, waited for, ended."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from typing import Any


class Background:
    """Tasks that must not hold up whoever started them, nor be lost at shutdown.

    ``close()`` lets the running ones finish for up to ``close_timeout`` seconds, then
    cancels what is left.
    """

    def __init__(self, close_timeout: float) -> None:
        self.close_timeout = close_timeout
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self) -> None:
        """Wait until every task started so far has ended (those it starts too)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.drain(), self.close_timeout)
        for task in list(self._tasks):
            task.cancel()
