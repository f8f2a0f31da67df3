"""Telegram's webhook route: aiogram's handler, with its 401 saying which header is wrong."""

from __future__ import annotations

import secrets

from aiogram import Bot
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web

from bot.bodies import error

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_SETTING = "TELEGRAM_WEBHOOK_SECRET (unset: the one cxbot derives from the bot token)"


class WebhookHandler(SimpleRequestHandler):
    """aiogram's SimpleRequestHandler, refusing a missing or wrong secret in the JSON shape
    (aiogram answers a bare "Unauthorized") and a header of any bytes without failing."""

    async def handle(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER)
        if self.secret_token:
            if given is None:
                return error(
                    401,
                    "unauthorized",
                    f"the header {SECRET_HEADER} is missing: Telegram sends it with each update "
                    f"once cxbot has set the webhook; its value is {_SETTING}",
                )
            # As bytes: compare_digest refuses str with non-ASCII characters (a TypeError).
            sent = given.encode("utf-8", "surrogateescape")
            if not secrets.compare_digest(sent, self.secret_token.encode()):
                return error(
                    401,
                    "unauthorized",
                    f"the header {SECRET_HEADER} is wrong: it must be {_SETTING}",
                )
        return await super().handle(request)

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        """Compared in handle() already, as bytes (aiogram's own check would do it again)."""
        return True
