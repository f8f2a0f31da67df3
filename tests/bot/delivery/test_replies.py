"""Replies to customers take turns in the bot's paced stream, ahead of invitations."""

from __future__ import annotations

import asyncio
import functools
import secrets
import time
from collections.abc import Callable

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType

from bot.delivery import pacing
from bot.delivery.limits import SendLimits, channel_rates
from bot.delivery.pacing import Moment
from bot.delivery.replies import ReplyTurns
from bot.paced import PacedTurn, mark_paced
from bot.settings import Settings
from bot.telegram.retry import RetryAfter
from bot.telegram.session import PacedSession
from tests.bot.delivery.conftest import Pair
from tests.bot.telegram.botapi import TOKEN, BotAPI

# Two sends a second: a moment every 500 ms in the bot's stream, far wider than a loaded
# machine's delays.
RATE = "2/second"
GAP = 1 / 2


def replies_of(limits: SendLimits) -> ReplyTurns:
    replies = limits.replies("telegram")
    assert replies is not None
    return replies


async def test_a_reply_while_invitations_go_out_takes_the_next_moment_and_they_yield(
    two_processes: Callable[[str], Pair],
) -> None:
    worker, bot = two_processes(RATE)
    assert (await worker.take("telegram", "1")).granted  # an invitation goes out now
    began = time.monotonic()

    await replies_of(bot)()  # a customer taps: the reply takes the moment after it
    waited = time.monotonic() - began

    assert waited > GAP - 0.05, waited  # not on top of the invitation
    # The next invitation comes a gap after the reply, not in its place.
    later = await worker.take("telegram", "2")
    assert not later.granted and later.bucket == "telegram"


async def test_a_reply_waits_for_the_window_as_invitations_do(
    two_processes: Callable[[str], Pair],
) -> None:
    worker, bot = two_processes("3/second")  # 3 in any second, a moment every 333 ms
    began = time.monotonic()
    first, _, _ = [await reserved(worker, chat) for chat in (1, 2, 3)]
    # The first left 0.3 s after its moment: the fourth message, whichever it is, may go no
    # sooner than a second after that, though the stream's next moment is due sooner.
    await worker.departed("telegram", [(PacedTurn(first.at, first.slot), 0.3)])

    turn = await replies_of(bot)()  # a customer taps while the window is full
    waited = time.monotonic() - began

    assert turn is not None and turn.slot  # it waited for a moment, and can tell its departure
    assert waited > 1.3 - 0.05, waited


async def test_replies_while_no_invitations_go_out_go_at_once_and_invitations_wait(
    two_processes: Callable[[str], Pair],
) -> None:
    worker, bot = two_processes(RATE)
    replies = replies_of(bot)
    await replies()  # the first learns that nothing goes out (it goes at its moment: now)

    began = time.monotonic()
    await replies()
    await replies()
    gone = time.monotonic() - began
    await replies.drain()

    assert gone < GAP, gone  # they did not wait their turn...
    # ... but took it: an invitation now waits for three replies' moments, capped at 1 s
    # (the first reply's moment was now, the two others push the stream back).
    turn = await worker.take("telegram", "1")
    assert not turn.granted and turn.wait > GAP + 0.1, turn


async def test_the_middleware_counts_replies_and_not_the_sends_that_took_a_turn(
    two_processes: Callable[[str], Pair], botapi: BotAPI
) -> None:
    worker, bot = two_processes(RATE)
    middleware = RetryAfter(attempts=3, max_wait=5.0)
    middleware.replies = replies_of(bot)
    session = AiohttpSession(api=TelegramAPIServer.from_base(botapi.url))
    session.middleware(middleware)
    telegram = Bot(TOKEN, session=session)
    try:
        # An invitation: its turn was taken (the worker's), and the send is marked so.
        turn = await worker.take("telegram", "1")
        began = time.monotonic()  # the invitation's moment: now
        assert turn.granted
        mark_paced(turn.at, turn.slot)
        await telegram.send_message(1, "How likely are you to recommend us?")
        invitation = time.monotonic() - began
        await telegram.answer_callback_query("cb1")  # not a message: not counted
        await telegram.edit_message_text("You gave 9", chat_id=1, message_id=100)
        reply = time.monotonic() - began
    finally:
        await telegram.session.close()

    # The invitation went at once; the reply at the next moment, a gap after it (give or take
    # the answer of the count, on the pacer's clock).
    assert invitation < GAP - 0.1 and reply > GAP - 0.05, (invitation, reply)
    assert [call.method for call in botapi.calls] == [
        "sendMessage",
        "answerCallbackQuery",
        "editMessageText",
    ]


async def test_replies_go_at_once_when_the_limits_are_unreachable(redis_url: str) -> None:
    rates = channel_rates(Settings.model_validate({"CXBOT_TELEGRAM_RATE": RATE}))
    limits = SendLimits.open(rates, "redis://127.0.0.1:1/0", "cxtest")  # nothing listens there
    try:
        replies = replies_of(limits)
        await replies()
        await replies()  # not waiting on a count that fails each time
    finally:
        await limits.close()


class HeldUp(BaseRequestMiddleware):
    """Holds each call up between cxbot's middleware and the write, as a busy event loop or a
    slow connection from the pool does."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        await asyncio.sleep(self.seconds)
        return await make_request(bot, method)


@pytest.mark.parametrize(
    ("claim_s", "held_s"),
    [(0.3, 0.0), (0.0, 0.3)],
    ids=["late-to-the-middleware", "held-up-after-it"],
)
async def test_a_send_that_leaves_late_keeps_its_successors_a_window_from_when_it_went(
    botapi: BotAPI, redis_url: str, claim_s: float, held_s: float
) -> None:
    rates = channel_rates(Settings.model_validate({"CXBOT_TELEGRAM_RATE": "3/second"}))
    limits = SendLimits.open(rates, redis_url, f"cxtest-{secrets.token_hex(5)}")
    middleware = RetryAfter(attempts=3, max_wait=5.0)
    middleware.departed = functools.partial(limits.departed, "telegram")
    session = PacedSession(api=TelegramAPIServer.from_base(botapi.url))
    session.middleware(middleware)
    session.middleware(HeldUp(held_s))  # inner: after cxbot's middleware, before the write
    telegram = Bot(TOKEN, session=session)
    try:
        first = await limits.take("telegram", "1")
        assert first.granted
        # Its claim took claim_s (it reaches the middleware late), or it is held up held_s on
        # its way from the middleware to the socket: either way it leaves 0.3 s late.
        mark_paced(first.at - claim_s, first.slot)
        await telegram.send_message(1, "How likely are you to recommend us?")
        await middleware.reported()  # the report goes in the background
        _, _, fourth = [await reserved(limits, chat) for chat in (2, 3, 4)]
    finally:
        await telegram.session.close()
        await limits.close()

    # Three in any second, counted from when the first really left: 0.3 s later than its
    # moment, not its moment (+ 1 s and the margin).
    assert fourth.at - float(first.slot) / 1000 > 1.3
    assert [call.method for call in botapi.calls] == ["sendMessage"]


async def test_a_reply_that_waited_for_its_moment_and_left_late_tells_its_departure(
    botapi: BotAPI, redis_url: str
) -> None:
    rates = channel_rates(Settings.model_validate({"CXBOT_TELEGRAM_RATE": "3/second"}))
    limits = SendLimits.open(rates, redis_url, f"cxtest-{secrets.token_hex(5)}")
    middleware = RetryAfter(attempts=3, max_wait=5.0)
    middleware.departed = functools.partial(limits.departed, "telegram")
    middleware.replies = limits.replies("telegram")
    session = PacedSession(api=TelegramAPIServer.from_base(botapi.url))
    session.middleware(middleware)
    session.middleware(HeldUp(0.3))  # the reply is held up 0.3 s after its moment
    telegram = Bot(TOKEN, session=session)
    try:
        assert (await limits.take("telegram", "1")).granted  # invitations go out: replies wait
        await telegram.edit_message_text("You gave 9", chat_id=2, message_id=100)
        await middleware.reported()
        [reply] = botapi.calls
        _, _, third_after = [await reserved(limits, chat) for chat in (3, 4, 5)]
    finally:
        await telegram.session.close()
        await limits.close()

    # Three in any second: the third send after the reply keeps a window from when the reply
    # left (0.3 s after its moment, just before it arrived), not from its moment.
    assert third_after.at >= reply.at + 1.0 - 0.05, (third_after.at, reply.at)


async def reserved(limits: SendLimits, chat: int) -> Moment:
    """The moment reserved for a send to ``chat``, asked again until it is."""
    streams = limits.rates["telegram"].streams("telegram", f"telegram:{chat}")
    moment = await limits.pacer.reserve(streams)
    for _ in range(100):
        if moment.reserved:
            return moment
        await asyncio.sleep(max(moment.wait - pacing.AHEAD_S, 0.0))
        moment = await limits.pacer.reserve(streams)
    raise AssertionError(f"no moment for chat {chat}: {moment}")
