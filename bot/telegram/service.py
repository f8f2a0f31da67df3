"""Builds the aiogram Bot and Dispatcher and runs them by polling or behind a webhook."""

from __future__ import annotations

import hashlib
import logging
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramUnauthorizedError,
)
from aiohttp import web

from bot.admin.commands import AdminCommands
from bot.alerts import DetractorAlerts
from bot.errors import TelegramUnavailable
from bot.runner import SurveyRunner
from bot.settings import Settings
from bot.telegram.admin import build_admin_router
from bot.telegram.alerts import build_alert_router
from bot.telegram.channel import TelegramChannel
from bot.telegram.dedupe import HandleOnce
from bot.telegram.handlers import build_router
from bot.telegram.links import InvitationLinks
from bot.telegram.polling import Polling
from bot.telegram.retry import RetryAfter
from bot.telegram.session import PacedSession
from bot.telegram.webhook import WebhookHandler
from storage.state import BaseStateStore

log = logging.getLogger(__name__)

ALLOWED_UPDATES = ["message", "callback_query"]
DEFAULT_WEBHOOK_PATH = "/telegram/webhook"


def webhook_secret(settings: Settings, token: str) -> str:
    """The configured secret, or one derived from the token so that every replica agrees."""
    if settings.telegram_webhook_secret is not None:
        return settings.telegram_webhook_secret.get_secret_value()
    return hashlib.sha256(f"cxbot-webhook:{token}".encode()).hexdigest()


def start_failure(settings: Settings, failure: TelegramAPIError) -> str:
    """What to fix when the Bot API refused or did not answer the channel's first call."""
    at = f"the Telegram Bot API at {settings.telegram_api_url}"
    if isinstance(failure, TelegramNetworkError):
        return (
            f"{at} is unreachable ({failure.message}): check TELEGRAM_API_URL and that this "
            "machine reaches it"
        )
    if isinstance(failure, TelegramUnauthorizedError | TelegramNotFound):
        return (
            f"{at} refused the bot token ({failure.message}): check TELEGRAM_BOT_TOKEN "
            "(@BotFather gives it)"
        )
    if settings.telegram_webhook_url is not None:
        return (
            f"{at} refused the webhook {settings.telegram_webhook_url} ({failure.message}): "
            "check TELEGRAM_WEBHOOK_URL"
        )
    return f"{at} refused {failure.method.__api_method__} ({failure.message})"


class TelegramService:
    """Owns the Bot (outgoing calls) and the Dispatcher (incoming updates)."""

    def __init__(self, settings: Settings, token: str) -> None:
        self.settings = settings
        session = PacedSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
        session.middleware(RetryAfter(settings.send_attempts, settings.max_retry_after))
        self.bot = Bot(token=token, session=session)
        self.channel = TelegramChannel(self.bot)
        self.links = InvitationLinks(self.bot, settings.telegram_bot_username)
        # Survey progress lives in our own state store (bot/conversations.py), not aiogram's FSM.
        self.dispatcher = Dispatcher(disable_fsm=True)
        self._token = token
        self._polling: Polling | None = None

    def attach(
        self,
        runner: SurveyRunner,
        state: BaseStateStore,
        *,
        alerts: DetractorAlerts | None = None,
        admin: AdminCommands | None = None,
    ) -> None:
        """Connect incoming updates to the runner (done once the runner exists)."""
        once = HandleOnce(state)  # inner: it reads the chosen handler's flags
        self.dispatcher.message.middleware(once)
        self.dispatcher.callback_query.middleware(once)
        if alerts is not None:  # before the survey router, which answers every other callback
            self.dispatcher.include_router(build_alert_router(alerts))
        if admin is not None:  # before the survey router, whose /help and catch-all come first
            self.dispatcher.include_router(build_admin_router(admin))
        self.dispatcher.include_router(build_router(runner))

    @property
    def webhook_path(self) -> str | None:
        if self.settings.telegram_webhook_url is None:
            return None
        return urlsplit(self.settings.telegram_webhook_url).path or DEFAULT_WEBHOOK_PATH

    def mount(self, app: web.Application) -> None:
        """Serve the webhook route in our aiohttp app, when webhook mode is on."""
        if self.webhook_path is None:
            return
        # Handle before answering: with handle_in_background an update is lost if the
        # process dies mid-way, since Telegram already got its 200.
        WebhookHandler(
            self.dispatcher,
            self.bot,
            handle_in_background=False,
            secret_token=webhook_secret(self.settings, self._token),
        ).register(app, path=self.webhook_path)

    async def start(self) -> None:
        try:
            await self._start()
        except TelegramAPIError as failure:
            raise TelegramUnavailable(start_failure(self.settings, failure)) from failure

    async def _start(self) -> None:
        if self.settings.telegram_webhook_url is not None:
            await self.bot.set_webhook(
                self.settings.telegram_webhook_url,
                secret_token=webhook_secret(self.settings, self._token),
                allowed_updates=ALLOWED_UPDATES,
                # Telegram's own bound on the requests it has open with us at once (1-100).
                max_connections=min(100, self.settings.handling_concurrency),
            )
            log.info("telegram: webhook set to %s", self.settings.telegram_webhook_url)
            return
        # getUpdates is refused while a webhook is set, e.g. from an earlier webhook run.
        await self.bot.delete_webhook(drop_pending_updates=False)
        # Our own loop, not aiogram's start_polling, which confirms an update whether or not
        # its handling failed (bot/telegram/polling.py).
        self._polling = Polling(
            self.bot,
            self.dispatcher,
            concurrency=self.settings.handling_concurrency,
            allowed_updates=ALLOWED_UPDATES,
        )
        self._polling.start()
        log.info("telegram: polling %s", self.settings.telegram_api_url)

    async def stop(self) -> None:
        if self._polling is not None:
            await self._polling.stop()
            self._polling = None
        await self.bot.session.close()
