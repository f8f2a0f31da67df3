"""A running cxbot with a rules file, an HMAC secret and a Zendesk secret, and its helpdesk."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from sqlmodel import col, select

from bot.main import running
from bot.triggers.auth import sign
from storage.db import Database
from storage.tables import AuditEntry, Decision, Invitation
from tests.bot.conftest import API_TOKEN, Harness, cxbot_settings, telegram_webhook
from tests.bot.telegram.botapi import BotAPI

HMAC_SECRET = "test-hmac-secret"
ZENDESK_SECRET = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
CHATWOOT_SECRET = "chatwoot-webhook-secret"

# First match wins: vip first, then sales (half sampled), billing (later), then the rest.
RULES = """\
rules:
  - id: vip-closed
    match:
      type: case.closed
      tags: vip
    survey: csat
    expiry_hours: 48
    touchpoint: vip-support
  - id: sales-half
    match:
      type: case.closed
      team: sales
    survey: nps
    sample: 50%
  - id: billing-later
    match:
      type: case.closed
      team: billing
    survey: ces
    delay: 2h
  - id: escalations
    match:
      type: case.escalated
    survey: csat
    paused: true
  - id: nps-closed
    match:
      type: [case.closed, case.solved]
    survey: nps
    quarantine_days: 30
    reminder_after_hours: 24
"""


def event(case_id: str = "T-1", **fields: Any) -> dict[str, Any]:
    """A generic event body: a closed case of the Telegram customer 1001."""
    return {
        "type": "case.closed",
        "case_id": case_id,
        "channel": "telegram",
        "recipient": "1001",
        **fields,
    }


class TriggerHarness(Harness):
    """The Harness, plus events, hooks and the rules API."""

    rules_path: Path

    async def post(
        self,
        path: str,
        body: Any = None,
        *,
        auth: str | None = "bearer",
        raw: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, str] | None = None,
    ) -> tuple[int, Any]:
        data = raw if raw is not None else json.dumps(body).encode()
        sent = {"Content-Type": "application/json", **(headers or {})}
        if auth == "bearer":
            sent["Authorization"] = f"Bearer {API_TOKEN}"
        elif auth == "hmac":
            sent["X-Cxbot-Signature"] = sign(data, HMAC_SECRET)
        async with self.http.post(
            f"{self.server.url}{path}", data=data, headers=sent, params=query
        ) as response:
            return response.status, await response.json()

    async def event(self, body: Any, **options: Any) -> tuple[int, Any]:
        return await self.post("/api/v1/events", body, **options)

    async def hook(
        self, helpdesk: str, body: Any, query: Mapping[str, str] | None = None, **options: Any
    ) -> tuple[int, Any]:
        where = {"channel": "telegram"} if query is None else query
        return await self.post(f"/api/v1/hooks/{helpdesk}", body, query=where, **options)

    async def rules(self) -> dict[str, Any]:
        async with self.http.get(
            f"{self.server.url}/api/v1/rules", headers={"Authorization": f"Bearer {API_TOKEN}"}
        ) as response:
            assert response.status == 200
            body: dict[str, Any] = await response.json()
            return body

    async def put_rules(self, text: str, content_type: str = "application/yaml") -> tuple[int, Any]:
        async with self.http.put(
            f"{self.server.url}/api/v1/rules",
            data=text.encode(),
            headers={"Authorization": f"Bearer {API_TOKEN}", "Content-Type": content_type},
        ) as response:
            return response.status, await response.json()

    async def decisions(self, case_id: str) -> list[Decision]:
        async with self.database.session() as session:
            rows = await session.exec(
                select(Decision).where(Decision.case_id == case_id).order_by(col(Decision.id))
            )
            return list(rows.all())

    async def invitations(self) -> list[Invitation]:
        async with self.database.session() as session:
            rows = await session.exec(select(Invitation).order_by(col(Invitation.id)))
            return list(rows.all())

    async def audit(self) -> list[AuditEntry]:
        async with self.database.session() as session:
            rows = await session.exec(select(AuditEntry).order_by(col(AuditEntry.id)))
            return list(rows.all())


@pytest.fixture
def rules_path(tmp_path: Path) -> Path:
    path = tmp_path / "rules" / "rules.yaml"
    path.parent.mkdir()
    path.write_text(RULES, encoding="utf-8")
    return path


def trigger_settings(
    database: Database, redis_url: str, botapi: BotAPI, rules: Path | None, **overrides: Any
) -> Any:
    return cxbot_settings(
        database,
        redis_url,
        **telegram_webhook(botapi),
        CXBOT_RULES=rules,
        CXBOT_HMAC_SECRET=HMAC_SECRET,
        ZENDESK_WEBHOOK_SECRET=ZENDESK_SECRET,
        CHATWOOT_WEBHOOK_SECRET=CHATWOOT_SECRET,
        **overrides,
    )


@asynccontextmanager
async def running_triggers(
    database: Database, redis_url: str, botapi: BotAPI, rules: Path | None, **overrides: Any
) -> AsyncIterator[TriggerHarness]:
    """cxbot with the rules file ``rules`` (None: no CXBOT_RULES) and the signing secrets."""
    settings = trigger_settings(database, redis_url, botapi, rules, **overrides)
    async with running(settings) as server, ClientSession() as http:
        harness = TriggerHarness(server, http, botapi, database)
        if rules is not None:
            harness.rules_path = rules
        yield harness


@pytest.fixture
async def triggers(
    database: Database, redis_url: str, botapi: BotAPI, rules_path: Path
) -> AsyncIterator[TriggerHarness]:
    async with running_triggers(database, redis_url, botapi, rules_path) as harness:
        yield harness
