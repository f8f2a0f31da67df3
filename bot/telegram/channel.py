"""TelegramChannel: the Channel port spoken through the Bot API."""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
)
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage, TelegramMethod
from aiogram.methods.base import Response

from bot.channel import Recipient
from bot.errors import DeliveryFailed, InvalidRecipient
from bot.telegram.keyboards import answered_text, prompt_markup, prompt_text
from bot.telegram_ids import telegram_id
from surveys.conversation import Prompt

log = logging.getLogger(__name__)


def _chat_id(value: str, what: str) -> int:
    try:
        return telegram_id(value)
    except ValueError as error:
        raise InvalidRecipient(f"{what} {error}", field=what) from None


class TelegramChannel:
    """Sends prompts as messages with inline keyboards; one message per question."""

    name = "telegram"

    def __init__(self, bot: Bot) -> None:
        self.bot = bot
        # aiogram parses every reply as `Response[<method's result type>]`, a pydantic generic
        # that pydantic caches only weakly: each time the garbage collector frees it, the next
        # call builds the class again (milliseconds; 12% of bench/answers.py). Hold ours.
        self._response_types = _response_types(SendMessage, EditMessageText, AnswerCallbackQuery)

    async def resolve_recipient(self, recipient: str, user: str | None) -> Recipient:
        chat = _chat_id(recipient, "recipient")
        if user is not None:
            person = _chat_id(user, "user")
            if person <= 0:
                raise InvalidRecipient(
                    f"user must be a Telegram user id (positive), not {user!r}", field="user"
                )
            return Recipient(address=str(chat), external_id=str(person))
        if chat <= 0:
            raise InvalidRecipient(
                f'recipient {chat} is a group chat: add "user" with the customer\'s Telegram '
                "user id, so that only they can answer"
            )
        # In a private chat the chat id is the user's id.
        return Recipient(address=str(chat), external_id=str(chat))

    async def send_prompt(self, address: str, invitation_id: int, prompt: Prompt) -> str:
        try:
            sent = await self.bot.send_message(
                chat_id=int(address),
                text=prompt_text(prompt),
                reply_markup=prompt_markup(invitation_id, prompt),
            )
        except TelegramAPIError as error:
            raise _delivery_failed(error) from error
        return str(sent.message_id)

    async def close_prompt(
        self, address: str, message_ref: str, prompt: Prompt, answer: str | None
    ) -> None:
        try:
            await self.bot.edit_message_text(
                chat_id=int(address),
                message_id=int(message_ref),
                text=answered_text(prompt, answer),
                reply_markup=None,
            )
        except TelegramBadRequest as error:
            # Already edited (a redelivered update) or too old to edit: the answer is saved
            # either way, so the customer loses nothing.
            log.info("could not edit message %s in %s: %s", message_ref, address, error.message)
        except TelegramAPIError as error:
            raise _delivery_failed(error) from error

    async def send_text(self, address: str, text: str) -> None:
        try:
            await self.bot.send_message(chat_id=int(address), text=text)
        except TelegramAPIError as error:
            raise _delivery_failed(error) from error


def _response_types(*methods: type[TelegramMethod[Any]]) -> tuple[type[Response[Any]], ...]:
    return tuple(Response[method.__returning__] for method in methods)  # type: ignore[name-defined]


def _delivery_failed(error: TelegramAPIError) -> DeliveryFailed:
    if isinstance(error, TelegramForbiddenError):
        return DeliveryFailed(f"telegram: {error.message}", permanent=True)
    if isinstance(error, TelegramBadRequest | TelegramNotFound):
        return DeliveryFailed(f"telegram: {error.message}", permanent=True)
    if isinstance(error, TelegramRetryAfter):
        return DeliveryFailed(
            f"telegram: rate limited, retry after {error.retry_after}s", permanent=False
        )
    if isinstance(error, TelegramNetworkError):
        return DeliveryFailed(f"telegram: network error: {error.message}", permanent=False)
    return DeliveryFailed(f"telegram: {error.message}", permanent=False)
