"""The Alembic migrations build exactly the schema the models describe, on both databases."""

import asyncio
import secrets
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool
from sqlmodel import SQLModel

import storage.tables  # noqa: F401  (registers the tables)
from storage.db import Database
from storage.migrate import MIGRATIONS, alembic_config, main

HEAD = "0008"


def _schema_diff(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, SQLModel.metadata))


async def schema_diff(database: Database) -> list[Any]:
    async with database.engine.connect() as conn:
        return await conn.run_sync(_schema_diff)


async def head_revisions(database: Database) -> list[str]:
    async with database.engine.connect() as conn:
        rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
        return [row[0] for row in rows]


class TestMigrations:
    async def test_upgraded_schema_matches_the_models(self, database: Database) -> None:
        assert await schema_diff(database) == []
        assert await head_revisions(database) == [HEAD]

    async def test_upgrading_twice_changes_nothing(self, database: Database) -> None:
        await database.upgrade()
        await database.upgrade()
        assert await schema_diff(database) == []
        assert await head_revisions(database) == [HEAD]


@asynccontextmanager
async def fresh_database(backend: str, postgres_url: str, folder: Path) -> AsyncIterator[str]:
    """The URL of a brand-new, unmigrated database, removed afterwards."""
    if backend == "sqlite":
        yield f"sqlite+aiosqlite:///{folder}/fresh.db"
        return
    name = f"cxbot_fresh_{secrets.token_hex(4)}"
    admin = create_async_engine(postgres_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
async def test_processes_upgrading_at_once_all_succeed(
    backend: str, postgres_url: str, tmp_path: Path
) -> None:
    async with fresh_database(backend, postgres_url, tmp_path) as url:
        databases = [Database(url) for _ in range(3)]
        try:
            await asyncio.gather(*(database.upgrade() for database in databases))
            assert await schema_diff(databases[0]) == []
            assert await head_revisions(databases[0]) == [HEAD]
        finally:
            for database in databases:
                await database.dispose()


async def test_upgrade_creates_a_fresh_sqlite_file_and_its_folder(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/new/folder/cxbot.db")
    try:
        await database.upgrade()
        assert await schema_diff(database) == []
    finally:
        await database.dispose()


def test_command_line_upgrades_a_database_of_its_own(tmp_path: Path) -> None:
    path = tmp_path / "cli.db"
    main(["--url", f"sqlite+aiosqlite:///{path}", "upgrade", "head"])
    with sqlite3.connect(path) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert {"respondents", "invitations", "answers", "alembic_version"} <= tables


def test_command_line_prints_sql_offline(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--url", "postgresql+asyncpg://postgres@nowhere/db", "upgrade", "head", "--sql"])
    sql = capsys.readouterr().out
    assert "CREATE TABLE invitations" in sql
    assert "CONSTRAINT uq_invitation_case_survey UNIQUE (case_id, survey_id)" in sql


def test_config_points_at_the_packaged_migrations() -> None:
    config = alembic_config("postgresql+asyncpg://user:p%40ss@host/db")
    assert config.get_main_option("script_location") == str(MIGRATIONS)
    assert config.get_main_option("sqlalchemy.url") == "postgresql+asyncpg://user:p%40ss@host/db"
    assert (MIGRATIONS / "versions" / "0001_initial.py").is_file()


def test_the_rollback_recipe_runs_without_a_warning(tmp_path: Path) -> None:
    # README, *Upgrades and rollbacks*: `python -m storage.migrate --url "$DATABASE_URL" history`.
    url = f"sqlite+aiosqlite:///{tmp_path / 'cx.db'}"
    done = subprocess.run(
        [sys.executable, "-m", "storage.migrate", "--url", url, "history"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "0001, Initial schema" in done.stdout
    assert done.stderr == ""
