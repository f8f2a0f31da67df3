"""A digest posted while a backlog of invitations goes out takes turns as they do: no 429, and
its messages to the group no faster than the group's rate."""

from __future__ import annotations

import asyncio
import functools
import itertools
import secrets
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.admin.replies import AdminReply, Attachment
from bot.delivery.limits import SendLimits, channel_rates
from bot.digests.slack import SlackDigests
from bot.digests.telegram import TelegramDigests
from bot.digests.turns import shared_turns
from bot.paced import mark_paced
from bot.runner import sleep_until
from bot.settings import Settings
from bot.slack.client import PacedWebClient
from bot.telegram.retry import RetryAfter
from tests.bot.digests.conftest import ADMIN, GROUP, TOKEN, Setup
from tests.bot.slack.webapi import BOT_TOKEN, SlackAPI
from tests.bot.telegram.botapi import BotAPI, Call

# Four messages a second for the bot, two for one chat: moments 250 ms and 510 ms apart, far
# wider than a loaded machine's delays (the checks allow 100 ms of them).
RATE, CHAT_RATE = "4/second", "2/second"
CHAT_GAP = 1 / 2 * 1.02
BACKLOG = 16  # four seconds of invitations at the bot's limit


@pytest.fixture
async def limits(redis_url: str) -> AsyncIterator[SendLimits]:
    rates = channel_rates(
        Settings.model_validate(
            {
                "CXBOT_TELEGRAM_RATE": RATE,
                "CXBOT_TELEGRAM_CHAT_RATE": CHAT_RATE,
                "CXBOT_SLACK_CHANNEL_RATE": CHAT_RATE,
            }
        )
    )
    shared = SendLimits.open(rates, redis_url, f"cxtest-{secrets.token_hex(5)}")
    yield shared
    await shared.close()


@pytest.fixture
async def bot(botapi: BotAPI, limits: SendLimits) -> AsyncIterator[Bot]:
    """The bot as cxbot wires it: 429s pause everyone, retries and replies take turns."""
    middleware = RetryAfter(attempts=3, max_wait=5.0)
    middleware.listeners.append(functools.partial(limits.pause, "telegram"))
    middleware.turns.append(functools.partial(limits.wait_for_turn, "telegram"))
    middleware.replies = limits.replies("telegram")
    session = AiohttpSession(api=TelegramAPIServer.from_base(botapi.url))
    session.middleware(middleware)
    telegram = Bot(TOKEN, session=session)
    yield telegram
    await telegram.session.close()


async def send_invitations(limits: SendLimits, bot: Bot, chats: list[int]) -> None:
    """What delivery jobs do: take a turn, mark it, send at its moment."""
    for chat in chats:
        while not (turn := await limits.take("telegram", str(chat))).granted:
            await turn.wait_out()
        await sleep_until(turn.at)
        mark_paced(turn.at, turn.slot)
        await bot.send_message(chat, "How likely are you to recommend us?")


def gaps(times: list[float]) -> list[float]:
    return [later - earlier for earlier, later in itertools.pairwise(sorted(times))]


async def test_a_digest_while_a_backlog_goes_out_keeps_the_bots_and_the_groups_limits(
    setup: Setup, botapi: BotAPI, bot: Bot, limits: SendLimits
) -> None:
    # Telegram's per-bot limit as the local Bot API plays it: one above the bot's rate, room for
    # a loaded machine's jitter, none for messages on top of the invitations'.
    botapi.flood_limit = 5
    await setup.commands.handle(ADMIN, "digest daily 08:00")
    setup.clock.now = datetime(2026, 11, 27, 7, 0)  # the digest's slot has come
    digests = setup.worker(TelegramDigests(bot, shared_turns(limits, "telegram")))

    async def digest() -> int:
        await botapi.wait_for("sendMessage", 2)  # the backlog is going out
        return await digests.tick()

    chats = list(range(1, BACKLOG + 1))
    *_, posted = await asyncio.gather(
        # Two workers' worth of sends, so that the bot's stream is always full.
        send_invitations(limits, bot, chats[::2]),
        send_invitations(limits, bot, chats[1::2]),
        digest(),
    )

    assert posted == 1
    assert [c for c in botapi.calls if c.status == 429] == []
    invitations = [c.at for c in botapi.calls if _chat(c) > 0]
    to_group = [c for c in botapi.calls if _chat(c) == int(GROUP)]
    assert len(invitations) == BACKLOG
    assert [c.method for c in to_group][:2] == ["sendMessage", "sendPhoto"]
    # The digest went while the backlog did, and its messages no faster than the group's rate.
    assert min(invitations) < to_group[0].at < max(invitations)
    assert min(gaps([c.at for c in to_group])) > CHAT_GAP - 0.1


async def test_a_slack_digest_keeps_the_channels_rate(
    slackapi: SlackAPI, limits: SendLimits
) -> None:
    client = PacedWebClient(token=BOT_TOKEN, base_url=slackapi.base_url)
    client.replies = limits.replies("slack")
    charts = [Attachment(f"chart{n}.png", "photo", data=b"\x89PNG chart") for n in range(2)]
    digests = SlackDigests(client, shared_turns(limits, "slack"))

    await digests.post("C0TEAM", AdminReply("Digest · daily 08:00 · UTC\n\nNPS 50", charts))

    posted = [c for c in slackapi.calls if c.method.startswith(("chat.", "files.complete"))]
    assert [c.method for c in posted] == ["chat.postMessage"] + ["files.completeUploadExternal"] * 2
    assert min(gaps([c.at for c in posted])) > CHAT_GAP - 0.1


async def test_a_digest_goes_when_the_limits_are_unreachable(slackapi: SlackAPI) -> None:
    rates = channel_rates(Settings.model_validate({"CXBOT_SLACK_RATE": RATE}))
    unreachable = SendLimits.open(rates, "redis://127.0.0.1:1/0", "cxtest")  # nobody there
    client = PacedWebClient(token=BOT_TOKEN, base_url=slackapi.base_url)
    try:
        digests = SlackDigests(client, shared_turns(unreachable, "slack"))
        await digests.post("C0TEAM", AdminReply("Digest · daily 08:00 · UTC\n\nNPS 50"))
    finally:
        await unreachable.close()
    assert [c.params["channel"] for c in slackapi.calls] == ["C0TEAM"]


def _chat(call: Call) -> int:
    return int(call.params.get("chat_id", 0))
