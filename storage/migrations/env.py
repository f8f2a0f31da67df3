"""Alembic environment: migrate a shared connection, or open one from `sqlalchemy.url`."""

import asyncio

from alembic import context
from sqlalchemy import Connection, pool
from sqlalchemy.ext.asyncio import create_async_engine
from sqlmodel import SQLModel

import storage.tables  # noqa: F401  (registers every table on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata


def include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Autogenerate looks at our tables only, not the job queue's (procrastinate_*).

    The queue keeps its tables in a schema of its own (bot/delivery/queue.py); this also
    covers a database where someone installed them in the default schema.
    """
    return not (type_ == "table" and (name or "").startswith("procrastinate_"))


def run_migrations_offline() -> None:
    """Emit SQL to stdout (`--sql`) instead of touching a database."""
    url = config.get_main_option("sqlalchemy.url")
    context.configure(
        url=url,
        target_metadata=target_metadata,
        include_object=include_object,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=bool(url and url.startswith("sqlite")),
    )
    with context.begin_transaction():
        context.run_migrations()


def do_run_migrations(connection: Connection) -> None:
    """Run the migrations on one synchronous connection."""
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=include_object,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations(url: str) -> None:
    """Open an engine of our own (the alembic command line), migrate, close it."""
    engine = create_async_engine(url, poolclass=pool.NullPool)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(do_run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
elif (shared := config.attributes.get("connection")) is not None:
    # Database.upgrade() hands us its connection, already inside a transaction.
    do_run_migrations(shared)
else:
    asyncio.run(run_async_migrations(config.get_main_option("sqlalchemy.url") or ""))
