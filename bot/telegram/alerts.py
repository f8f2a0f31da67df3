"""Detractor alerts in a Telegram team chat: the message, its buttons, and their presses."""

from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup

from bot.alerts import (
    AlertNotDelivered,
    AlertsNotConfigured,
    AlertView,
    DetractorAlerts,
    Posted,
    Staff,
    pack_button,
    unpack_button,
)
from bot.alerts.service import BAD_BUTTON
from bot.alerts.view import BUTTON_PREFIX
from bot.telegram_ids import telegram_id

log = logging.getLogger(__name__)

CHANNEL = "telegram"
# Telegram shows at most 200 characters in a callback answer.
MAX_NOTICE = 200


def _chat(address: str) -> int | str:
    value = address.strip()
    if value.startswith("@") and len(value) > 1:
        return value  # a public channel's @username
    try:
        return telegram_id(value)
    except ValueError as error:
        if value.lstrip("-").isascii() and value.lstrip("-").isdigit():
            raise AlertsNotConfigured(f"CXBOT_ALERT_TELEGRAM_CHAT {error}") from None
    raise AlertsNotConfigured(
        f"CXBOT_ALERT_TELEGRAM_CHAT must be a Telegram chat id such as -1001234567890 "
        f"(or a channel's @username), not {address!r}"
    )


def alert_markup(view: AlertView) -> InlineKeyboardMarkup | None:
    if not view.actions:
        return None
    row = [
        InlineKeyboardButton(text=action.label, callback_data=pack_button(view.followup_id, action))
        for action in view.actions
    ]
    return InlineKeyboardMarkup(inline_keyboard=[row])


class TelegramAlerts:
    """The AlertBoard of a Telegram group, supergroup or channel."""

    channel = CHANNEL

    def __init__(self, bot: Bot, address: str) -> None:
        self.bot = bot
        self.address = address.strip()
        self._chat = _chat(address)

    async def post(self, view: AlertView) -> Posted:
        try:
            sent = await self.bot.send_message(
                chat_id=self._chat, text=view.text, reply_markup=alert_markup(view)
            )
        except TelegramAPIError as error:
            raise AlertNotDelivered(f"telegram: {error.message}") from error
        return Posted(CHANNEL, str(sent.chat.id), str(sent.message_id))

    async def edit(self, posted: Posted, view: AlertView) -> None:
        try:
            await self.bot.edit_message_text(
                chat_id=int(posted.address),
                message_id=int(posted.ref),
                text=view.text,
                reply_markup=alert_markup(view),
            )
        except TelegramBadRequest as error:
            if "not modified" in error.message:
                return  # another process already showed this state
            raise AlertNotDelivered(f"telegram: {error.message}") from error
        except TelegramAPIError as error:
            raise AlertNotDelivered(f"telegram: {error.message}") from error


def build_alert_router(alerts: DetractorAlerts) -> Router:
    """Presses on alert buttons; include it before the survey router, which takes the rest."""
    router = Router(name="followups")

    @router.callback_query(F.data.startswith(f"{BUTTON_PREFIX}:"))
    async def on_press(query: CallbackQuery) -> None:
        button = unpack_button(query.data or "")
        if button is None or query.message is None:
            await query.answer(BAD_BUTTON)
            return
        followup_id, action = button
        staff = Staff(CHANNEL, str(query.from_user.id), query.from_user.full_name)
        notice = await alerts.press(followup_id, action, staff, address=str(query.message.chat.id))
        await query.answer(notice[:MAX_NOTICE])

    return router
