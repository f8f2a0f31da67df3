"""PostgreSQL backends behind a Database's pool: which one serves it, and ending one (as a
restart of PostgreSQL, or a timeout on the way, would)."""

from sqlalchemy import text

from storage.db import Database


async def backend_pid(database: Database) -> int:
    """The backend of the connection the pool hands out next (its only one, in a fresh test)."""
    async with database.engine.connect() as conn:
        return int(await conn.scalar(text("SELECT pg_backend_pid()")) or 0)


async def terminate(database: Database, pid: int) -> None:
    other = Database(database.url)
    try:
        async with other.engine.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await other.dispose()
