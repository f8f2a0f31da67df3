"""Telegram channel: aiogram 3 translating Bot API updates to the runner and prompts back."""

from bot.telegram.service import TelegramService

__all__ = ["TelegramService"]
