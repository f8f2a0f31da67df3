"""The digests' fixtures: admin commands on a seeded database, a clock tests move, a poster
that records."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from sqlmodel import select

from bot.admin.access import Access
from bot.admin.commands import AdminCommands, admin_commands
from bot.admin.replies import Actor, AdminReply
from bot.digests import DigestNotPosted, Digests
from storage.db import Database
from storage.state import MemoryStateStore
from storage.tables import Digest
from surveys.catalog import Catalog
from tests.storage.reportdata import Seed, seed

ZONE = "Europe/Warsaw"  # UTC+1 in November
NOW = datetime(2026, 11, 26, 12, 0)  # a Thursday, naive UTC
MONDAY_SLOT = datetime(2026, 11, 30, 8, 0)  # Monday 09:00 in Warsaw
GROUP = "-100555"
ADMIN = Actor("telegram", "42", "Ada Admin", chat=GROUP)
LEAD = Actor("telegram", "77", "Lee Lead", chat=GROUP)  # team lead of billing
ADMINS = "telegram:42 telegram:77@billing"
TOKEN = "123:digest-test"


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Recorder:
    """A DigestPoster that keeps what it was given; fails the first ``failures`` posts."""

    channel: str = "telegram"
    posts: list[tuple[str, AdminReply]] = field(default_factory=list)
    failures: int = 0

    async def post(self, address: str, reply: AdminReply) -> None:
        await asyncio.sleep(0)  # let a racing worker run in between
        if self.failures:
            self.failures -= 1
            raise DigestNotPosted("telegram: Too Many Requests", permanent=False)
        self.posts.append((address, reply))


@dataclass
class Setup:
    commands: AdminCommands
    database: Database
    clock: Clock
    recorder: Recorder

    def worker(self, poster: object | None = None) -> Digests:
        assert self.commands.results is not None
        return Digests(
            self.database,
            self.commands.access,
            self.commands.results,
            {"telegram": poster or self.recorder},  # type: ignore[dict-item]
            timezone=ZONE,
            clock=self.clock,
        )

    async def rows(self) -> list[Digest]:
        async with self.database.session() as session:
            return list((await session.exec(select(Digest).order_by(Digest.id))).all())  # type: ignore[arg-type]


@pytest.fixture
async def setup(database: Database) -> AsyncIterator[Setup]:
    clock = Clock()
    state = MemoryStateStore()
    commands = admin_commands(
        Access.parse(ADMINS),
        database=database,
        state=state,
        catalog=Catalog.load(None),
        triggers=None,
        min_n=1,
        retention_days=None,
        report_timezone=ZONE,
        clock=clock,
    )
    answered = NOW - timedelta(hours=1)
    async with database.session() as session:
        # Billing: two promoters and a detractor; support: one detractor.
        await seed(
            session,
            [
                Seed(10, answered, team="billing"),
                Seed(9, answered, team="billing"),
                Seed(3, answered, team="billing"),
                Seed(0, answered, team="support"),
            ],
        )
        await session.commit()
    yield Setup(commands, database, clock, Recorder())
    await state.close()
