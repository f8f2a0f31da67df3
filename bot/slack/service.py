"""Builds the Slack Web API client and the bolt app; serves events over HTTP or Socket Mode."""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp

from bot.admin.commands import AdminCommands
from bot.alerts import DetractorAlerts
from bot.background import Background
from bot.bodies import error
from bot.runner import SurveyRunner
from bot.settings import Settings
from bot.slack.admin import SlackAdmin
from bot.slack.alerts import register_alerts
from bot.slack.channel import SlackChannel
from bot.slack.client import PacedWebClient
from bot.slack.handlers import register
from bot.slack.replay import Replays
from bot.slack.retry import SharedRateLimitRetryHandler
from storage.state import BaseStateStore

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
# How long stopping waits for answers still under way.
CLOSE_TIMEOUT_S = 10.0


# The parts of an event or interaction that bolt reads as objects (or a list of them) before
# any of our code runs; None stands for absent.
OBJECTS = ("event", "user", "team", "enterprise", "channel", "container", "view", "message")


def slack_shaped(body: dict[str, Any]) -> bool:
    """Whether the parts of `body` that bolt reads have the shapes Slack sends them in."""
    if any(body.get(name) is not None and not isinstance(body[name], dict) for name in OBJECTS):
        return False
    actions = body.get("actions")
    return actions is None or (
        isinstance(actions, list) and all(isinstance(action, dict) for action in actions)
    )


class SlackService:
    """Owns the Web API client (outgoing calls) and the AsyncApp (incoming requests)."""

    def __init__(self, settings: Settings, token: str) -> None:
        self.settings = settings
        self.client = PacedWebClient(token=token, base_url=settings.slack_api_url)
        # slack_sdk retries only connection errors unless told: honour 429 Retry-After too
        # (and let delivery pause the workspace for every process).
        self.client.retry_handlers.append(
            SharedRateLimitRetryHandler(max_retry_count=settings.send_attempts - 1)
        )
        self.channel = SlackChannel(self.client)
        secret = settings.slack_signing_secret
        self.app = AsyncApp(
            client=self.client,
            signing_secret=secret.get_secret_value() if secret is not None else None,
            # Socket Mode needs no signature: its connection is authenticated by the app token.
            request_verification_enabled=secret is not None,
            # Handle before answering, like Telegram: an answer is stored before Slack hears 200.
            process_before_response=True,
        )
        self._socket: AsyncSocketModeHandler | None = None
        self.admin: SlackAdmin | None = None
        # Taps kept while a store is away (Slack does not send an interaction twice).
        self.replays = Replays()
        # Comments still being stored after their modal closed (see bot/slack/comments.py).
        self.background = Background(CLOSE_TIMEOUT_S)

    def attach(
        self,
        runner: SurveyRunner,
        state: BaseStateStore,
        *,
        alerts: DetractorAlerts | None = None,
        admin: AdminCommands | None = None,
    ) -> None:
        """Connect incoming events and actions to the runner (once the runner exists)."""
        if alerts is not None:  # first: the survey listeners match every cx_ action id
            register_alerts(self.app, alerts)
        self.admin = SlackAdmin(self.client, admin) if admin is not None else None
        register(self.app, runner, state, self.background, admin=self.admin, replays=self.replays)

    def mount(self, app: web.Application) -> None:
        """Serve POST /slack/events in our aiohttp app, unless Socket Mode is on."""
        if self.settings.slack_app_token is not None:
            return

        async def events(request: web.Request) -> web.Response:
            try:
                bolt_request = await to_bolt_request(request)
            except (TypeError, KeyError, AttributeError, ValueError):
                # bolt reads the body before it checks the signature, and fails on a shape
                # Slack never sends ({"event": {"user": 0}}); that is a bad request, not ours.
                return error(400, "invalid_request", "not a Slack event or interaction")
            if not slack_shaped(bolt_request.body):
                # bolt's matchers and authorisation read these as objects without looking
                # ({"event": "x"}, {"actions": "x"}): a 500 and a traceback otherwise.
                return error(400, "invalid_request", "not a Slack event or interaction")
            bolt_response = await self.app.async_dispatch(bolt_request)
            if bolt_response.status == 401:  # bolt's own '{"error": "invalid request"}'
                return error(
                    401,
                    "unauthorized",
                    "the Slack signature is wrong, or its timestamp over five minutes old "
                    "(is SLACK_SIGNING_SECRET the app's?)",
                )
            response: web.Response = await to_aiohttp_response(bolt_response)
            return response

        app.router.add_post(EVENTS_PATH, events)

    async def start(self) -> None:
        if self.settings.slack_app_token is None:
            log.info("slack: serving events at %s", EVENTS_PATH)
            return
        handler = AsyncSocketModeHandler(self.app, self.settings.slack_app_token.get_secret_value())
        await handler.connect_async()  # type: ignore[no-untyped-call]
        self._socket = handler
        log.info("slack: connected in Socket Mode")

    async def stop(self) -> None:
        await self.replays.close()
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
            self._socket = None
        await self.background.close()
        if self.admin is not None:  # commands still being answered need the client
            await self.admin.close()
