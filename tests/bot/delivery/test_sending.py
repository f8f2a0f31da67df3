"""Invitations go out through the job queue: on time, once, across restarts, or failed."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlmodel import col, update

from bot.delivery import jobs as delivery_jobs
from bot.runner import INTERRUPTED_SEND
from storage.clock import utcnow
from storage.db import Database
from storage.tables import Invitation, InvitationStatus
from tests.bot.delivery.conftest import Courier, CourierFactory
from tests.bot.delivery.queue import make_jobs_due
from tests.bot.telegram.botapi import BotAPI

CHAT = 1001
SEND = "cxbot.send"


def sent_status(invitation: Invitation) -> bool:
    return invitation.status == InvitationStatus.SENT


async def test_a_later_send_waits_for_its_time(courier: Courier) -> None:
    due = utcnow() + timedelta(seconds=1.5)
    invitation_id = await courier.store(CHAT, scheduled_at=due)

    await courier.delivery.schedule(invitation_id, due)
    await asyncio.sleep(0.5)
    assert courier.botapi.delivered() == []
    assert (await courier.row(invitation_id)).status == InvitationStatus.SCHEDULED

    sent = await courier.wait_row(invitation_id, sent_status)
    [call] = courier.botapi.delivered(CHAT)
    assert call.at >= due.timestamp()  # the server took it no earlier than it was due
    assert sent.sent_at is not None and sent.sent_at >= due
    assert "recommend" in call.params["text"]


async def test_scheduling_twice_sends_once(courier: Courier) -> None:
    invitation_id = await courier.store(CHAT)

    await asyncio.gather(
        courier.delivery.schedule(invitation_id, utcnow()),
        courier.delivery.schedule(invitation_id, utcnow()),
        courier.delivery.submit(invitation_id),
    )
    await courier.wait_row(invitation_id, sent_status)
    await courier.wait_idle(SEND)
    await courier.delivery.submit(invitation_id)  # once sent, a new job finds nothing to do
    await courier.wait_idle(SEND)

    assert len(courier.botapi.delivered(CHAT)) == 1


async def test_a_scheduled_send_survives_a_restart(
    start_cxbot: CourierFactory, botapi: BotAPI
) -> None:
    # Due an hour on, so that the first cxbot stops before it is due however slowly it starts
    # (due a second on, it raced a loaded machine); between the two runs the hour passes.
    due = utcnow() + timedelta(hours=1)
    async with start_cxbot() as first:
        invitation_id = await first.store(CHAT, scheduled_at=due)
        await first.delivery.schedule(invitation_id, due)
    assert botapi.delivered() == []  # stopped before it was due
    await an_hour_passes(first.database, invitation_id)

    async with start_cxbot() as second:
        await second.wait_row(invitation_id, sent_status)
        await second.wait_idle(SEND)

    assert len(botapi.delivered(CHAT)) == 1


async def an_hour_passes(database: Database, invitation_id: int) -> None:
    """The invitation's row due now, and on PostgreSQL its job waiting in the queue too.

    The row is what SQLite's in-memory queue is rebuilt from at start. On PostgreSQL the
    queued job itself must have outlived the first cxbot: exactly one is found and moved,
    and the row's due time is now, which the periodic catch-up leaves to that job.
    """
    async with database.session() as session:
        await session.exec(
            update(Invitation)
            .where(col(Invitation.id) == invitation_id)
            .values(scheduled_at=utcnow())
        )
        await session.commit()
    if database.dialect == "postgresql":
        assert len(make_jobs_due(database.url, SEND)) == 1


async def test_a_blocked_customer_fails_with_the_reason(courier: Courier) -> None:
    courier.botapi.block(CHAT)
    invitation_id = await courier.store(CHAT)

    await courier.delivery.submit(invitation_id)
    failed = await courier.wait_row(invitation_id, lambda i: i.status == InvitationStatus.FAILED)

    assert failed.failure_reason == "telegram: Forbidden: bot was blocked by the user"
    assert courier.botapi.delivered() == []


async def test_a_temporary_error_is_retried_then_sent(
    courier: Courier, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery_jobs, "BACKOFF_S", 0.1)
    courier.botapi.fail(
        "sendMessage",
        502,
        {"ok": False, "error_code": 502, "description": "Bad Gateway"},
        times=2,
    )
    invitation_id = await courier.store(CHAT)

    await courier.delivery.submit(invitation_id)
    sent = await courier.wait_row(invitation_id, sent_status)

    assert [c.status for c in courier.botapi.calls if c.method == "sendMessage"] == [502, 502, 200]
    assert sent.failure_reason is None


async def test_temporary_errors_beyond_the_attempts_fail_the_invitation(
    start_cxbot: CourierFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(delivery_jobs, "BACKOFF_S", 0.05)
    async with start_cxbot(CXBOT_SEND_ATTEMPTS=2) as courier:
        courier.botapi.fail(
            "sendMessage", 500, {"ok": False, "error_code": 500, "description": "Oops"}, times=9
        )
        invitation_id = await courier.store(CHAT)

        await courier.delivery.submit(invitation_id)
        failed = await courier.wait_row(
            invitation_id, lambda i: i.status == InvitationStatus.FAILED
        )

    assert failed.failure_reason is not None
    assert failed.failure_reason.endswith("(gave up after 2 tries)")
    assert len([c for c in courier.botapi.calls if c.method == "sendMessage"]) == 2


async def test_a_send_interrupted_mid_call_is_failed_not_sent_again(courier: Courier) -> None:
    # A worker claimed the row and died before the platform answered: the message may be
    # on the customer's screen already.
    invitation_id = await courier.store(CHAT)
    async with courier.database.session() as session:
        await session.exec(
            update(Invitation)
            .where(col(Invitation.id) == invitation_id)
            .values(status=InvitationStatus.SENDING.value, sending_at=utcnow())
        )
        await session.commit()

    await courier.delivery.submit(invitation_id)
    failed = await courier.wait_row(invitation_id, lambda i: i.status == InvitationStatus.FAILED)

    assert failed.failure_reason == INTERRUPTED_SEND
    assert failed.failure_reason == (
        "interrupted during send; not resent to avoid a duplicate message"
    )
    assert courier.botapi.delivered() == []


async def test_an_invitation_stored_without_a_job_is_caught_up(courier: Courier) -> None:
    # A crash between storing the invitation and queueing its send: the periodic catch-up
    # finds the row due (a minute ago or more) and queues it. The worker is stopped meanwhile,
    # since it runs catch-ups of its own (SQLite's at start, PostgreSQL's periodic one, due
    # at start and then every minute); under load one of those came first and this one
    # found nothing to add.
    worker = courier.delivery.worker
    assert worker is not None
    await worker.stop()
    invitation_id = await courier.store(CHAT, scheduled_at=utcnow() - timedelta(minutes=2))

    added = await courier.delivery.jobs.catch_up()
    courier.delivery.start()
    await courier.wait_row(invitation_id, sent_status)
    await courier.wait_idle(SEND)

    assert added == 1
    assert len(courier.botapi.delivered(CHAT)) == 1
