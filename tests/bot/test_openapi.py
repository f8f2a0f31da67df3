"""/api/v1/openapi.json describes the API truly: schemathesis fuzzes the running app with it."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from bot.main import running
from bot.openapi import openapi_document
from bot.settings import Settings
from tests.bot.conftest import API_TOKEN, serve_local
from tests.bot.telegram.botapi import TOKEN, BotAPI

RULES = """\
rules:
  - id: everyone
    match:
      type: [case.closed, case.solved]
    survey: nps
"""


class Background:
    """cxbot and a local Bot API on an event loop of their own, for synchronous clients."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.url = ""
        self.ready = threading.Event()
        self.failure: BaseException | None = None
        self.loop = asyncio.new_event_loop()
        self.stop = asyncio.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.loop.run_until_complete(self._serve())
        except BaseException as failure:  # shown by the fixture, not lost in the thread
            self.failure = failure
            self.ready.set()
        finally:
            self.loop.close()

    async def _serve(self) -> None:
        botapi = BotAPI()
        runner, botapi.url = await serve_local(botapi.app())
        (self.folder / "rules.yaml").write_text(RULES)
        config = Settings.model_validate(
            {
                "DATABASE_URL": f"sqlite+aiosqlite:///{self.folder / 'cx.db'}",
                "REDIS_URL": None,
                "CXBOT_REDIS_PREFIX": f"cxtest-{uuid.uuid4().hex[:10]}",
                "CXBOT_HTTP_HOST": "127.0.0.1",
                "CXBOT_HTTP_PORT": 0,
                "CXBOT_API_TOKEN": API_TOKEN,
                "CXBOT_RULES": str(self.folder / "rules.yaml"),
                "CXBOT_DELIVERY_POLL_SECONDS": 0.2,
                "CXBOT_SURVEYS_DIR": None,
                "TELEGRAM_BOT_TOKEN": TOKEN,
                "TELEGRAM_API_URL": botapi.url,
            }
        )
        try:
            async with running(config) as server:
                self.url = server.url
                self.ready.set()
                await self.stop.wait()
        finally:
            await runner.cleanup()

    def __enter__(self) -> str:
        self.thread.start()
        self.ready.wait(60)
        if self.failure is not None or not self.url:
            raise AssertionError(f"cxbot did not start: {self.failure!r}")
        return self.url

    def __exit__(self, *exc: object) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(60)


@pytest.fixture(scope="module")
def cxbot_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with Background(tmp_path_factory.mktemp("openapi")) as url:
        yield url


def test_the_description_is_served_without_a_token(cxbot_url: str) -> None:
    response = requests.get(f"{cxbot_url}/api/v1/openapi.json", timeout=10)
    assert response.status_code == 200
    document = response.json()
    assert document == openapi_document()  # the one the fuzzing below uses
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {
        "/api/v1/invitations",
        "/api/v1/invitations/{id}",
        "/api/v1/events",
        "/api/v1/rules",
        "/api/v1/rules/{id}/pause",
        "/api/v1/rules/{id}/resume",
    }
    # The request bodies are the models that validate them: their limits show.
    request = document["components"]["schemas"]["InvitationRequest"]
    assert request["properties"]["case_id"]["maxLength"] == 200


# Loaded from the code rather than from the served URL: schemathesis' lazy fixture loader does
# not work with pytest 9 (it reads a private attribute); the test above checks they are the same.
schema = schemathesis.openapi.from_dict(openapi_document())


@schema.parametrize()
@settings(
    max_examples=25,  # bounded: a test, not a fuzzing campaign
    derandomize=True,  # the same examples on every run: a failure is not luck
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_the_api_keeps_to_its_description(case: Any, cxbot_url: str) -> None:
    case.call_and_validate(
        base_url=cxbot_url,
        headers={"Authorization": f"Bearer {API_TOKEN}"},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
