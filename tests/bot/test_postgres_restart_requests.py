"""Right after a PostgreSQL restart the first requests succeed (only those made while it is
down fail), and a send caught in an outage is recorded `sent` once PostgreSQL is back.

Each test runs its own PostgreSQL server (tests/pgserver.py) to stop and start under cxbot.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import ClientSession
from sqlmodel import col, select

import bot.delivery.queue
import storage.db
from bot.main import running
from storage.db import Database
from storage.tables import Invitation
from tests.bot.conftest import API_TOKEN, Harness, cxbot_settings, telegram_webhook
from tests.bot.telegram.botapi import BotAPI
from tests.bot.telegram.test_survey_flow import tap
from tests.pgserver import OwnPostgres

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}
WARM = 8  # requests at once before the restart: each pool then holds several connections


@pytest.fixture(autouse=True)
def no_idle_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both pools check a connection idle 5 s or more before handing it out; a restart on a
    loaded machine can take longer than that, and then every connection would be checked for
    its idleness alone. Out of reach here, so only what replaces a connection the server hung
    up on keeps the first requests from failing."""
    monkeypatch.setattr(storage.db, "PING_IDLE_S", 3600.0)
    monkeypatch.setattr(bot.delivery.queue, "CHECK_IDLE_S", 3600.0)


def invitation(case_id: str, recipient: str = "123456789") -> dict[str, Any]:
    return {"survey": "nps", "channel": "telegram", "recipient": recipient, "case_id": case_id}


async def restart(server: OwnPostgres) -> None:
    await asyncio.to_thread(server.stop)
    await asyncio.to_thread(server.start)


async def stored_cases(database: Database) -> list[str]:
    async with database.session() as session:
        found = await session.exec(select(Invitation.case_id).order_by(col(Invitation.case_id)))
        return [case for case in found.all() if case is not None]


@asynccontextmanager
async def cxbot_on(
    server: OwnPostgres, redis_url: str, botapi: BotAPI, **overrides: Any
) -> AsyncIterator[Harness]:
    """cxbot running on the test's own PostgreSQL, with Telegram's webhook on the local API."""
    database = Database(server.url)
    settings = cxbot_settings(database, redis_url, **telegram_webhook(botapi), **overrides)
    try:
        async with running(settings) as cxbot, ClientSession() as http:
            yield Harness(cxbot, http, botapi, database)
    finally:
        await database.dispose()


async def test_the_api_answers_its_first_requests_after_a_restart(
    own_postgres: OwnPostgres, redis_url: str, botapi: BotAPI
) -> None:
    async with cxbot_on(own_postgres, redis_url, botapi, CXBOT_EMBEDDED_WORKER=False) as harness:
        api = f"{harness.server.url}/api/v1/invitations"

        async def post(case_id: str) -> int:
            async with harness.http.post(api, json=invitation(case_id), headers=AUTH) as response:
                await response.read()
                return response.status

        # Invitations are stored through SQLAlchemy's pool and queued through the job queue's:
        # both hold connections from before the restart.
        before = await asyncio.gather(*(post(f"A-{n}") for n in range(WARM)))
        assert before == [202] * WARM
        await restart(own_postgres)
        after = [await post(f"B-{n}") for n in range(WARM)]
        async with harness.http.get(f"{api}/1", headers=AUTH) as response:
            assert response.status == 200
        assert after == [202] * WARM
        assert await stored_cases(harness.database) == sorted(
            [f"A-{n}" for n in range(WARM)] + [f"B-{n}" for n in range(WARM)]
        )


async def test_an_answer_tapped_right_after_a_restart_is_stored(
    own_postgres: OwnPostgres, redis_url: str, botapi: BotAPI
) -> None:
    async with cxbot_on(own_postgres, redis_url, botapi) as harness:
        invitation_id = await harness.invite(chat_id=1001, case_id="T-1")
        await harness.wait_status(invitation_id, "sent")
        # Several connections in the pool, each used a moment ago.
        await asyncio.gather(*(harness.status(invitation_id) for _ in range(WARM)))
        await restart(own_postgres)
        await tap(harness, botapi.sent()[0], "9")  # asserts the webhook's 200
        [answer] = await harness.answers(invitation_id)
        assert answer.score == 9


async def test_a_send_caught_in_an_outage_is_recorded_sent_once_postgres_is_back(
    own_postgres: OwnPostgres, redis_url: str, botapi: BotAPI
) -> None:
    botapi.held = asyncio.Event()
    async with cxbot_on(own_postgres, redis_url, botapi) as harness:
        status, body = await harness.post_invitation(**invitation("T-1", "1001"))
        assert status == 202, body
        await botapi.wait_for("sendMessage", 1)  # claimed `sending`, Telegram has it
        await asyncio.to_thread(own_postgres.stop)
        botapi.held.set()  # Telegram answers: sent, while PostgreSQL is away
        await asyncio.to_thread(own_postgres.start)
        sent = await harness.wait_status(int(body["id"]), "sent")
        assert sent["failure_reason"] is None
        row = await harness.invitation(int(body["id"]))
        assert row.message_ref == str(botapi.sent()[0]["_message_id"])
        assert row.expires_at is not None
        assert len(botapi.sent(chat_id=1001)) == 1
