"""The Database: one async engine, its sessions, health check, migrations and upserts."""

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import ClauseElement, Dialect, Executable, Table, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.dml import Insert
from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.errors import DatabaseUnavailable

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///cxbot.db"

# SQLite waits this long for another writer's lock; asyncpg gives up connecting after this.
SQLITE_BUSY_TIMEOUT_S = 30
POSTGRES_CONNECT_TIMEOUT_S = 5
# Connections kept open, and how many more a burst may open. SQLAlchemy's default (5 + 10)
# closes every connection beyond the fifth as soon as it is returned, so a bot answering 20
# customers at once reconnected on about one transaction in ten (PostgreSQL: TLS probe,
# backend start, statement cache lost; SQLite: a new thread and the pragmas).
POOL_SIZE = 20
POOL_MAX_OVERFLOW = 10
# A PostgreSQL connection unused this long is pinged before it is handed out (a restart of
# PostgreSQL, or an idle timeout on the way, may have closed it meanwhile), and if the ping
# fails every pooled connection is replaced. One in steady use is not: SQLAlchemy's
# pool_pre_ping was three round trips (BEGIN, a statement, ROLLBACK) on every checkout, 7% of
# the answer path's CPU. A connection that breaks while in steady use fails the one operation
# that finds it broken; SQLAlchemy then replaces every connection opened before it.
# Whatever its idleness, a connection whose driver already knows it closed (asyncpg reads its
# socket all the time, so it sees the server hang up at once: a restart, a fast shutdown, an
# administrator's pg_terminate_backend) replaces every older one before it is handed out, at
# no round trip: a request right after a restart does not meet the connections from before.
PING_IDLE_S = 5.0
IDLE_SINCE = "cxbot_idle_since"


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    # WAL lets readers run beside the one writer; SQLite leaves foreign keys off by default.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _idle_since(_dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
    record.info[IDLE_SINCE] = time.monotonic()


def _known_closed(dbapi_connection: DBAPIConnection) -> bool:
    """Whether the driver under SQLAlchemy's adapter has seen the connection close (asyncpg's
    `is_closed()`: no I/O). False when the driver cannot tell."""
    driver = getattr(dbapi_connection, "_connection", None)
    is_closed = getattr(driver, "is_closed", None)
    return callable(is_closed) and bool(is_closed())


def _ping_if_idle(dialect: Dialect) -> Any:
    def checkout(
        dbapi_connection: DBAPIConnection,
        record: ConnectionPoolEntry,
        _proxy: PoolProxiedConnection,
    ) -> None:
        if _known_closed(dbapi_connection):
            raise InvalidatePoolError("the server closed this connection")
        since = record.info.get(IDLE_SINCE)
        if since is None or time.monotonic() - since < PING_IDLE_S:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the pool reconnects (or raises the connect error)
            raise InvalidatePoolError(f"idle connection failed its ping: {exc}") from exc

    return checkout


class Database:
    """One async engine for SQLite or PostgreSQL and the sessions that use it.

    Sessions keep their objects readable after commit (`expire_on_commit=False`).
    """

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        sa_url = make_url(url)
        connect_args: dict[str, Any] = {}
        engine_args: dict[str, Any] = {}
        if sa_url.get_backend_name() == "sqlite":
            connect_args["timeout"] = SQLITE_BUSY_TIMEOUT_S
            database = sa_url.database or ""
            if database and database != ":memory:" and not database.startswith("file:"):
                folder = Path(database).parent
                try:
                    folder.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise DatabaseUnavailable(url, f"cannot create {folder}: {exc}") from exc
                # (an in-memory database has a single static connection, no pool to size)
                engine_args.update(pool_size=POOL_SIZE, max_overflow=POOL_MAX_OVERFLOW)
        else:
            connect_args["timeout"] = POSTGRES_CONNECT_TIMEOUT_S
            engine_args.update(pool_size=POOL_SIZE, max_overflow=POOL_MAX_OVERFLOW)
        self.engine: AsyncEngine = create_async_engine(
            url, echo=echo, connect_args=connect_args, **engine_args
        )
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
        else:
            # A long-running bot outlives PostgreSQL restarts: see PING_IDLE_S.
            event.listen(self.engine.sync_engine, "checkin", _idle_since)
            dialect = self.engine.sync_engine.dialect
            event.listen(self.engine.sync_engine, "checkout", _ping_if_idle(dialect))
        self._sessions = async_sessionmaker(
            self.engine, class_=AsyncSession, expire_on_commit=False
        )
        # The same pool; only the connections handed out by autocommit() skip BEGIN/COMMIT.
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._readers = async_sessionmaker(
            self._autocommit, class_=AsyncSession, expire_on_commit=False
        )
        self._compiled: dict[Executable, _DriverStatement] = {}

    @property
    def dialect(self) -> str:
        """`"sqlite"` or `"postgresql"`."""
        return self.engine.dialect.name

    def session(self) -> AsyncSession:
        """A new session; use as `async with db.session() as session:` and commit yourself."""
        return self._sessions()

    def reader(self) -> AsyncSession:
        """A session for reads that need not see one snapshot: each statement runs by itself
        (no BEGIN, no ROLLBACK: on PostgreSQL one round trip instead of three). Write nothing
        in it. `async with db.reader() as session:`."""
        return self._readers()

    def autocommit(self) -> AsyncConnection:
        """A connection on which each statement commits by itself (no BEGIN, no COMMIT):
        for a unit of work that is one statement. `async with db.autocommit() as conn:`."""
        return self._autocommit.connect()

    async def run_idempotent(
        self, statement: Executable, params: Mapping[str, object]
    ) -> tuple[Any, ...] | None:
        """Run one statement by itself (autocommit); its first row, or None. For a statement
        built once and run often that may safely run twice: idempotent, as an INSERT ... ON
        CONFLICT DO NOTHING or an UPDATE conditional on the row's values are.

        On PostgreSQL it goes to asyncpg straight, on a connection of the pool: SQLAlchemy's
        execution layer (its context, cursor adapter and result objects) cost more CPU than
        the round trip itself, 7-11% of an answer's in bench/answers.py. Values go to asyncpg
        as given, without SQLAlchemy's bind processing: integers, text and naive timestamps,
        which asyncpg takes as they are. If asyncpg raises, a connection it found broken is
        invalidated and the statement runs again the ordinary way, which raises SQLAlchemy's
        own error (and replaces broken connections) as any statement does, or succeeds on a
        fresh connection. Elsewhere it runs the ordinary way only.
        """
        dialect = self.engine.dialect
        if dialect.name == "postgresql":
            compiled = self._compiled.get(statement)
            if compiled is None:
                compiled = self._compiled[statement] = _DriverStatement.of(statement, dialect)
            async with self.engine.connect() as conn:
                raw = await conn.get_raw_connection()
                driver = raw.driver_connection
                assert driver is not None
                try:
                    found = await driver.fetchrow(compiled.sql, *compiled.values(params))
                except Exception as error:
                    if driver.is_closed():
                        await conn.invalidate(error)
                else:
                    return tuple(found) if found is not None else None
        async with self.autocommit() as conn:
            row = (await conn.execute(statement, params)).first()
        return tuple(row) if row is not None else None

    async def ping(self) -> None:
        """Run `SELECT 1`; raise DatabaseUnavailable if the database cannot be reached."""
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # any failure here means "unavailable", with its cause
            raise DatabaseUnavailable(self.url, f"{type(exc).__name__}: {exc}") from exc

    async def upgrade(self) -> None:
        """Run the Alembic migrations up to head on this engine."""
        # Imported here, not with the package: `python -m storage.migrate` (the README's rollback
        # recipe) would otherwise find its module already imported and warn about it.
        from storage import migrate

        await migrate.upgrade(self.engine)

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({make_url(self.url).render_as_string(hide_password=True)!r})"


@dataclass(frozen=True)
class _DriverStatement:
    """A Core statement compiled once for asyncpg: its SQL, and how to lay out a call's
    named values as the positional ones asyncpg takes."""

    sql: str
    order: tuple[str, ...]
    fixed: dict[str, object]  # the values compiled into the statement (its literals)

    @classmethod
    def of(cls, statement: Executable, dialect: Dialect) -> "_DriverStatement":
        assert isinstance(statement, ClauseElement)
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        order = tuple(compiled.positiontup or ())
        given = {name for name in order if compiled.binds[name].required}
        fixed = compiled.construct_params(dict.fromkeys(given))
        return cls(compiled.string, order, {k: v for k, v in fixed.items() if k not in given})

    def values(self, params: Mapping[str, object]) -> list[object]:
        return [self.fixed[name] if name in self.fixed else params[name] for name in self.order]


def insert_ignoring_conflicts_statement(
    dialect: str, table: Table, conflict_columns: Sequence[str]
) -> Insert:
    """`INSERT ... ON CONFLICT (conflict_columns) DO NOTHING` without values: build it once and
    execute it with each row as parameters."""
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    return insert.on_conflict_do_nothing(index_elements=list(conflict_columns))


def insert_ignoring_conflicts(
    session: AsyncSession,
    table: type[SQLModel],
    values: dict[str, Any],
    conflict_columns: Sequence[str],
) -> Insert:
    """`INSERT ... ON CONFLICT (conflict_columns) DO NOTHING` in the session's dialect."""
    if session.get_bind().dialect.name == "postgresql":
        return (
            postgresql.insert(table)
            .values(values)
            .on_conflict_do_nothing(index_elements=list(conflict_columns))
        )
    return (
        sqlite.insert(table)
        .values(values)
        .on_conflict_do_nothing(index_elements=list(conflict_columns))
    )
