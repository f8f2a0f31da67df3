"""Delivery at scale: `cxbot worker` processes sending a burst through the shared rate limit.

Not a test. Run with PostgreSQL and Redis up, from the repository with the venv active::

    python bench/delivery.py
    python bench/delivery.py --count 10000 --rate 30/second

N invitations (one per chat) are stored, all due at one moment a little ahead (or spread over
--spread seconds from it), and their sends queued before it; W worker processes, started
before, send them to a fake Bot API in this process, which answers 429 with retry_after above
--server-limit messages per second. Printed: the achieved send rate from the due moment to the
last receipt, as a fraction of the configured limit; the lag from due time to the server's
receipt, and the lag beyond what the limit forces (the i-th message, in the order received,
cannot arrive before the due moment + i / limit, nor before its own due time); messages lost
(never delivered) and duplicated (a chat with more than one); the 429s seen.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import math
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, timedelta
from pathlib import Path

# Run as `python bench/delivery.py` from the repository: the fake Bot API lives in tests/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import limits
from answering import (  # bench/answering.py
    Customers,
    ReplyFigures,
    answering_bot,
    is_invitation,
    reply_dues,
    reply_figures,
)
from botapi_process import Call as RemoteCall  # bench/botapi_process.py
from botapi_process import RemoteBotAPI, botapi_process
from servers import drop_database, ensure_database, serve_botapi  # bench/servers.py
from sqlalchemy import func, text
from sqlmodel import SQLModel, col, select

from storage.clock import utcnow
from storage.db import Database
from storage.tables import Invitation, InvitationStatus
from tests.bot.delivery.fleet import (
    Fleet,
    WorkerSetup,
    delete_redis_keys,
    invitation_rows,
    queue_sends,
    seed_invitations,
)
from tests.bot.delivery.queue import empty_job_queue
from tests.bot.telegram.botapi import BotAPI, Call

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/cxbot_bench_delivery"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/13"
TARGET_FRACTION = 0.95
TARGET_BEYOND_S = 2.0
WAITING = (InvitationStatus.SCHEDULED.value, InvitationStatus.SENDING.value)
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
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
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


@dataclass(frozen=True)
class Figures:
    sent: int
    seconds: float
    rate: float
    lag_p50: float
    lag_p99: float
    beyond_p50: float
    beyond_p99: float
    beyond_max: float
    lost: int
    unsettled: int
    duplicated: int
    refused: int
    statuses: Counter[str]
    replies: ReplyFigures | None = None
    replies_share: float = 0.0
    counted_rate: float = 0.0


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


def percentile(values: list[float], fraction: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def forced(dues: list[float], per_second: float) -> list[float]:
    """The earliest moment the i-th message can arrive: its due time, one gap after the last."""
    earliest: list[float] = []
    for due in sorted(dues):
        earliest.append(max(due, earliest[-1] + 1 / per_second) if earliest else due)
    return earliest


async def measure(
    database: Database,
    botapi: BotAPI,
    chats: list[int],
    per_second: float,
    customers: Customers | None = None,
) -> Figures:
    rows = await invitation_rows(database)
    invitations = [
        call for call in botapi.calls if call.status == 200 and is_invitation(as_remote(call))
    ]
    per_chat = Counter(str(call.params["chat_id"]) for call in invitations)
    first_at: dict[str, float] = {}
    for call in invitations:
        first_at.setdefault(str(call.params["chat_id"]), call.at)
    # scheduled_at is naive UTC; the server's times are epoch seconds.
    due = {chat: row.scheduled_at.replace(tzinfo=UTC).timestamp() for chat, row in rows.items()}
    lags = sorted(first_at[chat] - due[chat] for chat in first_at if chat in due)
    # Every message the server counted, invitations and replies to answering customers: the
    # i-th cannot arrive before the i-th earliest moment the limit allows, given when each
    # could go at the soonest (an invitation's due time, a reply's update).
    counted = [(at, due[chat], True) for chat, at in first_at.items() if chat in due]
    if customers is not None:
        calls = [as_remote(call) for call in botapi.calls]
        counted += [(at, soonest, False) for at, soonest in reply_dues(customers.answered, calls)]
    counted.sort()
    earliest = forced([soonest for _, soonest, _ in counted], per_second)
    beyond = sorted(
        arrived - soonest
        for (arrived, _, invitation), soonest in zip(counted, earliest, strict=True)
        if invitation
    )
    arrivals = sorted(first_at.values())
    start = min(due.values())
    seconds = arrivals[-1] - start if arrivals else 0.0
    # While the backlog lasted: every counted message, invitations and replies.
    during = [at for at, _, _ in counted if start <= at <= arrivals[-1]] if arrivals else []
    refused = [c for c in botapi.calls if c.status == 429 and is_invitation(as_remote(c))]
    return Figures(
        sent=len(invitations),
        seconds=seconds,
        rate=(len(arrivals) - 1) / seconds if seconds > 0 else 0.0,
        lag_p50=percentile(lags, 0.50) if lags else math.nan,
        lag_p99=percentile(lags, 0.99) if lags else math.nan,
        beyond_p50=percentile(beyond, 0.50) if beyond else math.nan,
        beyond_p99=percentile(beyond, 0.99) if beyond else math.nan,
        beyond_max=beyond[-1] if beyond else math.nan,
        # A chat without a message whose row is settled; rows still waiting when the bench
        # stopped waiting are not lost, they are counted apart (`statuses`, `unsettled`).
        lost=sum(
            per_chat[str(chat)] == 0 and rows[str(chat)].status not in WAITING for chat in chats
        ),
        unsettled=sum(row.status in WAITING for row in rows.values()),
        duplicated=sum(count > 1 for count in per_chat.values()),
        refused=len(refused),
        statuses=Counter(row.status for row in rows.values()),
        replies=reply_figures(customers.answered, calls) if customers is not None else None,
        replies_share=(len(counted) - len(first_at)) / len(counted) if counted else 0.0,
        counted_rate=(len(during) - 1) / seconds if seconds > 0 else 0.0,
    )


def as_remote(call: Call) -> RemoteCall:
    return RemoteCall(call.method, call.params, call.status, call.at)


def report(args: argparse.Namespace, figures: Figures) -> bool:
    fraction = figures.rate / args.per_second
    offered = args.invitations / args.spread if args.spread > 0 else math.inf
    print(
        f"invitations: {args.invitations}; workers: {args.workers} x {args.concurrency} jobs; "
        f"rate: {args.rate}; server limit: {args.server_limit}/s (429, retry_after "
        f"{args.retry_after}); due over {args.spread:g} s; poll {args.poll:g} s; "
        f"fake Bot API: {args.server}"
    )
    print(f"sent: {figures.sent} in {figures.seconds:.1f} s (from the due moment to the last)")
    verdict = "meets" if fraction >= TARGET_FRACTION else "BELOW"
    print(
        f"achieved rate: {figures.rate:.2f}/s = {fraction:.3f} of the limit "
        f"({verdict} target {TARGET_FRACTION})"
        + (f"; offered {offered:.1f}/s" if offered < args.per_second else "")
    )
    print(f"lag due -> received: p50 {figures.lag_p50:.2f} s, p99 {figures.lag_p99:.2f} s")
    verdict = "meets" if figures.beyond_p99 < TARGET_BEYOND_S else "ABOVE"
    print(
        f"lag beyond what the limit forces: p50 {figures.beyond_p50:.2f} s, "
        f"p99 {figures.beyond_p99:.2f} s ({verdict} target {TARGET_BEYOND_S:g} s), "
        f"max {figures.beyond_max:.2f} s"
    )
    print(f"lost: {figures.lost}; duplicated: {figures.duplicated} (target 0 / 0)")
    if figures.unsettled:
        print(f"NOT FINISHED: {figures.unsettled} still queued when the bench stopped waiting")
    print(f"429s seen by invitations: {figures.refused}")
    if (replies := figures.replies) is not None:
        print(
            f"answering: {replies.customers} customers tapped ({args.answering:g}/s), "
            f"{replies.thanked} thanked; {replies.replies} replies sent "
            f"({figures.replies_share:.1%} of the messages counted), {replies.refused} 429s"
        )
        print(
            f"invitations and replies during the backlog: {figures.counted_rate:.2f}/s = "
            f"{figures.counted_rate / args.per_second:.3f} of the limit"
        )
        print(
            f"reply latency: tap -> 'why?' p50 {replies.tap_p50:.3f} s, p99 "
            f"{replies.tap_p99:.3f} s; comment -> thanks p50 {replies.comment_p50:.3f} s, "
            f"p99 {replies.comment_p99:.3f} s"
        )
    print(f"statuses: {dict(sorted(figures.statuses.items()))}")
    print("load average (1, 5, 15 min) at the start: {:.2f} {:.2f} {:.2f}".format(*args.load))
    print("load average (1, 5, 15 min) at the end:   {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    unthanked = figures.replies.customers - figures.replies.thanked if figures.replies else 0
    if unthanked:
        print(f"NOT THANKED: {unthanked} customers who commented got no thanks")
    return (
        figures.lost == 0 and figures.duplicated == 0 and figures.unsettled == 0 and not unthanked
    )


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
            async with botapi_process(args.server_limit, args.retry_after) as remote:
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
    return 0 if report(args, figures) else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
