"""In-process delivery: sends invitations as they come and sweeps up any left scheduled."""

from __future__ import annotations

import asyncio
import logging

from bot.runner import SurveyRunner
from storage.clock import utcnow
from storage.db import Database
from storage.invitations import due_invitations

log = logging.getLogger(__name__)


class Delivery:
    """Delivers each invitation once; a sweep picks up what a restart left scheduled."""

    def __init__(self, runner: SurveyRunner, database: Database, poll_seconds: float) -> None:
        self.runner = runner
        self.database = database
        self.poll_seconds = poll_seconds
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._sweeper: asyncio.Task[None] | None = None

    def submit(self, invitation_id: int) -> None:
        if invitation_id in self._in_flight:
            return
        task = asyncio.create_task(self._deliver(invitation_id))
        self._in_flight[invitation_id] = task
        task.add_done_callback(lambda _: self._in_flight.pop(invitation_id, None))

    async def _deliver(self, invitation_id: int) -> None:
        try:
            status = await self.runner.deliver(invitation_id)
            log.info("invitation %s: %s", invitation_id, status.value)
        except Exception:
            # One bad invitation must not stop the others; it stays scheduled for the sweep.
            log.exception("delivering invitation %s failed", invitation_id)

    async def sweep(self) -> int:
        """Submit every scheduled invitation that is due; return how many."""
        async with self.database.session() as session:
            due = await due_invitations(session, utcnow(), limit=500)
        for invitation in due:
            assert invitation.id is not None
            self.submit(invitation.id)
        return len(due)

    async def _sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except Exception:
                log.exception("delivery sweep failed; trying again")
            await asyncio.sleep(self.poll_seconds)

    def start(self) -> None:
        self._sweeper = asyncio.create_task(self._sweep_forever())

    async def drain(self) -> None:
        """Wait for the sends under way (used by the CLI and at shutdown)."""
        while self._in_flight:
            await asyncio.gather(*list(self._in_flight.values()), return_exceptions=True)

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
        await self.drain()
