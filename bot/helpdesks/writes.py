"""Answers back to their cases: the answer listener queues a write, a job makes it, once.

The same jobs post a survey's link as the help desk's reply to the customer (a rule's
``deliver: helpdesk_reply``), at the time the survey would have been sent.

Each stored answer (the score, then the comment) of an invitation that came from a help desk
which writes back gets a `ticket_writes` row, unique per answer, and a job on cxbot's queue.
The job claims the row, writes the note through the help desk's API and settles the row:
written, failed for good (shown by `/why`), or pending again with a backoff. A retry looks
for the note's marker on the case before writing it again, so a try cut off after the help
desk took the note does not post a second one. A 429 pauses that help desk's writes in this
process until its Retry-After has passed. A sweep each minute queues the rows left pending
(a crash between the answer and its job; SQLite's in-memory queue after a restart).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from aiohttp import ClientSession
from procrastinate import App
from procrastinate.exceptions import AlreadyEnqueued

from bot.alerts.thresholds import Thresholds
from bot.background import Background
from bot.delivery.queue import QUEUE, JobQueue, aware
from bot.delivery.tasks import DeliveryRetry
from bot.helpdesks.base import Case, HelpDesk, TicketNote
from bot.helpdesks.errors import RateLimited, WriteFailed
from bot.helpdesks.notes import comment_note, score_note
from bot.helpdesks.pace import WritePace
from bot.runner import AnswerGiven
from storage.clock import utcnow
from storage.db import Database
from storage.invitations import get_invitation
from storage.tables import Answer, Invitation, InvitationStatus, TicketWrite, TicketWriteStatus
from storage.ticket_writes import (
    REPLY_QUESTION,
    add_ticket_write,
    claim_ticket_write,
    get_ticket_write,
    open_ticket_writes,
    settle_ticket_write,
    ticket_write_answer,
)
from surveys.messages import Message, message

log = logging.getLogger(__name__)

WRITE_TASK = "cxbot.ticket_write"
SWEEP_TASK = "cxbot.ticket_write_sweep"
# Tries before a write is failed for good (4xx answers fail at once), and the backoff between.
ATTEMPTS = 8
BACKOFF_S = 5.0
BACKOFF_CAP_S = 600.0
# The sweep leaves alone rows touched this recently: their job is on the way.
SWEEP_GRACE = timedelta(minutes=1)
# At shutdown, writes still being queued get this long to finish.
CLOSE_TIMEOUT_S = 5.0
# An invitation's link for the customer to open (Telegram), or None.
Links = Callable[[Invitation], Awaitable[str | None]]


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(BACKOFF_S * 2 ** max(attempts - 1, 0), BACKOFF_CAP_S))


class TicketWrites:
    """The listener that queues writes, the job that makes one, and the minute's sweep."""

    def __init__(
        self,
        helpdesks: Mapping[str, HelpDesk],
        database: Database,
        queue: JobQueue,
        thresholds: Thresholds,
        *,
        attempts: int = ATTEMPTS,
        links: Links | None = None,
        pace: WritePace | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.links = links
        self.pace = pace
        self.helpdesks = helpdesks
        self.database = database
        self.queue = queue
        self.thresholds = thresholds
        self.attempts = attempts
        self.clock = clock
        self._client: ClientSession | None = None
        self._background = Background(CLOSE_TIMEOUT_S)
        self._paused: dict[str, datetime] = {}  # help desk -> until (naive UTC), after a 429
        # One invitation's answers are queued in the order they were given (the score, then
        # the comment): each waits for the one before, and their jobs share a lock, which
        # procrastinate runs one at a time, oldest first.
        self._order: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}  # invitation -> answers holding or awaiting its lock

    # --- the answer listener -----------------------------------------------------------------
    async def __call__(self, given: AnswerGiven) -> None:
        """Queue the write of an answer whose invitation came from a help desk that writes back.

        In the background: the customer's next question does not wait for it (tens of ms).
        """
        if given.score is None and not given.text:
            return  # a skipped question or a choice: nothing for the case
        self._background.spawn(self._queue(given), f"ticket-write-{given.invitation_id}")

    async def _queue(self, given: AnswerGiven) -> None:
        invitation_id = given.invitation_id
        order = self._order.setdefault(invitation_id, asyncio.Lock())
        self._waiting[invitation_id] = self._waiting.get(invitation_id, 0) + 1
        try:
            async with order:
                await self.queue_write(given)
        except Exception:  # the database or the queue away: this answer's write is lost
            log.exception("could not queue the write of invitation %s", invitation_id)
        finally:
            # Dropped only when no later answer waits on it (a released lock still has its
            # woken waiter to run, so locked() cannot tell).
            self._waiting[invitation_id] -= 1
            if not self._waiting[invitation_id]:
                del self._waiting[invitation_id]
                del self._order[invitation_id]

    async def queue_write(self, given: AnswerGiven) -> None:
        """Store the answer's write (once) and queue its job."""
        now = self.clock()
        async with self.database.session() as session:
            invitation = await get_invitation(session, given.invitation_id)
            helpdesk = self._helpdesk_of(invitation)
            if invitation is None or helpdesk is None:
                return
            assert invitation.id is not None
            write_id = await add_ticket_write(
                session, invitation.id, given.question_id, helpdesk.name, invitation.case_id, now
            )
            await session.commit()
        if write_id is not None:
            await self.defer(write_id, now, invitation_id=invitation.id)

    def _helpdesk_of(self, invitation: Invitation | None) -> HelpDesk | None:
        if invitation is None:
            return None
        return self.writer_for(invitation.attributes)

    def writer_for(self, attributes: Mapping[str, Any]) -> HelpDesk | None:
        """The help desk a case came from (its ``helpdesk`` attribute), if it writes back."""
        helpdesk = self.helpdesks.get(str(attributes.get("helpdesk", "")))
        return helpdesk if helpdesk is not None and helpdesk.writes_back else None

    # --- the survey's link as the help desk's reply --------------------------------------------
    def replies_for(self, attributes: Mapping[str, Any]) -> bool:
        """True when the case's help desk can post a survey's link as its reply."""
        return self.links is not None and self.writer_for(attributes) is not None

    async def reply(self, invitation: Invitation, at: datetime) -> None:
        """Post the invitation's link as the help desk's reply at `at` (once, however often
        this is called)."""
        helpdesk = self._helpdesk_of(invitation)
        if helpdesk is None or invitation.id is None:
            return
        async with self.database.session() as session:
            write_id = await add_ticket_write(
                session, invitation.id, REPLY_QUESTION, helpdesk.name, invitation.case_id, at
            )
            await session.commit()
        if write_id is not None:
            await self.defer(write_id, at)

    async def _reply_note(self, invitation: Invitation) -> TicketNote | str:
        """The reply carrying the link, or why there is none to post."""
        if invitation.status != InvitationStatus.AWAITING_LINK:
            return f"not posted: the invitation is {invitation.status}"
        link = await self.links(invitation) if self.links is not None else None
        if link is None:
            return "not posted: no Telegram link (is Telegram on, with its bot's username?)"
        text = message(Message.HELPDESK_REPLY, invitation.language or "en", link=link)
        # The link is unique to the invitation: a retry looks for it on the case.
        return TicketNote(link, text, invitation.survey_id, "reply", public=True)

    async def defer(self, write_id: int, at: datetime, *, invitation_id: int | None = None) -> bool:
        """Queue the write's job at `at` (naive UTC); False when one is waiting already.

        With ``invitation_id`` the job runs after the ones of that invitation queued before it.
        """
        queued = f"{WRITE_TASK}:{write_id}"
        lock = f"{WRITE_TASK}:invitation:{invitation_id}" if invitation_id is not None else queued
        deferrer = self.queue.app.configure_task(
            WRITE_TASK, queue=QUEUE, lock=lock, queueing_lock=queued, schedule_at=aware(at)
        )
        try:
            await deferrer.defer_async(write_id=write_id)
        except AlreadyEnqueued:
            return False
        return True

    # --- the job -----------------------------------------------------------------------------
    async def write(self, write_id: int) -> str:
        """Make one write; what became of it ("written", "failed", "later", "settled")."""
        now = self.clock()
        async with self.database.session() as session:
            before = await claim_ticket_write(session, write_id, now)
            row = await get_ticket_write(session, write_id)
            answer = await ticket_write_answer(session, row) if row is not None else None
            invitation = await get_invitation(session, row.invitation_id) if row else None
            await session.commit()
        if before is None or row is None or invitation is None:
            return "settled"
        helpdesk = self.helpdesks.get(row.helpdesk)
        if helpdesk is None or not helpdesk.writes_back:
            return await self._settle(row, TicketWriteStatus.FAILED, "its API is not configured")
        if row.question_id == REPLY_QUESTION:
            found = await self._reply_note(invitation)
            if isinstance(found, str):
                return await self._settle(row, TicketWriteStatus.FAILED, found)
            note: TicketNote | None = found
        else:
            note = self._note(invitation, row, answer)
        if note is None:  # the comment was purged (retention) or forgotten meanwhile
            return await self._settle(row, TicketWriteStatus.FAILED, "the answer is gone")
        paused = self._paused.get(helpdesk.name)
        if paused is not None and paused > now:
            return await self._later(row, paused, f"{helpdesk.title} asked to wait", count=False)
        wait = await self.pace.wait(helpdesk.name) if self.pace is not None else 0.0
        if wait > 0:  # this help desk's share of writes is spent for now
            at = self.clock() + timedelta(seconds=wait)
            return await self._later(row, at, f"{helpdesk.title}: at the write rate", count=False)
        case = Case(invitation.case_id, invitation.attributes)
        # A retry (or a claim found `writing`: a process died mid-call) looks before writing.
        retry = row.attempts > 1 or before == TicketWriteStatus.WRITING.value
        try:
            try:
                await helpdesk.write(self._http(), case, note, retry=retry)
            except (RateLimited, WriteFailed):
                raise
            except Exception as error:  # an answer of a shape we did not expect: try again
                log.exception("write %s to %s: unexpected failure", write_id, row.helpdesk)
                raise WriteFailed(f"{helpdesk.title}: {error!r}", permanent=False) from error
        except RateLimited as limited:
            until = self.clock() + timedelta(seconds=limited.retry_after)
            self._paused[helpdesk.name] = max(until, self._paused.get(helpdesk.name, until))
            return await self._later(row, until, str(limited), count=False)
        except WriteFailed as failure:
            if failure.permanent or row.attempts >= self.attempts:
                tries = f" (gave up after {row.attempts} tries)" if not failure.permanent else ""
                log.warning("write %s to %s failed: %s", write_id, row.helpdesk, failure.reason)
                return await self._settle(row, TicketWriteStatus.FAILED, failure.reason + tries)
            return await self._later(row, self.clock() + backoff(row.attempts), failure.reason)
        return await self._settle(row, TicketWriteStatus.WRITTEN, None)

    def _note(
        self, invitation: Invitation, row: TicketWrite, answer: Answer | None
    ) -> TicketNote | None:
        assert invitation.id is not None
        if answer is None:
            return None
        if answer.score is not None:
            return score_note(
                invitation.id,
                row.question_id,
                invitation.survey_id,
                answer.kind,
                answer.score,
                self.thresholds,
            )
        if answer.text:
            return comment_note(invitation.id, row.question_id, invitation.survey_id, answer.text)
        return None

    async def _settle(self, row: TicketWrite, status: TicketWriteStatus, error: str | None) -> str:
        assert row.id is not None
        async with self.database.session() as session:
            await settle_ticket_write(session, row.id, status, self.clock(), error)
            await session.commit()
        return "written" if status == TicketWriteStatus.WRITTEN else "failed"

    async def _later(
        self, row: TicketWrite, at: datetime, reason: str, *, count: bool = True
    ) -> str:
        assert row.id is not None
        async with self.database.session() as session:
            # A 429 or a pause is the help desk's pace, not a failed try.
            await settle_ticket_write(
                session, row.id, TicketWriteStatus.PENDING, self.clock(), reason, refund=not count
            )
            await session.commit()
        log.info("write %s to %s: %s; again at %s", row.id, row.helpdesk, reason, at)
        await self.defer(row.id, at)
        return "later"

    def _http(self) -> ClientSession:
        if self._client is None or self._client.closed:
            self._client = ClientSession()
        return self._client

    # --- the sweep and the queue -------------------------------------------------------------
    async def sweep(self) -> int:
        """Queue the writes left pending; how many jobs were added."""
        async with self.database.session() as session:
            found = await open_ticket_writes(session, self.clock() - SWEEP_GRACE)
        added = 0
        for write_id in found:
            added += await self.defer(write_id, self.clock())
        return added

    def register(self, app: App) -> None:
        """Declare the write job and the sweep on the queue's App."""
        retry = DeliveryRetry()  # a database or Redis outage: again with a capped backoff

        @app.task(name=WRITE_TASK, queue=QUEUE, retry=retry)
        async def ticket_write(write_id: int) -> str:
            return await self.write(write_id)

        @app.periodic(cron="* * * * *", periodic_id="ticket-writes")
        @app.task(name=SWEEP_TASK, queue=QUEUE, queueing_lock=SWEEP_TASK)
        async def ticket_write_sweep(timestamp: int) -> int:
            return await self.sweep()

    async def drain(self) -> None:
        """Let the writes being queued finish (before the queue closes)."""
        await self._background.close()

    async def close(self) -> None:
        await self._background.close()
        if self.pace is not None:
            await self.pace.close()
        if self._client is not None:
            await self._client.close()
            self._client = None
