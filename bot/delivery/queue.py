"""The job queue: procrastinate on PostgreSQL, or in this process's memory beside SQLite.

On PostgreSQL the jobs outlive every process and any number of workers share them; the
tables live in their own schema (``procrastinate``) of cxbot's database, created on first
start. Procrastinate has no SQLite backend: there its in-memory connector runs the queue in
the one process, and `JobQueue` owners re-defer from SQL on start (the invitations table is
the source of truth), so a restart loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import select
import time
import weakref
from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from functools import partial
from typing import Any

import psycopg
from procrastinate import App, PsycopgConnector
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import JobDeferrer
from procrastinate.schema import SchemaManager
from procrastinate.testing import InMemoryConnector
from psycopg import sql
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import make_url

log = logging.getLogger(__name__)

QUEUE = "cxbot"
SCHEMA = "procrastinate"
# Any fixed 64-bit number: concurrent first starts create the schema one after the other.
SCHEMA_LOCK_KEY = 0x63787175  # "cxqu"
# Priorities order the queue by due time (procrastinate runs the highest first, then the
# oldest id): minus the seconds since this moment fits PostgreSQL's integer until 2088.
PRIORITY_EPOCH = datetime(2020, 1, 1)
# Extra connections beyond one per concurrent job: fetching, listening, heartbeats.
POOL_SPARE = 4
# A pooled connection handed out this recently is handed out again without a check; one
# idle for longer is checked first (one round trip), as procrastinate's pool checks every one.
CHECK_IDLE_S = 5.0
# How long the check of a connection PostgreSQL hung up on waits to learn whether it is back.
PROBE_S = 5.0
# procrastinate's fetch asks, for each candidate job, whether an earlier job holds its lock;
# its indexes cannot answer that for waiting jobs (procrastinate issues #393, #1242), and on a
# table PostgreSQL has not analysed since it grew, 10,000 waiting jobs took ~1.4 s a fetch
# here. This partial index makes it ~20 ms, and statistics taken after the growth ~1 ms
# (see refresh_statistics). Ours, not procrastinate's: created (if missing) on every open.
LOCK_INDEX = "cxbot_jobs_lock_waiting"
# Jobs waiting for their time, by when: the workers ask it for the next one due (see
# JobQueue.next_due). Ours too, and made as the one above.
DUE_INDEX = "cxbot_jobs_todo_due"
# The queue's statistics are renewed when its live jobs outgrow what they say by this much.
STATISTICS_SLACK_ROWS = 500
STATISTICS_GROWTH = 2.0


class Kind(StrEnum):
    """The jobs kept per invitation; the value is the procrastinate task's name."""

    SEND = "cxbot.send"
    REMIND = "cxbot.remind"
    EXPIRE = "cxbot.expire"


def is_postgres(database_url: str) -> bool:
    return make_url(database_url).get_backend_name() == "postgresql"


def postgres_conninfo(database_url: str) -> str:
    """DATABASE_URL as libpq understands it: no `+asyncpg`, asyncpg's `ssl` as `sslmode`."""
    url = make_url(database_url).set(drivername="postgresql")
    query = dict(url.query)
    if "ssl" in query and "sslmode" not in query:
        query["sslmode"] = query.pop("ssl")
    return url.set(query=query).render_as_string(hide_password=False)


def aware(at: datetime) -> datetime:
    """Our naive UTC as the aware datetime procrastinate expects."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def priority_for(due: datetime) -> int:
    """Earlier due, higher priority: the queue is first-due, first-served."""
    naive = due.astimezone(UTC).replace(tzinfo=None) if due.tzinfo else due
    return -int((naive - PRIORITY_EPOCH).total_seconds())


def lock_for(kind: Kind, invitation_id: int) -> str:
    """One waiting job per invitation and kind; one running at a time."""
    return f"{kind.value}:{invitation_id}"


async def install_schema(conninfo: str) -> bool:
    """Create procrastinate's schema unless it is there, and our index; True if it was created.

    Runs in one transaction under an advisory lock, so that processes starting together
    do not race. Later procrastinate 3.x releases ship migrations to apply on top; the index
    is not part of procrastinate's schema, so it is (re)made here, on every start, whatever
    procrastinate's schema management did meanwhile (not in an Alembic migration: the queue's
    tables do not exist yet when `cxbot migrate` runs on a fresh database).
    """
    async with await psycopg.AsyncConnection.connect(conninfo) as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))
        await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCHEMA)))
        await conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(SCHEMA)))
        cursor = await conn.execute("SELECT to_regclass('procrastinate_jobs')")
        found = await cursor.fetchone()
        created = found is None or found[0] is None
        if created:
            await conn.execute(SchemaManager.get_schema())
            log.info("created the job queue's tables in schema %s", SCHEMA)
        await conn.execute(
            sql.SQL(
                "CREATE INDEX IF NOT EXISTS {} ON procrastinate_jobs (lock) "
                "WHERE status IN ('todo', 'doing')"
            ).format(sql.Identifier(LOCK_INDEX))
        )
        await conn.execute(
            sql.SQL(
                "CREATE INDEX IF NOT EXISTS {} ON procrastinate_jobs (queue_name, scheduled_at) "
                "WHERE status = 'todo'"
            ).format(sql.Identifier(DUE_INDEX))
        )
        return created


def statistics_stale(live: int, counted: float) -> bool:
    """Whether the planner's row count (``counted``; -1: never analysed) is far below ``live``."""
    return live > STATISTICS_SLACK_ROWS + STATISTICS_GROWTH * max(counted, 0.0)


async def refresh_statistics(conn: psycopg.AsyncConnection[Any]) -> bool:
    """ANALYZE the jobs table if it has outgrown its statistics; True if it did.

    A backlog queued all at once (a bulk close, a restart after an outage) leaves the table
    with statistics from when it was nearly empty, and procrastinate's fetch then picks plans
    that read every waiting job for each one it takes (~1.4 s a fetch at 10,000; autovacuum,
    when it is on at all, comes by only every minute or so). One worker at a time analyses.
    """
    async with conn.transaction():
        cursor = await conn.execute(
            "SELECT s.n_live_tup, c.reltuples, pg_try_advisory_xact_lock(%s) "
            "FROM pg_class c JOIN pg_stat_user_tables s ON s.relid = c.oid "
            "WHERE c.oid = to_regclass(%s)",
            (SCHEMA_LOCK_KEY + 1, f"{SCHEMA}.procrastinate_jobs"),
        )
        row = await cursor.fetchone()
        if row is None or not row[2] or not statistics_stale(int(row[0]), float(row[1])):
            return False
        await conn.execute(sql.SQL("ANALYZE {}.procrastinate_jobs").format(sql.Identifier(SCHEMA)))
    log.info("analysed the job queue's table: %s live jobs, statistics said %.0f", row[0], row[1])
    return True


class IdleCheck:
    """The pool's check of a connection before handing it out, skipped for one in steady use
    unless the server spoke to it while it waited in the pool.

    procrastinate's pool checks every connection it hands out: a round trip for each fetch,
    deferral and finished job, a fifth of a send's. An idle connection has nothing to read; one
    whose socket has was most likely hung up on (PostgreSQL restarting sends each client
    "terminating connection due to administrator command" and closes): see `_hung_up_on`.
    Looking costs a poll of the socket, no round trip. A connection cut without a word (a
    dropped network path) still fails the one query that finds it broken, and the pool drops it.
    """

    def __init__(self, conninfo: str, kwargs: dict[str, Any] | None = None) -> None:
        self.pool: AsyncConnectionPool | None = None  # whose connections these are
        self._connect = partial(psycopg.AsyncConnection.connect, conninfo, **(kwargs or {}))
        self._handed_out: weakref.WeakKeyDictionary[psycopg.AsyncConnection[Any], float] = (
            weakref.WeakKeyDictionary()
        )

    async def __call__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        now = time.monotonic()
        last = self._handed_out.get(conn)
        self._handed_out[conn] = now
        if _spoken_to(conn):
            await self._hung_up_on(conn)
        elif last is None or now - last >= CHECK_IDLE_S:
            await AsyncConnectionPool.check_connection(conn)

    async def _hung_up_on(self, conn: psycopg.AsyncConnection[Any]) -> None:
        try:
            await AsyncConnectionPool.check_connection(conn)
            return  # it had only a notice to read
        except psycopg.Error:
            if not await self._server_answers():
                # Still away: handed out as it is, so its user fails now, as on any other
                # connection from before (the worker stops, a request gets its 503), instead
                # of waiting for the pool's reconnection for up to its timeout (30 s).
                return
        # Back (the request right after a restart). A restart hangs up on every client at
        # once: the pool's other idle connections are checked now in one sweep (the broken
        # replaced), not each by a checkout it fails, as psycopg's pool waits 1 s, 2 s, 4 s...
        # after each failed check. Then the pool hands out another connection.
        if self.pool is not None:
            await self.pool.check()
        raise psycopg.OperationalError("PostgreSQL hung up on this connection")

    async def _server_answers(self) -> bool:
        try:
            probe = await asyncio.wait_for(self._connect(), PROBE_S)
        except (psycopg.Error, OSError, TimeoutError):
            return False
        await probe.close()
        return True


def _spoken_to(conn: psycopg.AsyncConnection[Any]) -> bool:
    """Whether the connection's socket has something to read (or is closed) before any query."""
    if conn.closed:
        return True
    poller = select.poll()  # not select.select: a busy process has sockets past its 1024
    poller.register(conn.fileno(), select.POLLIN)
    return bool(poller.poll(0))


def checked_when_idle(**kwargs: Any) -> AsyncConnectionPool:
    """procrastinate's pool, with IdleCheck instead of its check of every connection."""
    check = IdleCheck(kwargs["conninfo"], kwargs.get("kwargs"))
    check.pool = AsyncConnectionPool(**{**kwargs, "check": check})
    return check.pool


class JobQueue:
    """cxbot's procrastinate App, and deferring jobs on it by invitation."""

    def __init__(self, database_url: str, *, concurrency: int) -> None:
        self.persistent = is_postgres(database_url)
        self._conninfo = postgres_conninfo(database_url) if self.persistent else None
        if self._conninfo is not None:
            connector: PsycopgConnector | InMemoryConnector = PsycopgConnector(
                conninfo=self._conninfo,
                min_size=1,
                max_size=concurrency + POOL_SPARE,
                kwargs={"options": f"-c search_path={SCHEMA}"},
                pool_factory=checked_when_idle,
            )
        else:
            connector = InMemoryConnector()
        self.app = App(connector=connector)
        self._open = False

    async def open(self) -> None:
        """Connect (and create the schema on first use of a PostgreSQL database)."""
        if self._open:
            return
        if self._conninfo is not None:
            await install_schema(self._conninfo)
        await self.app.open_async()
        self._open = True

    async def refresh_statistics(self) -> bool:
        """See refresh_statistics; False without PostgreSQL (nothing to analyse)."""
        connector = self.app.connector
        if not isinstance(connector, PsycopgConnector):
            return False
        async with connector.pool.connection() as conn:
            return await refresh_statistics(conn)

    async def next_due(self) -> float | None:
        """Seconds until the next job waiting for its time falls due, by the clock
        procrastinate's fetch reads (PostgreSQL's, or this process's); None: none waits."""
        connector = self.app.connector
        if isinstance(connector, InMemoryConnector):
            now = datetime.now(UTC)
            later = [
                job["scheduled_at"]
                for job in connector.jobs.values()
                if job["queue_name"] == QUEUE
                and job["status"] == "todo"
                and job["scheduled_at"] is not None
                and job["scheduled_at"] > now
            ]
            return (min(later) - now).total_seconds() if later else None
        row = await connector.execute_query_one_async(
            "SELECT extract(epoch FROM min(scheduled_at) - now())::float AS seconds "
            "FROM procrastinate_jobs WHERE queue_name = %(queue)s AND status = 'todo' "
            "AND scheduled_at > now()",
            queue=QUEUE,
        )
        seconds = row["seconds"]
        return float(seconds) if seconds is not None else None

    async def close(self) -> None:
        if self._open:
            self._open = False
            await self.app.close_async()

    async def defer(
        self,
        kind: Kind,
        invitation_id: int,
        at: datetime,
        *,
        due: datetime | None = None,
        **extra: int,
    ) -> bool:
        """Queue one `kind` job for the invitation at `at` (naive UTC); False if one waits.

        ``due`` (default `at`) places the job in the first-due, first-served order: a retry
        keeps the place its invitation's due time gives it.
        """
        try:
            await self._deferrer(kind, invitation_id, at, due).defer_async(
                invitation_id=invitation_id, **extra
            )
        except AlreadyEnqueued:
            return False
        return True

    async def defer_all(self, invitation_id: int, jobs: Sequence[tuple[Kind, datetime]]) -> int:
        """Queue the invitation's jobs, (kind, at) each, in one round trip; how many were new.

        Jobs already waiting are left as they are, as by defer().
        """
        if len(jobs) < 2:
            return sum([await self.defer(kind, invitation_id, at) for kind, at in jobs])
        made = [
            self._deferrer(kind, invitation_id, at, None).make_new_job(invitation_id=invitation_id)
            for kind, at in jobs
        ]
        try:
            await self.app.job_manager.batch_defer_jobs_async(made)
        except AlreadyEnqueued:  # one waits already, and the batch went in as none: one by one
            return sum([await self.defer(kind, invitation_id, at) for kind, at in jobs])
        return len(made)

    def _deferrer(
        self, kind: Kind, invitation_id: int, at: datetime, due: datetime | None
    ) -> JobDeferrer:
        lock = lock_for(kind, invitation_id)
        return self.app.configure_task(
            kind.value,
            queue=QUEUE,
            lock=lock,
            queueing_lock=lock,
            schedule_at=aware(at),
            priority=priority_for(due or at),
        )
