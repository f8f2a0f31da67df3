"""A PostgreSQL restart under a running worker costs a delay, never a dead queue.

procrastinate stops its worker when a connection it listens or beats its heart on is lost
("Side task listener failed ... stopping worker"); cxbot's QueueWorker starts a new one once
PostgreSQL answers again, and meanwhile /readyz names the queue as stopped. Each test runs
its own PostgreSQL server (tests/pgserver.py) to stop and start under cxbot.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
import time
from pathlib import Path
from typing import Any

from aiohttp import ClientError, ClientSession

from bot.main import running
from storage.db import Database
from tests.bot.conftest import Harness, cxbot_settings, telegram_webhook
from tests.bot.telegram.botapi import TOKEN, BotAPI
from tests.own_redis import free_port
from tests.pgserver import OwnPostgres

REPOSITORY = Path(__file__).resolve().parents[2]
METRICS_TOKEN = "test-metrics-token"
QUEUE_GAUGE = re.compile(r'^cxbot_store_up\{store="queue"\} (\S+)$', re.MULTILINE)


async def readiness(http: ClientSession, url: str) -> tuple[int, dict[str, Any]]:
    async with http.get(f"{url}/readyz") as response:
        body: dict[str, Any] = await response.json()
        return response.status, body


async def wait_readiness(
    http: ClientSession, url: str, status: int, queue: str, within: float = 15.0
) -> dict[str, Any]:
    """/readyz's body once it answers ``status`` with the queue's state ``queue``."""
    deadline = time.monotonic() + within
    while True:
        found: tuple[int, dict[str, Any]] | str
        try:
            found = await readiness(http, url)
            if found[0] == status and found[1].get("queue") == queue:
                return found[1]
        except ClientError as error:  # the worker's HTTP server is not up yet
            found = repr(error)
        if time.monotonic() > deadline:
            raise AssertionError(f"/readyz answered {found}, not {status} with queue {queue}")
        await asyncio.sleep(0.05)


async def restart(server: OwnPostgres, http: ClientSession, url: str) -> dict[str, Any]:
    """Stop PostgreSQL, see /readyz at `url` say the queue stopped, start it again; returns
    /readyz's body and /metrics's queue gauge from the outage."""
    await asyncio.to_thread(server.stop)
    try:
        body = await wait_readiness(http, url, 503, "stopped")
        headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
        async with http.get(f"{url}/metrics", headers=headers) as response:
            assert response.status == 200
            scraped = await response.text()
        return {**body, "gauge": QUEUE_GAUGE.search(scraped).group(1)}  # type: ignore[union-attr]
    finally:
        await asyncio.to_thread(server.start)


async def test_the_embedded_worker_sends_again_after_postgres_restarts(
    own_postgres: OwnPostgres, redis_url: str, botapi: BotAPI
) -> None:
    database = Database(own_postgres.url)
    settings = cxbot_settings(
        database, redis_url, CXBOT_METRICS_TOKEN=METRICS_TOKEN, **telegram_webhook(botapi)
    )
    try:
        async with running(settings) as server, ClientSession() as http:
            harness = Harness(server, http, botapi, database)
            await harness.invite(chat_id=1001, case_id="T-1")
            assert (await readiness(http, server.url))[1]["queue"] == "ok"

            during = await restart(own_postgres, http, server.url)
            assert during["database"] == "unreachable" and during["status"] == "unavailable"
            assert during["gauge"] == "0.0"

            # Queued once PostgreSQL is back: sent by the worker cxbot started again.
            await wait_readiness(http, server.url, 200, "ok")
            await harness.invite(chat_id=1002, case_id="T-2")
            assert [m["chat_id"] for m in botapi.sent()] == ["1001", "1002"]
    finally:
        await database.dispose()


def worker_environment(settings_env: dict[str, str]) -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1", "CXBOT_SURVEYS_DIR": "", **settings_env}


async def test_a_standalone_worker_stays_up_and_sends_again_after_postgres_restarts(
    own_postgres: OwnPostgres, redis_url: str, botapi: BotAPI, tmp_path: Path
) -> None:
    database = Database(own_postgres.url)
    settings = cxbot_settings(
        database, redis_url, CXBOT_EMBEDDED_WORKER=False, **telegram_webhook(botapi)
    )
    port = free_port()
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log_file:
        worker = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "bot.cli", "worker"),
            cwd=REPOSITORY,
            env=worker_environment(
                {
                    "DATABASE_URL": own_postgres.url,
                    "REDIS_URL": redis_url,
                    "CXBOT_REDIS_PREFIX": settings.redis_prefix,
                    "TELEGRAM_BOT_TOKEN": TOKEN,
                    "TELEGRAM_API_URL": botapi.url,
                    "CXBOT_DELIVERY_POLL_SECONDS": "0.2",
                    "CXBOT_HTTP_HOST": "127.0.0.1",
                    "CXBOT_WORKER_HTTP_PORT": str(port),
                    "CXBOT_METRICS_TOKEN": METRICS_TOKEN,
                }
            ),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log_file,
            stderr=asyncio.subprocess.STDOUT,
        )
    worker_url = f"http://127.0.0.1:{port}"
    try:
        async with running(settings) as server, ClientSession() as http:
            harness = Harness(server, http, botapi, database)
            await wait_readiness(http, worker_url, 200, "ok", within=60)
            await harness.invite(chat_id=1001, case_id="T-1")

            during = await restart(own_postgres, http, worker_url)
            assert during["database"] == "unreachable" and during["gauge"] == "0.0"

            await wait_readiness(http, worker_url, 200, "ok")
            # The web process (no worker) replaces its connections from before the restart
            # before they are used: its first request after it succeeds.
            second = await harness.invite(chat_id=1002, case_id="T-2")
            assert worker.returncode is None, log_path.read_text()
            assert [m["chat_id"] for m in botapi.sent()] == ["1001", "1002"]
            # Recorded before PostgreSQL goes again: no send is under way at the SIGTERM.
            await harness.wait_status(second, "sent")
            # SIGTERM while PostgreSQL is away and the worker waits for it: it ends at once.
            await asyncio.to_thread(own_postgres.stop)
            await wait_readiness(http, worker_url, 503, "stopped")
            worker.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(worker.wait(), 30) == 0, log_path.read_text()
            await asyncio.to_thread(own_postgres.start)
    finally:
        if worker.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                worker.kill()
            await worker.wait()
        await database.dispose()
