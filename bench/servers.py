"""The benches' local servers: a database created and dropped, the fake Bot API on port 0."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from tests.bot.telegram.botapi import BotAPI


def sqlite_exists(path: str) -> bool:
    return Path(path).exists()


def remove_sqlite(path: str) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


async def ensure_database(url: str) -> bool:
    """Create the PostgreSQL database (or SQLite file) if missing; True if we created it."""
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        return bool(sa_url.database) and not sqlite_exists(sa_url.database or "")
    name = sa_url.database
    admin = create_async_engine(
        sa_url.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        async with admin.connect() as conn:
            found = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            )
            if found is None:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
                return True
            return False
    finally:
        await admin.dispose()


async def drop_database(url: str) -> None:
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        remove_sqlite(sa_url.database or "")
        return
    admin = create_async_engine(
        sa_url.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{sa_url.database}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def serve_botapi() -> tuple[BotAPI, web.AppRunner]:
    api = BotAPI()
    runner = web.AppRunner(api.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    api.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    return api, runner
