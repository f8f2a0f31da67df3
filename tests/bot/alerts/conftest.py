"""cxbot running with detractor alerts to a Telegram team chat (and a Slack channel)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import ClientSession
from sqlmodel import select

from bot.alerts import DetractorAlerts
from bot.main import running
from storage.db import Database
from storage.tables import Followup
from tests.bot.conftest import SlackHarness, cxbot_settings, telegram_webhook
from tests.bot.slack.webapi import SlackAPI
from tests.bot.telegram.botapi import BotAPI, callback_update

ALERT_CHAT = -1005001
ALERT_CHANNEL = "C0ALERTS"


class AlertHarness(SlackHarness):
    """A running cxbot whose alerts go to ALERT_CHAT (and ALERT_CHANNEL when Slack is on)."""

    @property
    def alerts(self) -> DetractorAlerts:
        found = self.server.services.alerts
        assert found is not None, "alerts are off: no alert chat in the settings"
        return found

    async def telegram_alerts(self) -> list[dict[str, Any]]:
        """Every alert posted to the Telegram team chat, once the pending ones are out."""
        await self.alerts.drain()
        return self.botapi.sent("sendMessage", ALERT_CHAT)

    async def telegram_edits(self) -> list[dict[str, Any]]:
        await self.alerts.drain()
        return self.botapi.sent("editMessageText", ALERT_CHAT)

    async def slack_alerts(self) -> list[dict[str, Any]]:
        await self.alerts.drain()
        return [p for p in self.slackapi.sent() if p["channel"] == ALERT_CHANNEL]

    async def slack_edits(self) -> list[dict[str, Any]]:
        await self.alerts.drain()
        return [p for p in self.slackapi.sent("chat.update") if p["channel"] == ALERT_CHANNEL]

    async def followups(self) -> list[Followup]:
        async with self.database.session() as session:
            rows = await session.exec(select(Followup).order_by(Followup.id))  # type: ignore[arg-type]
            return list(rows.all())

    async def press(
        self,
        alert: dict[str, Any],
        data: str,
        user_id: int,
        name: str,
        chat_id: int = ALERT_CHAT,
    ) -> str | None:
        """A staff member taps an alert button in Telegram; the callback answer they see."""
        update = callback_update(
            self.botapi.next_update_id(),
            user_id,
            data,
            message_id=int(alert["_message_id"]),
            chat_id=chat_id,
        )
        update["callback_query"]["from"]["first_name"] = name
        before = len(self.botapi.sent("answerCallbackQuery"))
        assert await self.update(update) == 200
        answers = self.botapi.sent("answerCallbackQuery")
        assert len(answers) == before + 1
        text = answers[-1].get("text")
        return str(text) if text is not None else None


@asynccontextmanager
async def alert_harness(
    database: Database,
    redis_url: str,
    botapi: BotAPI,
    slackapi: SlackAPI | None = None,
    **overrides: Any,
) -> AsyncIterator[AlertHarness]:
    values: dict[str, Any] = {
        **telegram_webhook(botapi),
        "CXBOT_ALERT_TELEGRAM_CHAT": str(ALERT_CHAT),
    }
    if slackapi is not None:
        values.update(
            **slackapi.settings(),
            CXBOT_ALERT_SLACK_CHANNEL=ALERT_CHANNEL,
        )
    values.update(overrides)
    settings = cxbot_settings(database, redis_url, **values)
    async with running(settings) as server, ClientSession() as http:
        yield AlertHarness(server, http, botapi, database, slackapi or SlackAPI())


@pytest.fixture
async def alerting(
    database: Database, redis_url: str, botapi: BotAPI
) -> AsyncIterator[AlertHarness]:
    """Telegram customers, alerts to the Telegram team chat ALERT_CHAT."""
    async with alert_harness(database, redis_url, botapi) as harness:
        yield harness


@pytest.fixture
async def alerting_both(
    database: Database, redis_url: str, botapi: BotAPI, slackapi: SlackAPI
) -> AsyncIterator[AlertHarness]:
    """Telegram and Slack on; alerts to ALERT_CHAT and to the Slack channel ALERT_CHANNEL."""
    async with alert_harness(database, redis_url, botapi, slackapi) as harness:
        yield harness
