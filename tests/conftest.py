"""Shared fixtures: real PostgreSQL, SQLite and Redis, each test starting from empty.

Parallel runs (pytest-xdist's `-n`, or several people on one machine): every pytest process
gets its own PostgreSQL database and Redis key prefixes, and the few tests that hold many
PostgreSQL connections at once take turns machine-wide (`CONNECTION_HEAVY` below).

Loop scoping (pytest-asyncio, function-scoped loops): an AsyncEngine or Redis client belongs to
the loop that first used it, so every Database and state store here is created per test and
closed at teardown. Session-wide setup (the PostgreSQL database, the SQLite template) runs in
a throwaway thread with its own `asyncio.run`, so it works whatever loop is running.
"""

import asyncio
import fcntl
import os
import secrets
import shutil
import tempfile
import threading
from collections.abc import AsyncIterator, Coroutine, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

from storage.db import Database
from storage.errors import StorageError
from storage.state import BaseStateStore, MemoryStateStore, RedisStateStore

POSTGRES_URL = os.environ.get(
    "CXBOT_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("CXBOT_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")

T = TypeVar("T")

# Tests holding many PostgreSQL connections at once (the peak seen in pg_stat_activity for the
# run's database, subprocesses included). The server allows 100 in all; other tests hold 9 at
# most. These take turns through a file lock, across xdist workers and across pytest runs on
# this machine, so four workers stay near 30 + 3 x 9 rather than 30 + 32 + 20 + 20.
CONNECTION_HEAVY = {
    "tests/bot/telegram/test_burst.py::"
    "test_300_taps_and_150_comments_all_stored_with_redis_stopped_in_the_middle": 32,
    "tests/bot/delivery/test_workers.py::"
    "test_two_workers_deliver_each_invitation_once_through_429s_and_a_kill": 30,
    "tests/storage/test_invitations.py::TestCreateInvitation::"
    "test_twenty_concurrent_creations_make_one_row[postgresql]": 20,
    "tests/storage/test_respondents.py::TestRespondents::"
    "test_concurrent_first_contacts_make_one_row[postgresql]": 20,
    "tests/bot/triggers/test_events.py::"
    "test_the_same_event_ten_times_at_once_schedules_one_invitation[postgresql]": 16,
}
CONNECTION_HEAVY_LOCK = Path(tempfile.gettempdir()) / "cxbot-tests-connection-heavy.lock"


def run_in_thread(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run `coroutine` to completion on a fresh loop in another thread, from any context."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # handed back to the caller below
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="cxbot-test-setup")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    value: T = outcome["value"]
    return value


async def _first_unreachable_server() -> str | None:
    database = Database(POSTGRES_URL)
    redis = RedisStateStore(REDIS_URL)
    try:
        await database.ping()
        await redis.ping()
    except StorageError as exc:
        return str(exc)
    finally:
        await database.dispose()
        await redis.close()
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark CONNECTION_HEAVY's tests; a name there that its collected file lacks is an error."""
    files = {item.nodeid.split("::")[0] for item in items}
    found: set[str] = set()
    for item in items:
        if item.nodeid in CONNECTION_HEAVY:  # a parametrized test's PostgreSQL case only
            item.add_marker(pytest.mark.connection_heavy)
            found.add(item.nodeid)
    stale = {name for name in CONNECTION_HEAVY if name.split("::")[0] in files} - found
    if stale:
        raise pytest.UsageError(f"CONNECTION_HEAVY names tests that do not exist: {sorted(stale)}")


@pytest.fixture(autouse=True)
def _connection_heavy_tests_take_turns(request: pytest.FixtureRequest) -> Iterator[None]:
    """Hold the machine-wide lock through a CONNECTION_HEAVY test (autouse: set up first)."""
    if request.node.get_closest_marker("connection_heavy") is None:
        yield
        return
    with CONNECTION_HEAVY_LOCK.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes
        yield


def pytest_sessionstart(session: pytest.Session) -> None:
    """Stop the whole run, loudly, when PostgreSQL or Redis is not there (no skips)."""
    problem = run_in_thread(_first_unreachable_server())
    if problem is not None:
        pytest.exit(problem, returncode=3)


async def _admin(statement: str) -> None:
    engine = create_async_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def _migrate(url: str) -> None:
    database = Database(url)
    try:
        await database.upgrade()
    finally:
        await database.dispose()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A PostgreSQL database private to this pytest run, migrated to head.

    Created beside CXBOT_TEST_POSTGRES_URL's database and dropped at the end, so parallel runs
    (several developers or agents on one server) never truncate each other's tables.
    """
    name = f"cxbot_test_{os.getpid()}_{secrets.token_hex(3)}"
    run_in_thread(_admin(f'CREATE DATABASE "{name}"'))
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    try:
        run_in_thread(_migrate(url))
        yield url
    finally:
        run_in_thread(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis used by tests; isolate with a unique key prefix, never FLUSHDB."""
    return REDIS_URL


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file that each test copies instead of migrating again."""
    path = tmp_path_factory.mktemp("sqlite-template") / "cxbot.db"
    run_in_thread(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


@asynccontextmanager
async def _open_sqlite(template: Path, folder: Path) -> AsyncIterator[Database]:
    path = folder / "cxbot.db"
    shutil.copyfile(template, path)
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        yield database
    finally:
        await database.dispose()


@asynccontextmanager
async def _open_postgres(url: str) -> AsyncIterator[Database]:
    database = Database(url)
    try:
        tables = ", ".join(table.name for table in SQLModel.metadata.sorted_tables)
        async with database.engine.begin() as conn:
            # A connection leaked by an earlier test would make TRUNCATE wait forever.
            await conn.execute(text("SET LOCAL lock_timeout = '10s'"))
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        yield database
    finally:
        await database.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(
    request: pytest.FixtureRequest, sqlite_template: Path, postgres_url: str, tmp_path: Path
) -> AsyncIterator[Database]:
    """A migrated, empty Database on each backend; its engine lives for this test only."""
    if request.param == "sqlite":
        async with _open_sqlite(sqlite_template, tmp_path) as db:
            yield db
    else:
        async with _open_postgres(postgres_url) as db:
            yield db


@pytest.fixture
async def sqlite_database(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty SQLite Database in tmp_path."""
    async with _open_sqlite(sqlite_template, tmp_path) as db:
        yield db


@pytest.fixture
async def postgres_database(postgres_url: str) -> AsyncIterator[Database]:
    """The run's PostgreSQL Database, every table truncated and ids restarted."""
    async with _open_postgres(postgres_url) as db:
        yield db


@asynccontextmanager
async def _open_redis_store(url: str) -> AsyncIterator[RedisStateStore]:
    store = RedisStateStore(url, prefix=f"cxtest-{secrets.token_hex(5)}")
    try:
        yield store
    finally:
        keys = [name async for name in store.client.scan_iter(match=f"{store.prefix}:*")]
        if keys:
            await store.client.delete(*keys)
        await store.close()


@pytest.fixture(params=["memory", "redis"])
async def state_store(
    request: pytest.FixtureRequest, redis_url: str
) -> AsyncIterator[BaseStateStore]:
    """An empty state store of each kind; Redis keys get a unique prefix, deleted after."""
    if request.param == "memory":
        store = MemoryStateStore()
        yield store
        await store.close()
    else:
        async with _open_redis_store(redis_url) as redis_store:
            yield redis_store


@pytest.fixture
async def redis_state_store(redis_url: str) -> AsyncIterator[RedisStateStore]:
    """An empty RedisStateStore with a unique prefix, its keys deleted after the test."""
    async with _open_redis_store(redis_url) as store:
        yield store
