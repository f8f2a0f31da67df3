"""bolt listeners: turn button taps, comments and DMs into runner calls, and show the outcome."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.background import Background
from bot.errors import DeliveryFailed
from bot.metrics.counters import HANDLER_ERRORS
from bot.runner import SurveyRunner
from bot.slack.admin import SlackAdmin
from bot.slack.blocks import ACTION_PREFIX, SKIP_VALUE
from bot.slack.comments import register_comments
from bot.slack.context import Where, someone_else, tapped
from bot.slack.replay import Replays, keep_on_outage
from storage.state import BaseStateStore, key
from surveys.conversation import Skip, Tap
from surveys.messages import Message, message

log = logging.getLogger(__name__)

CHANNEL = "slack"
# Slack retries an event three times, the last about five minutes after the first: an hour is
# plenty.
SEEN_TTL = 3600.0


def register(
    app: AsyncApp,
    runner: SurveyRunner,
    state: BaseStateStore,
    background: Background,
    *,
    admin: SlackAdmin | None = None,
    replays: Replays | None = None,
) -> None:
    """Listen for taps, comments, /cx and DMs. A DM that fails is answered 500 (Slack delivers
    it again); a tap that fails on an unreachable store is kept in `replays` (see replay.py);
    `background` keeps a comment still being stored when its modal had to be closed."""
    client = app.client

    async def notify(place: Where, user: str, text: str | None) -> None:
        if text and place.channel:
            await client.chat_postEphemeral(
                channel=place.channel, user=user, text=text, thread_ts=place.thread
            )

    # First: the generic listener below matches every cx_ action id.
    register_comments(app, runner, state, notify, background, replays)

    @app.action(re.compile(f"^{ACTION_PREFIX}"))
    async def on_tap(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        if (tap := await tapped(body, action, notify)) is None:
            return
        user, place, button = tap
        if not place.in_dm:
            # In a channel anyone can tap: name the person the survey is for.
            _, notice = await someone_else(runner, button.invitation, user)
            if notice is not None:
                await notify(place, user, notice)
                return
        reply: Tap | Skip = (
            Skip(button.question)
            if button.value == SKIP_VALUE
            else Tap(button.question, button.value)
        )

        async def answer() -> None:
            outcome = await runner.handle_button(CHANNEL, button.invitation, user, reply, None)
            await notify(place, user, outcome.notice)

        try:
            await answer()
        except Exception as error:
            # Slack never sends an interaction again: keep the tap while a store is away.
            what = f"tap on invitation {button.invitation} by {user}"
            if not keep_on_outage(replays, what, answer, error):
                raise
            await notify(place, user, message(Message.ANSWER_KEPT, "en"))

    @app.command("/cx")
    async def on_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack()
        if admin is not None and await admin.answer(command):
            return  # an admin command, or /cx forget
        user = str(command["user_id"])
        outcome = await runner.remind(CHANNEL, user, None)
        await notify(Where(command.get("channel_id"), None), user, outcome.notice)

    @app.event("message")
    async def on_message(body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("channel_type") != "im" or event.get("bot_id") or event.get("subtype"):
            return  # our own messages, edits, joins: nothing a customer answered
        # bolt does not dedupe: Slack resends an event it thinks was not acknowledged in time.
        seen = key("seen", CHANNEL, event_id) if (event_id := body.get("event_id")) else None
        if seen is not None and not await state.claim(seen, SEEN_TTL):
            return
        try:
            outcome = await runner.handle_text(
                CHANNEL, str(event["user"]), str(event.get("text") or ""), None
            )
        except Exception:
            # Not handled after all: let Slack's retry of this event through.
            if seen is not None:
                await state.delete(seen)
            raise
        if outcome.notice:
            await client.chat_postMessage(channel=event["channel"], text=outcome.notice)

    @app.error
    async def on_error(error: Exception) -> None:
        HANDLER_ERRORS.labels("slack").inc()
        # A send that failed after the answer was saved is logged; the answer stays.
        if isinstance(error, DeliveryFailed):
            log.warning("slack delivery failed: %s", error.reason)
            return
        log.error("slack listener failed", exc_info=error)
