"""/metrics tells Prometheus what was sent, refused, answered and waiting, behind its own token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiohttp import ClientSession
from prometheus_client.parser import text_string_to_metric_families

from bot.health import Probes
from bot.main import running
from bot.metrics.scrape import exposition, take_snapshot
from bot.services import open_services
from bot.worker_http import worker_http
from storage.clock import utcnow
from storage.db import Database
from tests.bot.conftest import Harness, cxbot_settings, telegram_webhook
from tests.bot.telegram.botapi import BotAPI
from tests.bot.telegram.test_survey_flow import tap
from tests.storage.builders import scheduled_invitation

METRICS_TOKEN = "test-metrics-token"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


@pytest.fixture
async def metered(database: Database, redis_url: str, botapi: BotAPI) -> AsyncIterator[Harness]:
    settings = cxbot_settings(
        database, redis_url, **telegram_webhook(botapi), CXBOT_METRICS_TOKEN=METRICS_TOKEN
    )
    async with running(settings) as server, ClientSession() as http:
        yield Harness(server, http, botapi, database)


async def scrape(harness: Harness, token: str | None = METRICS_TOKEN) -> tuple[int, str, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with harness.http.get(f"{harness.server.url}/metrics", headers=headers) as response:
        return response.status, response.content_type, await response.text()


async def test_sends_429s_answers_and_statuses_are_counted(metered: Harness) -> None:
    before = samples((await scrape(metered))[2])
    metered.botapi.rate_limit("sendMessage", retry_after=1)  # the first send is refused once
    invitation_id = await metered.invite()
    await metered.wait_status(invitation_id, "sent")
    delivered = [call for call in metered.botapi.sent() if "_message_id" in call]
    assert len(delivered) == 1  # the refused call was sent again once
    await tap(metered, delivered[0], "9")

    status, content_type, text = await scrape(metered)
    assert status == 200 and content_type == "text/plain"
    after = samples(text)

    def grew(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after[key] - before.get(key, 0.0)  # counters are per process, shared by tests

    assert grew("cxbot_sends_total", channel="telegram", kind="invitation") == 1
    assert grew("cxbot_rate_limited_total", channel="telegram") == 1
    assert grew("cxbot_answers_total", channel="telegram", survey="nps", kind="nps") == 1
    assert after[("cxbot_invitations", (("channel", "telegram"), ("status", "started")))] == 1
    assert after[("cxbot_due_invitations", ())] == 0
    assert after[("cxbot_oldest_due_invitation_age_seconds", ())] == 0
    assert after[("cxbot_store_up", (("store", "database"),))] == 1
    assert after[("cxbot_store_up", (("store", "state"),))] == 1
    if metered.database.dialect == "postgresql":  # the job queue: the survey's expiry waits
        assert after[("cxbot_jobs", (("state", "later"),))] >= 1
        assert after[("cxbot_jobs", (("state", "due"),))] == 0
    else:  # beside SQLite the queue is in memory: no figure rather than a false one
        assert not any(name == "cxbot_jobs" for name, _ in after)
    # Only the series README lists: no prometheus_client `*_created` beside the counters.
    assert [name for name, _ in after if name.endswith("_created")] == []


async def test_metrics_need_their_own_token(metered: Harness, harness: Harness) -> None:
    status, _, text = await scrape(metered, None)
    assert status == 401 and "send the header 'Authorization: Bearer" in text
    for wrong in ("wrong", "test-api-token"):  # the API's token is not enough
        status, _, text = await scrape(metered, wrong)
        # Once "send the header ...", which had been sent: now what is wrong with it.
        assert status == 401 and "the bearer token is not CXBOT_METRICS_TOKEN" in text
    status, _, text = await scrape(harness)  # a cxbot without CXBOT_METRICS_TOKEN
    assert status == 503 and "CXBOT_METRICS_TOKEN" in text


async def test_the_backlog_and_its_oldest_due_invitation(database: Database) -> None:
    now = utcnow()
    async with database.session() as session:
        await scheduled_invitation(session, "T-1", scheduled_at=now - timedelta(seconds=90))
        await scheduled_invitation(session, "T-2", scheduled_at=now - timedelta(seconds=30))
        await scheduled_invitation(session, "T-3", scheduled_at=now + timedelta(hours=1))
        await session.commit()
    snapshot = await take_snapshot(Probes({"database": database.ping}), database)
    found = samples(exposition(snapshot).decode())
    assert found[("cxbot_due_invitations", ())] == 2  # the one due in an hour is not late
    assert 90 <= found[("cxbot_oldest_due_invitation_age_seconds", ())] < 120
    assert found[("cxbot_invitations", (("channel", "telegram"), ("status", "scheduled")))] == 3


async def test_sql_down_leaves_its_figures_out_and_says_so() -> None:
    gone = Database("postgresql+asyncpg://cx:pw@127.0.0.1:9/cx")  # port 9: nothing listens
    try:
        snapshot = await take_snapshot(Probes({"database": gone.ping}), gone)
    finally:
        await gone.dispose()
    found = samples(exposition(snapshot).decode())
    assert found[("cxbot_store_up", (("store", "database"),))] == 0
    assert not any(name == "cxbot_due_invitations" for name, _ in found)  # not a false 0


async def test_a_failed_update_is_a_handler_error(metered: Harness) -> None:
    key = ("cxbot_handler_errors_total", (("channel", "telegram"),))
    before = samples((await scrape(metered))[2]).get(key, 0.0)
    await metered.invite()
    question = metered.botapi.sent()[0]
    refused = {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
    metered.botapi.fail("sendMessage", 400, refused)  # the follow-up question cannot go
    await tap(metered, question, "9")
    assert samples((await scrape(metered))[2])[key] == before + 1


async def test_the_worker_serves_health_and_its_own_counters(
    postgres_database: Database, redis_url: str
) -> None:
    # PostgreSQL only: `cxbot worker` refuses SQLite, whose queue lives inside `cxbot run`.
    settings = cxbot_settings(
        postgres_database,
        redis_url,
        CXBOT_METRICS_TOKEN=METRICS_TOKEN,
        CXBOT_WORKER_HTTP_PORT=0,
        CXBOT_EMBEDDED_WORKER=False,
    )
    services = await open_services(settings)
    try:
        async with worker_http(services) as url, ClientSession() as http:
            assert url is not None
            async with http.get(f"{url}/readyz") as response:
                assert response.status == 200
                assert await response.json() == {"status": "ok", "database": "ok", "state": "ok"}
            headers = {"Authorization": f"Bearer {METRICS_TOKEN}"}
            async with http.get(f"{url}/metrics", headers=headers) as response:
                found = samples(await response.text())
    finally:
        await services.close()
    assert found[("cxbot_store_up", (("store", "database"),))] == 1
    # The backlog comes from `cxbot run` only: three workers would report it three times.
    assert not any(name == "cxbot_due_invitations" for name, _ in found)
