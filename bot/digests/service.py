"""Digests: posts each subscribed chat its report when its slot comes, once.

Every cxbot process runs the loop; the slot's UPDATE (storage.digests.move_slot) lets one of
them post it. A slot missed while cxbot was down is posted late, once: the slot moves on to
the first one still to come, and the digest says it is late.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from bot.admin.access import Access
from bot.admin.replies import Actor, AdminReply
from bot.admin.results import ResultCommands
from bot.digests.commands import local_text
from bot.digests.errors import DigestNotPosted
from bot.digests.posting import DigestPoster
from storage.clock import utcnow
from storage.db import Database
from storage.digests import due_digests, move_slot
from storage.tables import Digest
from surveys.digest_schedule import schedule_of

log = logging.getLogger(__name__)

# How often each process looks for digests due; a slot is posted at most this late.
INTERVAL_S = 30.0
# Posted later than this after its slot, a digest says so (cxbot was down meanwhile).
LATE_AFTER = timedelta(minutes=5)
# How long a stop waits for the look under way before cancelling it.
STOP_GRACE_S = 10.0


class Digests:
    """The loop that posts digests due; ``tick()`` is one look (tests drive the clock)."""

    def __init__(
        self,
        database: Database,
        access: Access,
        results: ResultCommands,
        posters: Mapping[str, DigestPoster],
        *,
        timezone: str = "UTC",
        clock: Callable[[], datetime] = utcnow,
        interval_s: float = INTERVAL_S,
    ) -> None:
        self.database = database
        self.access = access
        self.results = results
        self.posters = dict(posters)
        self.timezone = timezone
        self.clock = clock
        self.interval_s = interval_s
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._run(), name="cxbot-digests")

    async def stop(self) -> None:
        """End the loop once the look under way is over (see _run), or after STOP_GRACE_S."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        done, _ = await asyncio.wait({task}, timeout=STOP_GRACE_S)
        if not done:  # a look stuck on a store or platform that does not answer
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        # A look is let finish, never cancelled: cancelled mid-query, its SQL session never
        # gave its connection back to the pool (seen on SQLite at a stop right after start),
        # and cancelled mid-post, a digest whose slot was taken would not be posted.
        while not self._stopping.is_set():
            try:
                await self.tick()
            except Exception:  # the database away for a while: the next look retries
                log.exception("digests: looking for digests due failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval_s)

    async def tick(self) -> int:
        """Post every digest whose slot has come; how many this process posted."""
        now = self.clock()
        async with self.database.reader() as session:
            due = await due_digests(session, now)
        posted = 0
        for digest in due:
            posted += await self._post(digest, now)
        return posted

    async def _post(self, digest: Digest, now: datetime) -> bool:
        assert digest.id is not None
        slot = digest.next_at
        following = schedule_of(digest.schedule).next_after(now, self.timezone)
        async with self.database.session() as session:
            mine = await move_slot(
                session, digest.id, expected=slot, next_at=following, posted_at=now
            )
            await session.commit()
        if not mine:
            return False  # another process took this slot
        poster = self.posters.get(digest.channel)
        channel, _, user_id = digest.created_by.partition(":")
        role = self.access.role(channel, user_id)
        if poster is None or role is None:
            why = "its channel is off" if poster is None else f"{digest.created_by} is no admin now"
            log.warning("digest %s to %s not posted: %s", digest.id, digest.address, why)
            return False
        try:
            actor = Actor(channel, user_id, chat=digest.address)
            args = f"{schedule_of(digest.schedule).period} {digest.filters}"
            reply = await self.results.report(actor, role, args)
            await poster.post(digest.address, self._headed(digest, slot, now, reply))
        except DigestNotPosted as failure:
            if failure.permanent:
                log.warning("digest %s not posted: %s", digest.id, failure.reason)
                return False
            await self._give_back(digest.id, slot, following)
            log.warning("digest %s not posted, tried again: %s", digest.id, failure.reason)
            return False
        except Exception:
            await self._give_back(digest.id, slot, following)
            raise
        log.info("digest %s posted to %s:%s", digest.id, digest.channel, digest.address)
        return True

    async def _give_back(self, digest_id: int, slot: datetime, following: datetime) -> None:
        """Put the slot back, so that the next look posts it (late, once)."""
        try:
            async with self.database.session() as session:
                await move_slot(session, digest_id, expected=following, next_at=slot)
                await session.commit()
        except Exception:
            # The database went away between the claim and now: this slot is not posted.
            log.exception(
                "digest %s: the slot due %s is lost (could not put it back)", digest_id, slot
            )
            raise

    def _headed(
        self, digest: Digest, slot: datetime, now: datetime, reply: AdminReply
    ) -> AdminReply:
        what = f"{digest.schedule} {digest.filters}".strip()
        head = f"Digest · {what} · {self.timezone}"
        if now - slot > LATE_AFTER:
            head += f"\nPosted late: it was due {local_text(slot, self.timezone)}"
        return AdminReply(f"{head}\n\n{reply.text}", reply.attachments)
