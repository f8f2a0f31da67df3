"""Liveness and readiness answer load balancers and orchestrators without giving hosts away."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession, web

from bot.health import Probes, add_health_routes
from storage.db import Database
from storage.state import open_state_store
from tests.bot.conftest import Harness, serve_local


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens there once the socket is closed


async def test_live_ready_and_health_when_the_stores_answer(harness: Harness) -> None:
    url = harness.server.url
    for path, expected in (
        ("/livez", {"status": "ok"}),
        ("/readyz", {"status": "ok", "database": "ok", "state": "ok", "queue": "ok"}),
    ):
        async with harness.http.get(url + path) as response:
            assert response.status == 200
            assert await response.json() == expected


@pytest.fixture
async def stores_down() -> AsyncIterator[tuple[str, Probes]]:
    port = closed_port()
    database = Database(f"postgresql+asyncpg://secretuser:pw@127.0.0.1:{port}/secretdb")
    state = open_state_store(f"redis://:pw@127.0.0.1:{port}/0", prefix="cxtest-health")
    probes = Probes({"database": database.ping, "state": state.ping})
    app = web.Application()
    add_health_routes(app, probes, lambda: {"channels": ["telegram"]})
    runner, url = await serve_local(app)
    yield url, probes
    await runner.cleanup()
    await state.close()
    await database.dispose()


async def test_a_store_down_is_named_without_its_host_or_user(
    stores_down: tuple[str, Probes], caplog: pytest.LogCaptureFixture
) -> None:
    url, _ = stores_down
    caplog.set_level(logging.WARNING, logger="bot.health")
    async with ClientSession() as http:
        for path in ("/readyz", "/healthz", "/readyz"):
            async with http.get(url + path) as response:
                text = await response.text()
                assert response.status == 503
                body = await response.json()
            assert body["status"] == "unavailable"
            assert body["database"] == "unreachable" and body["state"] == "unreachable"
            if path == "/healthz":
                assert body["channels"] == ["telegram"]  # what this installation runs
            for secret in ("127.0.0.1", "secretuser", "secretdb", "pw", "postgresql", "redis:"):
                assert secret not in text
        async with http.get(url + "/livez") as response:
            assert response.status == 200  # the process itself is fine: no restart
    # The detail goes to the operator's log, once per outage rather than once per probe.
    logged = [r.getMessage() for r in caplog.records]
    assert len(logged) == 2
    assert any("database is down" in line and "secretdb" in line for line in logged)


async def test_a_store_that_never_answers_is_a_timeout() -> None:
    accepted: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)  # accepts the connection, answers nothing

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    state = open_state_store(f"redis://127.0.0.1:{port}/0", prefix="cxtest-health")
    try:
        probes = Probes({"state": state.ping}, timeout=0.2)
        assert await probes.run() == {"state": "timeout"}
    finally:
        await state.close()
        for writer in accepted:
            writer.close()
        server.close()
        await server.wait_closed()
