"""Several `cxbot worker` processes against a local Bot API: seeding, launching, killing, tallying.

Shared by tests/bot/delivery/test_workers.py and bench/delivery.py; no pytest in here.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from redis.asyncio import Redis
from sqlmodel import col, insert, select

from bot.delivery.queue import JobQueue, Kind
from storage.clock import utcnow
from storage.db import Database
from storage.state.redis import LOCK_PREFIX
from storage.tables import Invitation, InvitationStatus, Respondent
from tests.bot.telegram.botapi import TOKEN, BotAPI

REPOSITORY = Path(__file__).resolve().parents[3]
# What `cxbot worker` logs once its queue worker runs (bot/delivery/process.py).
READY_LINE = b"cxbot worker: sending from the job queue"
# Invitations go in and sends are queued this many at a time (one connection each).
BATCH = 500
DEFER_PARALLEL = 8
# Deletes a lock only while it holds the token it held when it was looked at.
_LAPSE_SCRIPT = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('DEL', KEYS[1])
end
return 0
"""


@dataclass(frozen=True)
class WorkerSetup:
    """What every worker of a fleet is told: where the servers are, its rates, its pace."""

    database_url: str
    redis_url: str
    redis_prefix: str
    telegram_api_url: str
    rate: str = "30/second"
    chat_rate: str = "1/second"
    concurrency: int = 10
    poll_seconds: float = 2.0
    # None: the product's defaults (a heartbeat every 10 s, stalled after 30 s).
    heartbeat_seconds: float | None = None
    stalled_after_seconds: float | None = None
    log_level: str = "INFO"

    def environment(self) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "CXBOT_REDIS_PREFIX": self.redis_prefix,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": self.telegram_api_url,
            "CXBOT_TELEGRAM_RATE": self.rate,
            "CXBOT_TELEGRAM_CHAT_RATE": self.chat_rate,
            "CXBOT_DELIVERY_POLL_SECONDS": str(self.poll_seconds),
            "CXBOT_LOG_LEVEL": self.log_level,
            "CXBOT_SURVEYS_DIR": "",
            "PYTHONUNBUFFERED": "1",
        }

    def command(self) -> list[str]:
        command = [sys.executable, "-m", "bot.cli", "worker"]
        command += ["--concurrency", str(self.concurrency)]
        if self.heartbeat_seconds is not None:
            command += ["--heartbeat", str(self.heartbeat_seconds)]
        if self.stalled_after_seconds is not None:
            command += ["--stalled-after", str(self.stalled_after_seconds)]
        return command


@dataclass
class Worker:
    process: asyncio.subprocess.Process
    log_path: Path
    log_file: IO[bytes]


@dataclass
class Fleet:
    """`cxbot worker` subprocesses, each logging to its own file under ``log_dir``."""

    setup: WorkerSetup
    log_dir: Path
    workers: list[Worker] = field(default_factory=list)

    async def start(self, count: int) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for _ in range(count):
            log_path = self.log_dir / f"worker-{len(self.workers)}.log"
            log_file = log_path.open("wb")
            process = await asyncio.create_subprocess_exec(
                *self.setup.command(),
                cwd=REPOSITORY,
                env=self.setup.environment(),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log_file,
                stderr=asyncio.subprocess.STDOUT,
            )
            self.workers.append(Worker(process, log_path, log_file))

    async def wait_ready(self, within: float) -> None:
        """Until every worker logged that it sends (they need PostgreSQL, Redis, migrations)."""
        deadline = time.monotonic() + within
        for index, worker in enumerate(self.workers):
            while READY_LINE not in worker.log_path.read_bytes():
                if worker.process.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"worker {index} did not start:\n{self.logs()}")
                await asyncio.sleep(0.05)

    def kill(self, index: int) -> None:
        """SIGKILL: no shutdown, no heartbeat, jobs left `doing` (a lost machine)."""
        self.workers[index].process.kill()

    def exited(self) -> list[int | None]:
        return [worker.process.returncode for worker in self.workers]

    async def stop(self, grace: float = 10.0) -> None:
        """SIGTERM every live worker (its sends finish), SIGKILL any still up after `grace`."""
        for worker in self.workers:
            if worker.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    worker.process.send_signal(signal.SIGTERM)
        for worker in self.workers:
            try:
                await asyncio.wait_for(worker.process.wait(), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    worker.process.kill()
                await worker.process.wait()
            worker.log_file.close()

    def logs(self, tail: int = 60) -> str:
        """The last `tail` lines of each worker's log, for a failure message."""
        parts = []
        for index, worker in enumerate(self.workers):
            lines = worker.log_path.read_text(errors="replace").splitlines()
            shown = "\n".join(lines[-tail:])
            parts.append(f"--- worker {index} (exit {worker.process.returncode}) ---\n{shown}")
        return "\n".join(parts)


async def seed_invitations(
    database: Database, chats: Sequence[int], due: Sequence[datetime]
) -> list[int]:
    """One scheduled NPS invitation per chat (a respondent each), due at ``due[i]``."""
    now = utcnow()
    ids: list[int] = []
    async with database.session() as session:
        for start in range(0, len(chats), BATCH):
            part = range(start, min(start + BATCH, len(chats)))
            respondents = await session.exec(
                insert(Respondent)
                .values(
                    [
                        {
                            "channel": "telegram",
                            "external_id": str(chats[i]),
                            "language": "en",
                            "created_at": now,
                            "updated_at": now,
                        }
                        for i in part
                    ]
                )
                .returning(col(Respondent.id))
            )
            respondent_ids = list(respondents.scalars())
            invitations = await session.exec(
                insert(Invitation)
                .values(
                    [
                        {
                            "survey_id": "nps",
                            "case_id": f"LOAD-{chats[i]}",
                            "respondent_id": respondent_id,
                            "channel": "telegram",
                            "address": str(chats[i]),
                            "attributes": {},
                            "status": InvitationStatus.SCHEDULED.value,
                            "created_at": now,
                            "scheduled_at": due[i],
                        }
                        for i, respondent_id in zip(part, respondent_ids, strict=True)
                    ]
                )
                .returning(col(Invitation.id))
            )
            ids.extend(invitations.scalars())
        await session.commit()
    return ids


async def queue_sends(database_url: str, sends: Sequence[tuple[int, datetime]]) -> None:
    """Defer one send job per (invitation id, due time), as Delivery.schedule does."""
    queue = JobQueue(database_url, concurrency=DEFER_PARALLEL)
    await queue.open()
    try:
        for start in range(0, len(sends), DEFER_PARALLEL):
            await asyncio.gather(
                *(
                    queue.defer(Kind.SEND, invitation_id, due)
                    for invitation_id, due in sends[start : start + DEFER_PARALLEL]
                )
            )
    finally:
        await queue.close()


@dataclass(frozen=True)
class Row:
    status: str
    failure_reason: str | None
    scheduled_at: datetime


async def invitation_rows(database: Database) -> dict[str, Row]:
    """Every invitation by address (chat id as text)."""
    async with database.session() as session:
        found = await session.exec(select(Invitation))
        return {
            row.address: Row(row.status, row.failure_reason, row.scheduled_at)
            for row in found.all()
        }


def deliveries_per_chat(botapi: BotAPI) -> Counter[str]:
    """How many sendMessage calls the server accepted for each chat."""
    return Counter(str(call.params["chat_id"]) for call in botapi.delivered())


async def delete_redis_keys(redis_url: str, prefix: str) -> int:
    client: Redis = Redis.from_url(redis_url)
    try:
        keys = [name async for name in client.scan_iter(match=f"{prefix}:*", count=1000)]
        if keys:
            await client.delete(*keys)
        return len(keys)
    finally:
        await client.aclose()


async def held_locks(redis_url: str, prefix: str) -> dict[str, str]:
    """Every state lock held now under ``prefix``, with its holder's token."""
    client: Redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        names = [n async for n in client.scan_iter(match=f"{prefix}:{LOCK_PREFIX}:*", count=1000)]
        tokens = await client.mget(names) if names else []
        return {str(name): str(token) for name, token in zip(names, tokens, strict=True) if token}
    finally:
        await client.aclose()


async def lapse_locks(redis_url: str, held: dict[str, str]) -> int:
    """Let the locks of ``held`` lapse now, as their time to live would; unless retaken since.

    For a killed process: its locks would hold its invitations for the store's lock_ttl (60 s)
    after its death. A lock of a live process that is still held is freed too; it loses
    nothing, as no one else works on that live process's invitations.
    """
    client: Redis = Redis.from_url(redis_url)
    try:
        lapse = client.register_script(_LAPSE_SCRIPT)
        return sum([int(await lapse(keys=[name], args=[token])) for name, token in held.items()])
    finally:
        await client.aclose()


def flood_refusals(botapi: BotAPI) -> list[Any]:
    """The sendMessage calls the server refused with 429."""
    return [call for call in botapi.calls if call.method == "sendMessage" and call.status == 429]
