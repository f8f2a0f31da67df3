"""Alembic, configured in code: upgrade an engine, or run `python -m storage.migrate ...`."""

import os
import sys
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import CommandLine, Config
from sqlalchemy import Connection, text
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed 64-bit number: PostgreSQL serialises concurrent upgrades on this advisory lock.
UPGRADE_LOCK_KEY = 0x63786275  # "cxbu"


def alembic_config(url: str | None = None) -> Config:
    """An Alembic Config pointing at `storage/migrations`, and at `url` when given."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("path_separator", "os")
    if url is not None:
        # ConfigParser interpolates `%`, which URL-encoded passwords contain.
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _upgrade_on(connection: Connection, config: Config) -> None:
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def upgrade(engine: AsyncEngine) -> None:
    """Migrate the database behind `engine` to the newest revision; a no-op when it is there.

    Concurrent upgrades (two processes starting at once) run one after the other: the second
    waits for a lock, then finds the schema at head.
    """
    config = alembic_config()
    async with engine.connect() as conn:
        is_sqlite = conn.dialect.name == "sqlite"
        if is_sqlite:
            # Batch migrations rebuild tables; with foreign keys on, dropping a referenced
            # table fails. The pragma is ignored inside a transaction, so set it before.
            await conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await conn.commit()
        try:
            async with conn.begin():
                if is_sqlite:
                    # Take the write lock now, and make the DDL transactional: the sqlite3
                    # module would otherwise run it outside any transaction.
                    await conn.exec_driver_sql("BEGIN IMMEDIATE")
                else:
                    await conn.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPGRADE_LOCK_KEY}
                    )
                await conn.run_sync(_upgrade_on, config)
        finally:
            if is_sqlite:
                await conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                await conn.commit()


def main(argv: Sequence[str] | None = None) -> None:
    """Alembic's command line on our migrations, e.g. `revision --autogenerate -m "msg"`.

    The database is `--url`, else `$CXBOT_DATABASE_URL`, else the default SQLite file.
    """
    from storage.db import DEFAULT_DATABASE_URL

    cli = CommandLine(prog="python -m storage.migrate")
    cli.parser.add_argument("--url", help="database URL (default: $CXBOT_DATABASE_URL)")
    options = cli.parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not hasattr(options, "cmd"):
        cli.parser.error("too few arguments")
    url = options.url or os.environ.get("CXBOT_DATABASE_URL") or DEFAULT_DATABASE_URL
    config = alembic_config(url)
    config.cmd_opts = options
    cli.run_cmd(config, options)


if __name__ == "__main__":
    main()
