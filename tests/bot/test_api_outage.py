"""The HTTP API while PostgreSQL is away: a 503 the sender can retry, one warning, nothing lost."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import pytest
from aiohttp import ClientSession
from sqlalchemy.engine import make_url
from sqlmodel import select

from bot.main import running
from bot.settings import Settings
from storage.db import Database
from storage.tables import Invitation
from tests.bot.conftest import API_TOKEN, cxbot_settings, telegram_webhook
from tests.bot.telegram.botapi import BotAPI

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


class CuttableLink:
    """A TCP proxy to PostgreSQL; ``cut()`` closes it and every connection through it, so that
    cxbot meets what it meets when the server goes away (refused and broken connections)."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.writers: list[asyncio.StreamWriter] = []
        self.server: asyncio.Server | None = None
        self.port = 0

    async def open(self) -> None:
        self.server = await asyncio.start_server(self._pipe, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in self.writers:
            writer.close()
        await self.server.wait_closed()
        self.writers.clear()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.writers += [writer, up_writer]

        async def copy(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(copy(reader, up_writer), copy(up_reader, writer))


@pytest.fixture
async def link(postgres_database: Database) -> AsyncIterator[CuttableLink]:
    url = make_url(postgres_database.url)
    proxy = CuttableLink(url.host or "127.0.0.1", url.port or 5432)
    await proxy.open()
    yield proxy
    await proxy.cut()


def api_through(link: CuttableLink, database: Database, redis_url: str, botapi: BotAPI) -> Settings:
    """cxbot's settings with PostgreSQL reached through `link`; nothing is sent (these tests
    are about the API)."""
    through_link = make_url(database.url).set(port=link.port)
    return cxbot_settings(
        database,
        redis_url,
        DATABASE_URL=through_link.render_as_string(hide_password=False),
        **telegram_webhook(botapi),
        CXBOT_EMBEDDED_WORKER=False,
    )


def invitation(case_id: str) -> dict[str, object]:
    return {"survey": "nps", "channel": "telegram", "recipient": "123456789", "case_id": case_id}


async def test_invitations_while_postgresql_is_away_get_a_503_to_retry(
    postgres_database: Database,
    redis_url: str,
    link: CuttableLink,
    botapi: BotAPI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = api_through(link, postgres_database, redis_url, botapi)
    async with running(settings) as server, ClientSession() as http:
        api = f"{server.url}/api/v1/invitations"
        async with http.post(api, json=invitation("T-1"), headers=AUTH) as response:
            assert response.status == 202
        await link.cut()
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="bot.bodies"):
            for case_id in ("T-2", "T-3"):
                async with http.post(api, json=invitation(case_id), headers=AUTH) as response:
                    assert response.status == 503
                    assert response.headers["Retry-After"] == "30"
                    assert (await response.json())["error"] == "store_unavailable"
            async with http.get(f"{api}/1", headers=AUTH) as response:
                assert response.status == 503
        assert [r.levelname for r in caplog.records] == ["WARNING"] * 3  # no tracebacks
        async with http.get(f"{server.url}/api/v1/openapi.json") as response:
            described = (await response.json())["paths"]["/api/v1/invitations"]["post"]
        assert "store_unavailable" in described["responses"]["503"]["description"]
        assert not any(r.exc_info for r in caplog.records)
        await link.open()  # back on the same port
        for _ in range(20):  # as a sender does on a 503: again, until the pool reconnects
            async with http.post(api, json=invitation("T-2"), headers=AUTH) as response:
                if response.status != 503:
                    break
            await asyncio.sleep(0.5)
        # 202, or 200 when a try that met the reconnect had stored it before its 503
        assert response.status in (200, 202)
        async with http.post(api, json=invitation("T-2"), headers=AUTH) as response:
            assert response.status == 200
    async with postgres_database.session() as session:
        stored = (await session.exec(select(Invitation.case_id).order_by(Invitation.case_id))).all()
    assert list(stored) == ["T-1", "T-2"]  # each once; T-3 was never retried


async def test_a_postgresql_that_answers_nothing_is_named_in_the_warning(
    postgres_database: Database,
    redis_url: str,
    link: CuttableLink,
    botapi: BotAPI,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A server that takes connections and says nothing (hung, or a firewall dropping): the
    # connect times out with an error of no text, once logged as "a store is unreachable ()".
    settings = api_through(link, postgres_database, redis_url, botapi)

    taken: list[asyncio.StreamWriter] = []

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        taken.append(writer)
        with contextlib.suppress(OSError):
            await reader.read()  # until the client gives up
        writer.close()

    async with running(settings) as server, ClientSession() as http:
        await link.cut()
        hung = await asyncio.start_server(silent, "127.0.0.1", link.port)
        with caplog.at_level(logging.WARNING, logger="bot.bodies"):
            api = f"{server.url}/api/v1/invitations"
            async with http.post(api, json=invitation("T-9"), headers=AUTH) as response:
                assert response.status == 503
        hung.close()
        for writer in taken:
            writer.close()
        await hung.wait_closed()
        (warning,) = [r.getMessage() for r in caplog.records if r.name == "bot.bodies"]
        assert warning.startswith("POST /api/v1/invitations: a store is unreachable (")
        assert not warning.endswith("()"), warning
        await link.open()
