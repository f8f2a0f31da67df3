"""Delivery at scale: `cxbot worker` processes sending a burst through the shared rate limit.

Not a test. Run with PostgreSQL and Redis up, from the repository with the venv active::

    python bench/delivery.py
    python bench/delivery.py --count 10000 --rate 30/second
    python bench/delivery.py --count 10000 --answering 2

N invitations (one per chat) are stored, all due at one moment a little ahead (or spread over
--spread seconds from it), and their sends queued before it; W worker processes, started
before, send them to a fake Bot API in a process of its own (bench/botapi_process.py; --server
inline: in this one, as before), which answers 429 with retry_after above --server-limit
messages (sent or edited) in any one second. With --answering R, R customers a second tap a
score and comment while the backlog goes out, through a `cxbot run` polling that server
(bench/answering.py). Printed: the achieved send rate from the due moment to the last receipt,
as a fraction of the configured limit; the lag from due time to the server's receipt, and the
lag beyond what the limit forces (the i-th message counted, in the order received, cannot
arrive before the i-th moment the limit allows given when each could go: invitations' due
times, replies' updates); messages lost (never delivered) and duplicated (a chat with more than
one invitation); the 429s seen; with --answering, the replies' latency and 429s.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import math
import os
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

# Run as `python bench/delivery.py` from the repository: the fake Bot API lives in tests/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import limits
from answering import Customers, answering_bot  # bench/answering.py
from botapi_process import RemoteBotAPI, botapi_process  # bench/botapi_process.py
from delivery_figures import (  # bench/delivery_figures.py
    WAITING,
    Figures,
    measure,
    report,
    write_timeline,
)
from servers import drop_database, ensure_database, serve_botapi  # bench/servers.py
from sqlalchemy import func, text
from sqlmodel import SQLModel, col, select

from storage.clock import utcnow
from storage.db import Database
from storage.tables import Invitation
from tests.bot.delivery.fleet import (
    Fleet,
    WorkerSetup,
    delete_redis_keys,
    queue_sends,
    seed_invitations,
)
from tests.bot.delivery.queue import empty_job_queue
from tests.bot.telegram.botapi import BotAPI, Call

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/cxbot_bench_delivery"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
BASE_CHAT = 7_000_000
# Give up waiting this long beyond twice the time the limit itself needs (a loaded machine
# sends at a fraction of the limit).
SLACK_S = 120.0
# The invitations fall due this long after they start being stored, plus a share per
# invitation: storing and queueing 10,000 takes ~20 s on a loaded 2-core machine.
LEAD_S = 3.0
LEAD_PER_INVITATION_S = 0.004


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", "--invitations", dest="invitations", type=int, default=2000)
    parser.add_argument("--workers", type=int, default=2, help="cxbot worker processes")
    parser.add_argument("--concurrency", type=int, default=10, help="jobs per worker")
    parser.add_argument("--rate", default="30/second", help="CXBOT_TELEGRAM_RATE")
    parser.add_argument(
        "--server-limit",
        type=int,
        help="the fake Bot API's sendMessage per second before 429 (default: the rate's)",
    )
    parser.add_argument("--retry-after", type=int, default=1, help="the 429s' retry_after")
    parser.add_argument(
        "--spread", type=float, default=0.0, help="due times spread over this many seconds"
    )
    parser.add_argument(
        "--poll", type=float, default=2.0, help="CXBOT_DELIVERY_POLL_SECONDS (default 2)"
    )
    parser.add_argument(
        "--answering",
        type=float,
        default=0.0,
        help="customers a second tapping a score and commenting during the backlog, through "
        "a `cxbot run` polling the fake Bot API (needs the default --server process)",
    )
    parser.add_argument(
        "--server",
        choices=("process", "inline"),
        default="process",
        help="the fake Bot API in a process of its own (default) or in the bench's",
    )
    parser.add_argument(
        "--server-nice",
        type=int,
        default=-15,
        help="the server process's priority change (default -15: it stamps arrivals as they "
        "come however loaded the machine; 0: as any process)",
    )
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument(
        "--timeline", metavar="CSV", help="write each message's arrival and lag to this file"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if args.answering > 0 and args.server != "process":
        parser.error("--answering needs --server process")
    if args.invitations < 2 or args.workers < 1 or args.concurrency < 1:
        parser.error("--invitations must be at least 2, --workers and --concurrency at least 1")
    try:
        rate = limits.parse(args.rate)
    except ValueError:
        parser.error(f"--rate {args.rate!r}: write it like 30/second")
    args.per_second = rate.amount / rate.get_expiry()
    if args.server_limit is None:
        args.server_limit = max(1, math.floor(args.per_second))
    return args


async def empty_database(database: Database, url: str) -> None:
    """An existing bench database (--keep) starts empty: tables and the job queue."""
    tables = ", ".join(table.name for table in SQLModel.metadata.sorted_tables)
    async with database.engine.begin() as conn:
        await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    await asyncio.to_thread(empty_job_queue, url)


async def unsettled(database: Database) -> int:
    # A count, not the rows: this process also plays Telegram, and whatever blocks its event
    # loop (loading 2,000 rows, say) delays the arrivals it records and bunches them up.
    waiting = WAITING
    query = select(func.count()).select_from(Invitation).where(col(Invitation.status).in_(waiting))
    async with database.engine.connect() as conn:
        return int(await conn.scalar(query) or 0)


async def wait_settled(database: Database, fleet: Fleet, within: float) -> None:
    deadline = time.monotonic() + within
    while True:
        left = await unsettled(database)
        if not left:
            return
        if all(code is not None for code in fleet.exited()):
            raise SystemExit(f"every worker exited with {left} invitations unsettled")
        if time.monotonic() > deadline:
            print(f"gave up waiting: {left} invitations still unsettled", file=sys.stderr)
            return
        await asyncio.sleep(0.5)


async def recorded(botapi: BotAPI, remote: RemoteBotAPI | None) -> BotAPI:
    """The server's record: its own (inline), or fetched from its process once it is over."""
    if remote is None:
        return botapi
    fetched = BotAPI()
    fetched.calls = [Call(c.method, c.params, c.at, c.status) for c in await remote.calls()]
    return fetched


async def run(
    args: argparse.Namespace, botapi: BotAPI, remote: RemoteBotAPI | None, prefix: str
) -> Figures:
    database = Database(args.database_url)
    logs = Path(tempfile.mkdtemp(prefix="cxbench-delivery-"))
    setup = WorkerSetup(
        database_url=args.database_url,
        redis_url=args.redis_url,
        redis_prefix=prefix,
        telegram_api_url=botapi.url,
        rate=args.rate,
        concurrency=args.concurrency,
        poll_seconds=args.poll,
    )
    fleet = Fleet(setup, logs)
    stack = contextlib.AsyncExitStack()
    try:
        await database.upgrade()
        await empty_database(database, args.database_url)
        # Everything made so far (imports, the app) lives to the end: a full collection of it
        # would stall the fake Bot API for a tenth of a second or more (seen: 175 ms).
        gc.freeze()
        await fleet.start(args.workers)
        await fleet.wait_ready(within=60.0)
        chats = [BASE_CHAT + i for i in range(args.invitations)]
        lead = LEAD_S + LEAD_PER_INVITATION_S * args.invitations
        start = utcnow() + timedelta(seconds=lead)
        step = args.spread / args.invitations
        due = [start + timedelta(seconds=i * step) for i in range(args.invitations)]
        ids = await seed_invitations(database, chats, due)
        customers: Customers | None = None
        if remote is not None and args.answering > 0:
            bot = await stack.enter_async_context(answering_bot(setup, logs / "bot.log"))
            del bot
            customers = Customers(remote, dict(zip(chats, ids, strict=True)), args.answering)
        await queue_sends(args.database_url, list(zip(ids, due, strict=True)))
        late = (utcnow() - start).total_seconds()
        if late > 0:
            print(f"warning: queueing ended {late:.1f} s after the due moment", file=sys.stderr)
        needed = lead + max(args.invitations / args.per_second, args.spread)
        settled = asyncio.Event()
        answering = asyncio.create_task(customers.run(settled.is_set)) if customers else None
        await wait_settled(database, fleet, 2 * needed + SLACK_S)
        settled.set()
        if answering is not None:
            await answering  # the last customers' comments and thanks
        record = await recorded(botapi, remote)
        return await measure(database, record, chats, args.per_second, customers)
    except BaseException:
        print(fleet.logs(), file=sys.stderr)
        raise
    finally:
        await stack.aclose()
        await fleet.stop()
        await database.dispose()
        print(f"worker and bot logs: {logs}")


async def main() -> int:
    args = parse_args()
    args.load = os.getloadavg()
    prefix = f"cxbench-delivery-{uuid.uuid4().hex[:10]}"
    created = await ensure_database(args.database_url)  # dropped at the end unless --keep
    try:
        if args.server == "process":
            nice = args.server_nice
            async with botapi_process(args.server_limit, args.retry_after, nice) as remote:
                figures = await run(args, BotAPI(url=remote.url), remote, prefix)
        else:
            botapi, server = await serve_botapi()
            botapi.flood_limit = args.server_limit
            botapi.flood_retry_after = args.retry_after
            try:
                figures = await run(args, botapi, None, prefix)
            finally:
                await server.cleanup()
    finally:
        await delete_redis_keys(args.redis_url, prefix)
        if not args.keep:
            await drop_database(args.database_url)
        elif created:
            print(f"kept the database {args.database_url}")
    if args.timeline:
        write_timeline(args.timeline, figures)
    return 0 if report(args, figures) else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
