"""A running cxbot whose delivery tests can steer: invitations stored directly, queue looked at."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime
from typing import Any

import pytest
from aiohttp import ClientSession

from bot.delivery import Delivery
from bot.delivery.limits import SendLimits, channel_rates
from bot.main import running
from bot.settings import Settings
from storage.clock import utcnow
from storage.db import Database
from storage.invitations import NewInvitation, create_invitation, get_invitation
from storage.respondents import upsert_respondent
from storage.tables import Invitation
from tests.bot.conftest import Harness, cxbot_settings, telegram_webhook
from tests.bot.telegram.botapi import BotAPI


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: several cxbot processes against the local servers (tens of seconds)"
    )


class Courier(Harness):
    """The Harness, plus invitations stored as the rules engine stores them (no send yet)."""

    @property
    def delivery(self) -> Delivery:
        return self.server.services.delivery

    async def store(
        self,
        chat_id: int = 1001,
        case_id: str = "T-1",
        *,
        scheduled_at: datetime | None = None,
        survey: str = "nps",
        **fields: Any,
    ) -> int:
        """A scheduled invitation row, as created before its send is scheduled."""
        return await store_invitation(
            self.database, chat_id, case_id, scheduled_at=scheduled_at, survey=survey, **fields
        )

    async def row(self, invitation_id: int) -> Invitation:
        async with self.database.session() as session:
            found = await get_invitation(session, invitation_id)
        assert found is not None
        return found

    async def wait_row(
        self, invitation_id: int, check: Callable[[Invitation], bool], within: float = 15.0
    ) -> Invitation:
        deadline = time.monotonic() + within
        while True:
            found = await self.row(invitation_id)
            if check(found):
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"invitation {invitation_id} stayed {found}")
            await asyncio.sleep(0.05)

    async def queued(self, task: str) -> list[Any]:
        """The jobs of `task` waiting or running (finished ones are deleted)."""
        manager = self.delivery.queue.app.job_manager
        waiting = await manager.list_jobs_async(task=task, status="todo")
        running_now = await manager.list_jobs_async(task=task, status="doing")
        return [*waiting, *running_now]

    async def wait_until(
        self, check: Callable[[], Awaitable[object]], within: float = 15.0
    ) -> None:
        """Until `check()` gives something true."""
        deadline = time.monotonic() + within
        while not await check():
            if time.monotonic() > deadline:
                raise AssertionError(f"still false after {within}s: {check}")
            await asyncio.sleep(0.02)

    async def wait_idle(self, task: str, within: float = 15.0) -> None:
        """Until no `task` job waits or runs."""
        deadline = time.monotonic() + within
        while await self.queued(task):
            if time.monotonic() > deadline:
                raise AssertionError(f"{task} jobs still queued: {await self.queued(task)}")
            await asyncio.sleep(0.05)


async def store_invitation(
    database: Database,
    chat_id: int,
    case_id: str,
    *,
    scheduled_at: datetime | None = None,
    survey: str = "nps",
    **fields: Any,
) -> int:
    async with database.session() as session:
        respondent = await upsert_respondent(session, "telegram", str(chat_id), "en")
        assert respondent.id is not None
        invitation, _ = await create_invitation(
            session,
            NewInvitation(
                survey_id=survey,
                case_id=case_id,
                channel="telegram",
                address=str(chat_id),
                respondent_id=respondent.id,
                language=None,
                attributes={},
                scheduled_at=scheduled_at or utcnow(),
                **fields,
            ),
        )
        await session.commit()
    assert invitation.id is not None
    return invitation.id


CourierFactory = Callable[..., AbstractAsyncContextManager[Courier]]


@pytest.fixture
async def start_cxbot(
    database: Database, redis_url: str, botapi: BotAPI
) -> AsyncIterator[CourierFactory]:
    """Starts cxbot (webhook mode, local Bot API) with setting overrides; may start it again."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[Courier]:
        settings = cxbot_settings(database, redis_url, **telegram_webhook(botapi), **overrides)
        async with running(settings) as server, ClientSession() as http:
            yield Courier(server, http, botapi, database)

    yield start


@pytest.fixture
async def courier(start_cxbot: CourierFactory) -> AsyncIterator[Courier]:
    """cxbot with delivery running in-process; rate limits high enough not to matter."""
    async with start_cxbot(CXBOT_TELEGRAM_CHAT_RATE="100/second") as running_cxbot:
        yield running_cxbot


Pair = tuple[SendLimits, SendLimits]


@pytest.fixture(params=["memory", "redis"])
async def two_processes(
    request: pytest.FixtureRequest, redis_url: str
) -> AsyncIterator[Callable[[str], Pair]]:
    """Two takers of one bot's turns at a given rate: two processes on one Redis, or one
    process in memory."""
    opened: list[SendLimits] = []

    def pair(rate: str) -> Pair:
        rates = channel_rates(Settings.model_validate({"CXBOT_TELEGRAM_RATE": rate}))
        if request.param == "memory":
            one = SendLimits.open(rates, None, "cxtest")
            opened.append(one)
            return one, one
        prefix = f"cxtest-{secrets.token_hex(5)}"
        both = SendLimits.open(rates, redis_url, prefix), SendLimits.open(rates, redis_url, prefix)
        opened.extend(both)
        return both

    yield pair
    for limits in opened:
        await limits.close()
