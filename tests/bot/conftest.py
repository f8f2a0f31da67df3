"""Fixtures that run the real cxbot app against local stand-ins for the chat platforms."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import ClientSession, web
from sqlmodel import select

from bot.main import Server, running
from bot.settings import Settings
from storage.db import Database
from storage.tables import Answer, Invitation
from tests.bot.delivery.queue import empty_job_queue
from tests.bot.slack.webapi import SlackAPI, signed_headers
from tests.bot.telegram.botapi import TOKEN, BotAPI
from tests.own_redis import OwnRedis
from tests.pgserver import OwnPostgres

API_TOKEN = "test-api-token"
WEBHOOK_SECRET = "test-webhook-secret"


async def serve_local(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}"


@pytest.fixture(autouse=True)
def _empty_job_queue(postgres_url: str) -> None:
    """No job left by an earlier test runs in this one (the run shares one PostgreSQL).

    cxbot's job queue lives in that database's `procrastinate` schema; the `database`
    fixture empties only cxbot's own tables, and invitation ids restart at 1.
    """
    empty_job_queue(postgres_url)


@pytest.fixture
async def own_redis() -> AsyncIterator[OwnRedis]:
    """A redis-server of this test's own, to stop and start again (it comes back empty)."""
    redis = OwnRedis()
    await redis.start()
    try:
        yield redis
    finally:
        await redis.stop()


@pytest.fixture
async def own_postgres() -> AsyncIterator[OwnPostgres]:
    """A migrated PostgreSQL server of this test's own, to stop and start again (data kept)."""
    server = OwnPostgres()
    try:
        await asyncio.to_thread(server.start)
        database = Database(server.url)
        try:
            await database.upgrade()
        finally:
            await database.dispose()
        yield server
    finally:
        await asyncio.to_thread(server.remove)


@pytest.fixture
async def botapi() -> AsyncIterator[BotAPI]:
    api = BotAPI()
    runner, api.url = await serve_local(api.app())
    yield api
    await runner.cleanup()


@pytest.fixture
async def slackapi() -> AsyncIterator[SlackAPI]:
    api = SlackAPI()
    runner, api.url = await serve_local(api.app())
    yield api
    await runner.cleanup()


def cxbot_settings(database: Database, redis_url: str, **overrides: Any) -> Settings:
    """Settings for one test: SQLite runs with the in-process state store, PostgreSQL with Redis."""
    values: dict[str, Any] = {
        "DATABASE_URL": database.url,
        "REDIS_URL": redis_url if database.dialect == "postgresql" else None,
        "CXBOT_REDIS_PREFIX": f"cxtest-{uuid.uuid4().hex[:10]}",
        "CXBOT_HTTP_HOST": "127.0.0.1",
        "CXBOT_HTTP_PORT": 0,
        "CXBOT_API_TOKEN": API_TOKEN,
        "CXBOT_DELIVERY_POLL_SECONDS": 0.2,
        "CXBOT_SURVEYS_DIR": None,
    }
    values.update(overrides)
    return Settings.model_validate(values)


def telegram_webhook(botapi: BotAPI) -> dict[str, Any]:
    """Settings for Telegram in webhook mode against the local Bot API."""
    return {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": botapi.url,
        "TELEGRAM_WEBHOOK_URL": "https://cx.example.test/telegram/webhook",
        "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
    }


class Harness:
    """Plays the helpdesk (API calls) and Telegram (webhook updates) against a running cxbot."""

    def __init__(self, server: Server, http: ClientSession, botapi: BotAPI, database: Database):
        self.server = server
        self.http = http
        self.botapi = botapi
        self.database = database

    async def post_invitation(self, token: str | None = API_TOKEN, **body: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self.http.post(
            f"{self.server.url}/api/v1/invitations", json=body, headers=headers
        ) as response:
            return response.status, await response.json()

    async def invite(
        self, chat_id: int = 1001, case_id: str = "T-1", survey: str = "nps", **extra: Any
    ) -> int:
        before = len(self.botapi.sent())
        status, body = await self.post_invitation(
            survey=survey, channel="telegram", recipient=chat_id, case_id=case_id, **extra
        )
        assert status == 202, body
        await self.botapi.wait_for("sendMessage", before + 1)
        return int(body["id"])

    async def update(self, update: dict[str, Any], secret: str = WEBHOOK_SECRET) -> int:
        path = self.server.services.telegram.webhook_path  # type: ignore[union-attr]
        async with self.http.post(
            f"{self.server.url}{path}",
            json=update,
            headers={"X-Telegram-Bot-Api-Secret-Token": secret},
        ) as response:
            await response.read()
            return response.status

    async def wait_status(self, invitation_id: int, status: str) -> dict[str, Any]:
        """The invitation once it reached ``status`` (delivery runs in the background)."""
        for _ in range(200):
            body = await self.status(invitation_id)
            if body["status"] == status:
                return body
            await asyncio.sleep(0.05)
        raise AssertionError(f"invitation {invitation_id} stayed {body['status']}")

    async def answers(self, invitation_id: int) -> list[Answer]:
        """The answer rows stored for an invitation, in the order given."""
        async with self.database.session() as session:
            rows = await session.exec(
                select(Answer).where(Answer.invitation_id == invitation_id).order_by(Answer.id)
            )
            return list(rows.all())

    async def wait_answers(
        self, invitation_id: int, count: int, within: float = 10.0
    ) -> list[Answer]:
        """The answer rows once ``count`` are stored (a kept answer is saved in the background)."""
        deadline = time.monotonic() + within
        while len(stored := await self.answers(invitation_id)) < count:
            if time.monotonic() > deadline:
                got = [(a.question_id, a.score, a.text) for a in stored]
                raise AssertionError(f"expected {count} answers to {invitation_id}, got {got}")
            await asyncio.sleep(0.02)
        return stored

    async def invitation(self, invitation_id: int) -> Invitation:
        """The invitation row as stored."""
        async with self.database.session() as session:
            found = await session.get(Invitation, invitation_id)
            assert found is not None
            return found

    async def status(self, invitation_id: int) -> dict[str, Any]:
        async with self.http.get(
            f"{self.server.url}/api/v1/invitations/{invitation_id}",
            headers={"Authorization": f"Bearer {API_TOKEN}"},
        ) as response:
            assert response.status == 200
            body: dict[str, Any] = await response.json()
            return body


@pytest.fixture
async def harness(database: Database, redis_url: str, botapi: BotAPI) -> AsyncIterator[Harness]:
    settings = cxbot_settings(database, redis_url, **telegram_webhook(botapi))
    async with running(settings) as server, ClientSession() as http:
        yield Harness(server, http, botapi, database)


class SlackHarness(Harness):
    """The Harness with Slack on too: signed requests to /slack/events, a local Web API."""

    def __init__(
        self,
        server: Server,
        http: ClientSession,
        botapi: BotAPI,
        database: Database,
        slackapi: SlackAPI,
    ):
        super().__init__(server, http, botapi, database)
        self.slackapi = slackapi

    async def slack_request(
        self, body: str, content_type: str, headers: dict[str, str] | None = None
    ) -> int:
        """POST a raw body to /slack/events, signed unless ``headers`` are given."""
        sent = {"Content-Type": content_type, **(headers or signed_headers(body))}
        async with self.http.post(
            f"{self.server.url}/slack/events", data=body.encode(), headers=sent
        ) as response:
            await response.read()
            return response.status


@asynccontextmanager
async def running_with_slack(
    database: Database, redis_url: str, botapi: BotAPI, slackapi: SlackAPI, **overrides: Any
) -> AsyncIterator[SlackHarness]:
    """cxbot with Telegram (webhook) and Slack on against the local APIs, ``overrides`` on top."""
    settings = cxbot_settings(
        database, redis_url, **telegram_webhook(botapi), **slackapi.settings(), **overrides
    )
    async with running(settings) as server, ClientSession() as http:
        yield SlackHarness(server, http, botapi, database, slackapi)


@pytest.fixture
async def slack_harness(
    database: Database, redis_url: str, botapi: BotAPI, slackapi: SlackAPI
) -> AsyncIterator[SlackHarness]:
    async with running_with_slack(database, redis_url, botapi, slackapi) as harness:
        yield harness
