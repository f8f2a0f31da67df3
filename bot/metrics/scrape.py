"""`GET /metrics`: the process's counters, then what SQL and the stores say at this moment."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.queue import SCHEMA as QUEUE_SCHEMA
from bot.health import Probes
from bot.metrics.counters import REGISTRY
from storage.clock import utcnow
from storage.db import Database
from storage.gauges import Backlog, due_backlog, invitations_by_status

SQL_SECONDS = 2.0  # a scrape waits this long for SQL's figures, then goes without them


@dataclass(frozen=True)
class Snapshot:
    """One scrape's figures from outside this process."""

    stores: dict[str, str]
    invitations: dict[tuple[str, str], int] = field(default_factory=dict)
    backlog: Backlog | None = None
    backlog_age: float = 0.0
    jobs: dict[str, int] | None = None  # PostgreSQL's job queue; None beside SQLite


class SnapshotCollector:
    """Hands one Snapshot to prometheus_client's text exposition (its collectors are sync)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "cxbot_store_up", "1 when the store answered this scrape's ping", labels=["store"]
        )
        for store, state in sorted(self.snapshot.stores.items()):
            up.add_metric([store], 1.0 if state == "ok" else 0.0)
        yield up
        if self.snapshot.backlog is None:  # SQL did not answer: no figures rather than zeros
            return
        invitations = GaugeMetricFamily(
            "cxbot_invitations", "Invitations stored, by status", labels=["channel", "status"]
        )
        for (channel, status), count in sorted(self.snapshot.invitations.items()):
            invitations.add_metric([channel, status], count)
        yield invitations
        yield GaugeMetricFamily(
            "cxbot_due_invitations",
            "Invitations whose send time has come and that are not sent yet (the send queue)",
            value=self.snapshot.backlog.due,
        )
        yield GaugeMetricFamily(
            "cxbot_oldest_due_invitation_age_seconds",
            "How long the oldest due invitation has waited past its send time (0: none waits)",
            value=self.snapshot.backlog_age,
        )
        if self.snapshot.jobs is not None:
            jobs = GaugeMetricFamily(
                "cxbot_jobs",
                "Jobs in the queue (sends, reminders, expiries, ...): due, later, running",
                labels=["state"],
            )
            for state, count in sorted(self.snapshot.jobs.items()):
                jobs.add_metric([state], count)
            yield jobs


async def take_snapshot(probes: Probes, database: Database | None) -> Snapshot:
    """Ping the stores; with ``database`` (the web process only), read SQL's figures too."""
    stores = await probes.run()
    if database is None or stores.get("database") != "ok":
        return Snapshot(stores)
    try:
        async with asyncio.timeout(SQL_SECONDS), database.session() as session:
            now = utcnow()
            invitations = await invitations_by_status(session)
            backlog = await due_backlog(session, now)
            jobs = await _jobs(session) if database.dialect == "postgresql" else None
    except TimeoutError:
        return Snapshot({**stores, "database": "timeout"})
    age = (now - backlog.oldest_due_at).total_seconds() if backlog.oldest_due_at else 0.0
    return Snapshot(stores, invitations, backlog, max(age, 0.0), jobs)


JOBS = text(
    f"""SELECT
        count(*) FILTER (WHERE status = 'todo' AND coalesce(scheduled_at <= now(), true)),
        count(*) FILTER (WHERE status = 'todo' AND scheduled_at > now()),
        count(*) FILTER (WHERE status = 'doing')
    FROM {QUEUE_SCHEMA}.procrastinate_jobs WHERE status IN ('todo', 'doing')"""
)


async def _jobs(session: AsyncSession) -> dict[str, int] | None:
    try:
        connection = await session.connection()
        due, later, running = (await connection.execute(JOBS)).one()
    except ProgrammingError:  # no queue schema yet (a database no cxbot has started on)
        return None
    return {"due": int(due), "later": int(later), "running": int(running)}


def exposition(snapshot: Snapshot) -> bytes:
    """The Prometheus text format: this process's counters, then the snapshot's gauges."""
    scraped = CollectorRegistry()
    scraped.register(SnapshotCollector(snapshot))
    return generate_latest(REGISTRY) + generate_latest(scraped)


def add_metrics_route(
    app: web.Application, token: SecretStr | None, probes: Probes, database: Database | None
) -> None:
    """``GET /metrics``, behind ``Authorization: Bearer <CXBOT_METRICS_TOKEN>``.

    Its own token, read-only: Prometheus never holds the API token that can send surveys.
    While the token is unset, /metrics answers 503 and says how to turn it on.
    """

    async def metrics(request: web.Request) -> web.Response:
        if token is None:
            return _refused(503, "metrics_disabled", "set CXBOT_METRICS_TOKEN to turn /metrics on")
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return _refused(
                401, "unauthorized", "send the header 'Authorization: Bearer <CXBOT_METRICS_TOKEN>'"
            )
        if not secrets.compare_digest(given.strip().encode(), token.get_secret_value().encode()):
            # Said apart: a scraper given the API's token, or an old one, is told which to use.
            wrong = "the bearer token is not CXBOT_METRICS_TOKEN (the API's is not taken here)"
            return _refused(401, "unauthorized", wrong)
        body = exposition(await take_snapshot(probes, database))
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/metrics", metrics)


def _refused(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": code, "message": message}, status=status)
