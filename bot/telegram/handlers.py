"""aiogram handlers: turn taps and messages into runner calls, and show the outcome."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, ErrorEvent, Message

from bot.channel import Receipt
from bot.errors import DeliveryFailed
from bot.metrics.counters import HANDLER_ERRORS
from bot.runner import Outcome, SurveyRunner, notice_language
from bot.telegram.callbacks import SKIP_VALUE, SurveyButton
from bot.telegram.dedupe import RUNNER_CHECKS
from bot.telegram.links import start_token
from surveys.conversation import Skip, Tap
from surveys.messages import Message as Text
from surveys.messages import message

log = logging.getLogger(__name__)

CHANNEL = "telegram"
# Telegram shows at most 200 characters in a callback answer.
MAX_NOTICE = 200


def build_router(runner: SurveyRunner) -> Router:
    router = Router(name="surveys")

    # `receipt` comes from HandleOnce (bot/telegram/dedupe.py), by aiogram's keyword injection;
    # the two handlers flagged RUNNER_CHECKS hand it to the runner before doing anything else.
    @router.callback_query(SurveyButton.filter(), flags={RUNNER_CHECKS: True})
    async def on_tap(
        query: CallbackQuery, callback_data: SurveyButton, receipt: Receipt | None = None
    ) -> None:
        button = callback_data
        reply: Tap | Skip = (
            Skip(button.question)
            if button.value == SKIP_VALUE
            else Tap(button.question, button.value)
        )
        answer = _TapAnswer(query)
        outcome = await runner.handle_button(
            CHANNEL,
            button.invitation,
            str(query.from_user.id),
            reply,
            query.from_user.language_code,
            acknowledge=answer.early,
            receipt=receipt,
        )
        if receipt is None or not receipt.seen:  # seen: answered the first time
            await answer.finish(outcome)

    @router.callback_query()
    async def on_bad_tap(query: CallbackQuery) -> None:
        # Not a button of ours, or one whose data no longer reads (SurveyButton's filter).
        await query.answer(message(Text.BAD_BUTTON, notice_language(query.from_user.language_code)))

    @router.message(Command("start", "help"))
    async def on_start(msg: Message, command: CommandObject) -> None:
        if msg.from_user is None:
            return
        actor, hint = str(msg.from_user.id), msg.from_user.language_code
        # An invitation's link (t.me/<bot>?start=<token>) opens a private chat with the bot.
        token = start_token(command.args) if command.command == "start" else None
        if token is not None and msg.chat.type == "private":
            outcome = await runner.open_link(CHANNEL, token, actor, str(msg.chat.id), hint)
        else:
            outcome = await runner.remind(CHANNEL, actor, hint)
        await _show(msg, outcome)

    @router.message(flags={RUNNER_CHECKS: True})
    async def on_message(msg: Message, receipt: Receipt | None = None) -> None:
        if msg.from_user is None or msg.from_user.is_bot:
            return
        # A sticker or photo while a comment is awaited is rejected like an empty comment.
        text = msg.text or msg.caption or ""
        outcome = await runner.handle_text(
            CHANNEL, str(msg.from_user.id), text, msg.from_user.language_code, receipt=receipt
        )
        await _show(msg, outcome)

    @router.errors()
    async def on_error(event: ErrorEvent) -> bool:
        return await _delivery_error(event)

    return router


class _TapAnswer:
    """Answers one callback query, once: early and without text when the runner accepts the
    tap (alongside the messages that follow it), else with the outcome's notice at the end.

    An early answer that fails is raised only at the end, where it used to happen, so the
    answer's listeners still run and Telegram still sees the update fail.
    """

    def __init__(self, query: CallbackQuery) -> None:
        self.query = query
        self.sent = False
        self.error: Exception | None = None

    async def early(self) -> None:
        self.sent = True
        try:
            await self.query.answer()
        except Exception as error:  # kept for finish(): see the class docstring
            self.error = error

    async def finish(self, outcome: Outcome) -> None:
        if self.error is not None:
            raise self.error
        if not self.sent:
            await self.query.answer(outcome.notice[:MAX_NOTICE] if outcome.notice else None)


async def _delivery_error(event: ErrorEvent) -> bool:
    """A send that failed after the answer was saved is logged; anything else propagates so
    that Telegram delivers the update again."""
    HANDLER_ERRORS.labels("telegram").inc()
    if isinstance(event.exception, DeliveryFailed):
        log.warning("telegram delivery failed: %s", event.exception.reason)
        return True
    raise event.exception


async def _show(msg: Message, outcome: Outcome) -> None:
    if outcome.notice is None:
        return
    # In groups stay quiet unless the message answered a survey: help replies would be noise.
    if outcome.handled or msg.chat.type == "private":
        await msg.answer(outcome.notice)
