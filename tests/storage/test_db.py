"""Database: health checks that fail fast and clearly, SQLite set up for concurrent use."""

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import db as db_module
from storage.clock import utcnow
from storage.db import Database
from storage.errors import DatabaseUnavailable, StorageError, mask_url
from storage.respondents import find_respondent, upsert_respondent
from tests.storage.backends import backend_pid, terminate


class TestDatabase:
    async def test_ping_succeeds_on_a_running_database(self, database: Database) -> None:
        await database.ping()

    async def test_dialect_names_the_backend(self, database: Database) -> None:
        assert database.dialect in {"sqlite", "postgresql"}
        assert database.url.startswith(database.dialect)

    async def test_a_reader_sees_what_was_committed_outside_any_transaction(
        self, database: Database
    ) -> None:
        async with database.session() as session:
            await upsert_respondent(session, "telegram", "42", language="pl")
            await session.commit()

        async with database.reader() as session:
            found = await find_respondent(session, "telegram", "42")
            assert found is not None and found.language == "pl"


async def test_a_postgres_reader_runs_each_statement_by_itself(
    postgres_database: Database,
) -> None:
    async def state_after_a_statement(session: AsyncSession) -> str:
        conn = await session.connection()
        pid = await conn.scalar(text("SELECT pg_backend_pid()"))
        async with postgres_database.autocommit() as other:
            query = text("SELECT state FROM pg_stat_activity WHERE pid = :pid")
            return str(await other.scalar(query, {"pid": pid}))

    async with postgres_database.reader() as session:
        assert await state_after_a_statement(session) == "idle"  # no BEGIN, no ROLLBACK
    async with postgres_database.session() as session:
        assert await state_after_a_statement(session) == "idle in transaction"


async def test_ping_on_an_unreachable_postgres_names_it_and_hides_the_password() -> None:
    database = Database("postgresql+asyncpg://cx:s3cret@127.0.0.1:1/cx")
    started = time.monotonic()
    try:
        with pytest.raises(DatabaseUnavailable) as caught:
            await database.ping()
    finally:
        await database.dispose()
    assert time.monotonic() - started < 10
    message = str(caught.value)
    assert "PostgreSQL at postgresql+asyncpg://cx:***@127.0.0.1:1/cx" in message
    assert "s3cret" not in message
    assert "pg_ctlcluster" in message
    assert isinstance(caught.value, StorageError)


async def test_ping_on_a_missing_postgres_database_is_unavailable(postgres_url: str) -> None:
    database = Database(postgres_url.rsplit("/", 1)[0] + "/cxbot_no_such_database")
    try:
        with pytest.raises(DatabaseUnavailable, match="cxbot_no_such_database"):
            await database.ping()
    finally:
        await database.dispose()


async def test_sqlite_in_a_folder_that_cannot_exist_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(DatabaseUnavailable, match=r"SQLite database at .* cannot be opened"):
        Database(f"sqlite+aiosqlite:///{tmp_path}/file/cxbot.db")


async def test_sqlite_file_that_is_not_a_database_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "cxbot.db").write_text("not a database, " * 100)
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/cxbot.db")
    try:
        with pytest.raises(DatabaseUnavailable, match="SQLite database at"):
            await database.ping()
    finally:
        await database.dispose()


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_database: Database) -> None:
    async with sqlite_database.engine.connect() as conn:
        assert (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar() == "wal"
        assert (await conn.exec_driver_sql("PRAGMA foreign_keys")).scalar() == 1


async def test_sqlite_creates_the_folder_of_its_file(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/a/b/cxbot.db")
    try:
        await database.ping()
    finally:
        await database.dispose()
    assert (tmp_path / "a" / "b" / "cxbot.db").is_file()


async def test_in_memory_sqlite_works(tmp_path: Path) -> None:
    database = Database("sqlite+aiosqlite://")
    try:
        async with database.engine.connect() as conn:
            assert (await conn.execute(text("SELECT 1"))).scalar() == 1
    finally:
        await database.dispose()


def test_mask_url_hides_only_the_password() -> None:
    assert mask_url("redis://:pw@host:6379/0") == "redis://:***@host:6379/0"
    assert mask_url("postgresql+asyncpg://u:p%40ss@h/db") == "postgresql+asyncpg://u:***@h/db"
    assert mask_url("redis://127.0.0.1:6379/15") == "redis://127.0.0.1:6379/15"
    assert mask_url("sqlite+aiosqlite:///cxbot.db") == "sqlite+aiosqlite:///cxbot.db"
    assert "pw" not in repr(Database("postgresql+asyncpg://u:pw@h/db"))


def test_utcnow_is_naive_utc() -> None:
    now = utcnow()
    assert now.tzinfo is None
    assert abs(now - datetime.now(UTC).replace(tzinfo=None)) < timedelta(seconds=5)


async def test_a_postgres_connection_closed_while_idle_is_replaced_before_use(
    postgres_database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_module, "PING_IDLE_S", 0.0)  # every reuse counts as idle
    first = await backend_pid(postgres_database)
    await terminate(postgres_database, first)  # PostgreSQL restarted, a timeout on the way

    assert await backend_pid(postgres_database) != first  # no error: pinged, reconnected


async def test_a_postgres_connection_the_server_hung_up_on_is_replaced_however_recent(
    postgres_database: Database,
) -> None:
    async with postgres_database.engine.connect() as conn:
        first = int(await conn.scalar(text("SELECT pg_backend_pid()")) or 0)
        driver = (await conn.get_raw_connection()).driver_connection
    await terminate(postgres_database, first)  # as a restart does to every client
    deadline = time.monotonic() + 10
    while not driver.is_closed():  # the server's word takes a moment to arrive
        assert time.monotonic() < deadline, "asyncpg never saw the connection close"
        await asyncio.sleep(0.01)

    # Reused at once, it is not pinged (that cost three round trips on every checkout), but
    # asyncpg knows it closed: replaced before use, no error.
    assert await backend_pid(postgres_database) != first


async def test_a_postgres_connection_broken_in_use_fails_that_operation_only(
    postgres_database: Database,
) -> None:
    async with postgres_database.engine.connect() as conn:
        first = int(await conn.scalar(text("SELECT pg_backend_pid()")) or 0)
        await terminate(postgres_database, first)
        with pytest.raises(DBAPIError) as caught:
            await conn.scalar(text("SELECT 1"))
    assert caught.value.connection_invalidated
    assert await backend_pid(postgres_database) != first
