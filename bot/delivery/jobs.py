"""What each queued job does: send, remind, expire, catch up from SQL, purge old comments."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.delivery.errors import Postponed
from bot.delivery.limits import SendLimits
from bot.delivery.queue import JobQueue, Kind, aware
from bot.errors import DeliveryFailed
from bot.metrics.counters import SENDS
from bot.paced import mark_paced
from bot.runner import SurveyRunner
from storage.clock import utcnow
from storage.db import Database
from storage.invitations import (
    due_invitations,
    get_invitation,
    mark_failed,
    pending_expiries,
    pending_reminders,
    stuck_sending,
)
from storage.tables import Invitation, InvitationStatus

log = logging.getLogger(__name__)

# A job waits for a busy chat in its worker slot at most this long; beyond, it gives the
# slot back and comes again when the chat is free (a burst to one chat must not hold every
# slot while other chats could be served).
HOLD_S = 1.0
# Backoff after a temporary platform failure: BACKOFF_S * 2**failures, capped.
BACKOFF_S = 2.0
BACKOFF_CAP_S = 300.0
# The periodic catch-up leaves alone work due this recently: its job is still on the way.
CATCH_UP_GRACE = timedelta(minutes=1)
CATCH_UP_BATCH = 500
# A claim older than this was left by a process that died mid-send (sends take seconds).
STUCK_SENDING = timedelta(minutes=30)
# "All of it", for re-deferring every pending piece of work at start.
FOREVER = datetime(9999, 1, 1)
EVERYTHING = 1_000_000


def backoff(failures: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_S * 2**failures, BACKOFF_CAP_S))


class DeliveryJobs:
    """The bodies of cxbot's jobs; the queue calls them with JSON arguments."""

    def __init__(
        self,
        runner: SurveyRunner,
        database: Database,
        limits: SendLimits,
        queue: JobQueue,
        *,
        attempts: int,
        retention_days: int | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.runner = runner
        self.database = database
        self.limits = limits
        self.queue = queue
        self.attempts = attempts
        self.retention_days = retention_days
        self.clock = clock

    async def _load(self, invitation_id: int) -> Invitation | None:
        async with self.database.reader() as session:
            return await get_invitation(session, invitation_id)

    async def take_turn(self, channel: str, address: str) -> float:
        """Wait for the shared rate limits to let one message go to `address`, or Postpone.

        Returns the moment (epoch seconds) the message is to go: see SendLimits.take.
        """
        held = 0.0
        while True:
            turn = await self.limits.take(channel, address)
            if turn.granted:
                # The send that follows is no reply to count.
                mark_paced(turn.at, turn.slot, turn.chat, turn.earliest)
                return turn.at
            if turn.wait > HOLD_S or (turn.per_address and held + turn.wait > HOLD_S):
                raise Postponed(aware(self.clock() + timedelta(seconds=turn.wait)), turn.bucket)
            if turn.per_address:
                held += turn.wait
            await turn.wait_out()

    async def send(self, invitation_id: int, failures: int = 0) -> str:
        """Send the invitation if it is still scheduled; then queue its reminder and expiry.

        deliver() reads the row itself, under the invitation's lock: one already settled is
        left alone, one found `sending` is settled without a send (see SurveyRunner.deliver).
        """
        try:
            # The turn is taken inside, right before the claim and the platform call.
            status = await self.runner.deliver(invitation_id, turn=self.take_turn)
        except DeliveryFailed as error:  # temporary: deliver() put the row back to scheduled
            invitation = await self._load(invitation_id)
            if invitation is None:
                return "gone"
            return await self._send_later(invitation, failures, error.reason)
        except LookupError:
            if await self._load(invitation_id) is not None:
                raise  # not the row missing: a fault to see
            return "gone"
        if status == InvitationStatus.SENT:
            sent = await self._load(invitation_id)
            if sent is not None:
                SENDS.labels(sent.channel, "invitation").inc()
                await self._follow_up(sent)
        return status.value

    async def _send_later(self, invitation: Invitation, failures: int, reason: str) -> str:
        assert invitation.id is not None
        tries = failures + 1
        if tries >= self.attempts:
            async with self.database.session() as session:
                await mark_failed(session, invitation.id, f"{reason} (gave up after {tries} tries)")
                await session.commit()
            log.warning("invitation %s failed after %s tries: %s", invitation.id, tries, reason)
            return InvitationStatus.FAILED.value
        at = self.clock() + backoff(failures)
        log.info("invitation %s: %s; trying again at %s", invitation.id, reason, at)
        await self.queue.defer(
            Kind.SEND, invitation.id, at, due=invitation.scheduled_at, failures=tries
        )
        return InvitationStatus.SCHEDULED.value

    async def follow_up(self, invitation_id: int) -> None:
        """Queue the reminder and expiry of an invitation sent outside a send job (its link
        was opened, and the first question went out at once)."""
        sent = await self._load(invitation_id)
        if sent is not None and sent.status == InvitationStatus.SENT:
            await self._follow_up(sent)

    async def _follow_up(self, sent: Invitation) -> None:
        assert sent.id is not None
        follow_ups: list[tuple[Kind, datetime]] = []
        if sent.reminder_at is not None and sent.reminded_at is None:
            follow_ups.append((Kind.REMIND, sent.reminder_at))
        if sent.expires_at is not None:
            follow_ups.append((Kind.EXPIRE, sent.expires_at))
        await self.queue.defer_all(sent.id, follow_ups)

    async def remind(self, invitation_id: int, failures: int = 0) -> str:
        """The one reminder of a sent invitation nobody answered yet."""
        invitation = await self._load(invitation_id)
        if (
            invitation is None
            or invitation.status != InvitationStatus.SENT
            or invitation.reminded_at is not None
        ):
            return "not needed"
        try:
            reminded = await self.runner.remind_invitation(invitation_id, turn=self.take_turn)
        except DeliveryFailed as error:
            if error.permanent or failures + 1 >= self.attempts:
                log.warning("reminder for invitation %s not sent: %s", invitation_id, error.reason)
                return "failed"
            at = self.clock() + backoff(failures)
            await self.queue.defer(
                Kind.REMIND, invitation_id, at, due=invitation.reminder_at, failures=failures + 1
            )
            return "later"
        if reminded:
            SENDS.labels(invitation.channel, "reminder").inc()
        return "reminded" if reminded else "not needed"

    async def expire(self, invitation_id: int) -> str:
        """Close a survey whose time ran out."""
        expired = await self.runner.expire_invitation(invitation_id)
        return "expired" if expired else "not needed"

    async def catch_up(self, *, everything: bool = False) -> int:
        """Queue the work SQL says is pending; return how many jobs were added.

        Periodically this picks up work due a minute ago or more that has no job (a crash
        between a SQL commit and its deferral), and claims left `sending` by a dead process.
        With ``everything`` (SQLite's in-memory queue, at start) it queues all pending work,
        future included. Jobs already waiting are never doubled.
        """
        now = self.clock()
        if everything:
            until, stuck_before, limit = FOREVER, now, EVERYTHING
        else:
            until, stuck_before, limit = now - CATCH_UP_GRACE, now - STUCK_SENDING, CATCH_UP_BATCH
        added = 0
        async with self.database.session() as session:
            sends = await due_invitations(session, until, limit=limit)
            reminders = await pending_reminders(session, until, limit=limit)
            expiries = await pending_expiries(session, until, limit=limit)
            stuck = await stuck_sending(session, stuck_before, limit=limit)
        for invitation in sends:
            assert invitation.id is not None
            added += await self.queue.defer(Kind.SEND, invitation.id, invitation.scheduled_at)
        for invitation_id in stuck:  # the send job finds it `sending` and settles it
            added += await self.queue.defer(Kind.SEND, invitation_id, now)
        for invitation in reminders:
            assert invitation.id is not None and invitation.reminder_at is not None
            added += await self.queue.defer(Kind.REMIND, invitation.id, invitation.reminder_at)
        for invitation in expiries:
            assert invitation.id is not None and invitation.expires_at is not None
            added += await self.queue.defer(Kind.EXPIRE, invitation.id, invitation.expires_at)
        if added:
            log.info("queued %s jobs that SQL had pending", added)
        return added

    async def purge_comments(self) -> int:
        """Drop free-text comments older than CXBOT_RETENTION_DAYS (scores stay)."""
        if self.retention_days is None:
            return 0
        # Imported here: storage.privacy belongs to the results work and may change shape.
        from storage.privacy import purge_comments_before

        cutoff = self.clock() - timedelta(days=self.retention_days)
        async with self.database.session() as session:
            purged = await purge_comments_before(session, cutoff, actor="retention")
            await session.commit()
        log.info("retention: removed %s comments older than %s", purged, cutoff)
        return purged
