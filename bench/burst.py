"""A burst: N customers tap at once and half comment, through cxbot's real polling loop.

Not a test (tests/bot/telegram/test_burst.py runs the same at a test's size). Run with
PostgreSQL up and redis-server installed, e.g.::

    python bench/burst.py                      # 5,000 customers, then again with Redis away
    python bench/burst.py --customers 1000 --outage 5

cxbot runs whole in polling mode against the local Bot API (in this process), on a database
of its own (created, dropped after) and a redis-server of its own on a free port, without
persistence. Every customer gets an NPS survey (not timed); then every tap is queued at once
in the Bot API, as after cxbot was down for a while, and half the customers write a comment
once the comment question reaches them. Printed: answers stored / expected (must be 100%),
the time from the burst to the last answer stored, and the peak Redis clients and
PostgreSQL connections seen. The second run stops Redis (by its pid) for --outage seconds
once half the answers are stored; it comes back empty.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import uuid
from pathlib import Path

# Run as `python bench/burst.py` from the repository: the burst lives in tests/.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from servers import drop_database, ensure_database, serve_botapi  # bench/servers.py

from bot.settings import Settings
from tests.bot.telegram.burst import BurstResult, Outage, run_burst
from tests.own_redis import OwnRedis

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/cxbot_bench_burst"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=5000)
    parser.add_argument("--outage", type=float, default=10.0, help="seconds Redis is stopped")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help="PostgreSQL")
    parser.add_argument("--concurrency", type=int, default=32, help="CXBOT_HANDLING_CONCURRENCY")
    parser.add_argument("--redis-connections", type=int, default=50, help="Redis pool size")
    parser.add_argument("--within", type=float, default=1800.0, help="give up after (s)")
    parser.add_argument("--only", choices=["calm", "outage"], help="one run, not both")
    args = parser.parse_args()
    if args.customers < 2:
        parser.error("--customers must be at least 2")
    return args


def settings(args: argparse.Namespace, botapi_url: str, redis_url: str) -> Settings:
    token = "123456:BENCH-burst"
    return Settings.model_validate(
        {
            "DATABASE_URL": args.database_url,
            "REDIS_URL": redis_url,
            "CXBOT_REDIS_PREFIX": f"cxburst-{uuid.uuid4().hex[:8]}",
            "CXBOT_HTTP_HOST": "127.0.0.1",
            "CXBOT_HTTP_PORT": 0,
            "CXBOT_SURVEYS_DIR": None,
            "TELEGRAM_BOT_TOKEN": token,
            "TELEGRAM_API_URL": botapi_url,
            "CXBOT_HANDLING_CONCURRENCY": args.concurrency,
            "CXBOT_REDIS_MAX_CONNECTIONS": args.redis_connections,
            # Surveys are sent by the bench itself: no job queue worker (fewer connections
            # to a PostgreSQL that other work on this machine shares).
            "CXBOT_EMBEDDED_WORKER": False,
        }
    )


def report(title: str, result: BurstResult) -> None:
    share = 100.0 * result.stored / result.expected
    print(f"\n{title}")
    print(
        f"  answers stored / expected: {result.stored} / {result.expected} ({share:.1f}%); "
        f"comments {result.comments_stored} / {result.comments_expected}"
    )
    print(
        f"  time to drain: {result.drain_s:.1f} s ({result.stored / result.drain_s:.0f} answers/s)"
    )
    print(
        f"  peak Redis clients: {result.peak_redis_clients}; "
        f"peak PostgreSQL connections: {result.peak_postgres_connections}"
    )
    if result.outage is not None:
        outage = result.outage
        print(
            f"  Redis stopped at {outage.began:.1f} s, back at {outage.ended:.1f} s "
            f"(after {outage.after} answers)"
        )
    for problem in result.problems:
        print(f"  PROBLEM: {problem}")


async def one_run(args: argparse.Namespace, outage: Outage | None) -> BurstResult:
    await drop_database(args.database_url)
    await ensure_database(args.database_url)
    redis = OwnRedis()
    await redis.start()
    botapi, runner = await serve_botapi()
    try:
        return await run_burst(
            settings(args, botapi.url, redis.url),
            botapi,
            redis,
            customers=args.customers,
            outage=outage,
            within=args.within,
        )
    finally:
        await runner.cleanup()
        await redis.stop()
        await drop_database(args.database_url)


async def main() -> int:
    args = parse_args()
    logging.basicConfig(level=logging.ERROR)
    # redis-py leaves "Future exception was never retrieved" for each connection Redis drops.
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    print(
        f"customers: {args.customers} (every one taps, half comment); handling concurrency: "
        f"{args.concurrency}; Redis pool: {args.redis_connections}"
    )
    results: list[BurstResult] = []
    if args.only in (None, "calm"):
        results.append(await one_run(args, None))
        report("calm", results[-1])
    if args.only in (None, "outage"):
        expected = args.customers + (args.customers + 1) // 2
        results.append(await one_run(args, Outage(args.outage, after=expected // 2)))
        report(f"Redis stopped {args.outage:g} s in the middle", results[-1])
    if any(not result.complete for result in results):
        print("VERIFICATION FAILED")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
