"""Rate limits shared by every process: per chat, per bot, and 429 pauses for everyone."""

from __future__ import annotations

import asyncio
import itertools
import secrets
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Literal, overload

import pytest

from bot.delivery import InvalidRate, pacing
from bot.delivery.limits import SendLimits, channel_rates
from bot.delivery.pacing import Moment
from bot.errors import DeliveryFailed
from bot.paced import PacedTurn
from bot.services import open_services
from bot.settings import Settings
from bot.slack import SlackService
from bot.slack.retry import shared_rate_limit_handler
from storage.clock import utcnow
from storage.db import Database
from storage.tables import InvitationStatus
from tests.bot.conftest import cxbot_settings
from tests.bot.delivery.conftest import CourierFactory, Pair, store_invitation
from tests.bot.slack.webapi import BOT_TOKEN, SlackAPI

CHAT = 1001
SEND = "cxbot.send"


def async_value(read: Callable[[], object]) -> Callable[[], Awaitable[object]]:
    async def check() -> object:
        return read()

    return check


@pytest.fixture
async def shared_limits(redis_url: str) -> AsyncIterator[tuple[SendLimits, SendLimits]]:
    """Two processes' limits on one Redis (same prefix), as a web and a worker would have."""
    rates = channel_rates(Settings.model_validate({"CXBOT_TELEGRAM_RATE": "30/second"}))
    prefix = f"cxtest-{secrets.token_hex(5)}"
    one = SendLimits.open(rates, redis_url, prefix)
    other = SendLimits.open(rates, redis_url, prefix)
    yield one, other
    await one.close()
    await other.close()


async def test_two_invitations_to_one_chat_go_out_a_second_apart(
    start_cxbot: CourierFactory,
) -> None:
    async with start_cxbot(CXBOT_TELEGRAM_CHAT_RATE="1/second") as courier:
        first = await courier.store(CHAT, "T-1")
        second = await courier.store(CHAT, "T-2")
        await courier.delivery.submit(first)
        await courier.delivery.submit(second)
        for invitation_id in (first, second):
            await courier.wait_row(invitation_id, lambda i: i.status == InvitationStatus.SENT)

    earlier, later = courier.botapi.delivered(CHAT)
    # Their moments are 1.02 s apart; the arrivals jitter by milliseconds on a busy machine.
    assert later.at - earlier.at >= 0.95


async def test_a_busy_chat_does_not_hold_the_only_worker_slot(start_cxbot: CourierFactory) -> None:
    # One slot, one message a minute per chat: the second message to chat A waits in the
    # queue (not in the slot), so chat B, queued after it, is served at once.
    async with start_cxbot(CXBOT_WORKER_CONCURRENCY=1, CXBOT_TELEGRAM_CHAT_RATE="1/minute") as c:
        a1, a2 = await c.store(CHAT, "A-1"), await c.store(CHAT, "A-2")
        b = await c.store(2002, "B-1")
        for invitation_id in (a1, a2, b):
            await c.delivery.submit(invitation_id)
        await c.wait_row(b, lambda i: i.status == InvitationStatus.SENT)

        async def b_job_finished() -> bool:  # the row says sent a moment before the job ends
            return all(job.task_kwargs["invitation_id"] != b for job in await c.queued(SEND))

        await c.wait_until(b_job_finished)
        assert (await c.row(a1)).status == InvitationStatus.SENT
        assert (await c.row(a2)).status == InvitationStatus.SCHEDULED
        [waiting] = await c.queued(SEND)
        assert waiting.task_kwargs["invitation_id"] == a2
        assert str(getattr(waiting.status, "value", waiting.status)) == "todo"
        # ... until the chat's minute is over, about 60 s after the first message went
        first_sent = datetime.fromtimestamp(c.botapi.delivered(CHAT)[0].at, UTC)
        assert waiting.scheduled_at is not None
        assert waiting.scheduled_at > first_sent + timedelta(seconds=50)

    assert [int(call.params["chat_id"]) for call in c.botapi.delivered()] == [CHAT, 2002]


async def test_a_telegram_429_pauses_every_send_for_its_retry_after(
    start_cxbot: CourierFactory,
) -> None:
    async with start_cxbot() as courier:
        courier.botapi.rate_limit(retry_after=2)
        first, second = await courier.store(CHAT, "T-1"), await courier.store(2002, "T-2")
        await courier.delivery.submit(first)
        await courier.wait_until(
            async_value(lambda: [c for c in courier.botapi.calls if c.status == 429])
        )
        await courier.delivery.submit(second)  # another chat, but the same bot
        for invitation_id in (first, second):
            await courier.wait_row(invitation_id, lambda i: i.status == InvitationStatus.SENT)

    [refused] = [c for c in courier.botapi.calls if c.status == 429]
    delivered = courier.botapi.delivered()
    assert sorted(int(c.params["chat_id"]) for c in delivered) == [CHAT, 2002]
    assert all(call.at >= refused.at + 2 for call in delivered)


async def test_a_pause_reaches_another_process(
    shared_limits: tuple[SendLimits, SendLimits],
) -> None:
    web, worker = shared_limits
    assert (await worker.take("telegram", "42")).granted

    await web.pause("telegram", "42", 3.0)

    for chat in ("42", "43"):  # the chat and, with it, the whole bot
        turn = await worker.take("telegram", chat)
        assert 2.0 < turn.wait <= 3.0
        assert not turn.per_address
    assert (await worker.take("slack", "U1")).granted  # Slack is not Telegram


async def test_one_chat_limit_is_shared_by_processes(
    shared_limits: tuple[SendLimits, SendLimits],
) -> None:
    web, worker = shared_limits
    assert (await web.take("telegram", "42")).granted

    turn = await worker.take("telegram", "42")  # default 1/second per chat
    assert not turn.granted and turn.per_address and 0 < turn.wait <= 1.0
    assert (await worker.take("telegram", "43")).granted  # other chats go on


async def test_a_slack_429_pauses_the_workspace(slackapi: SlackAPI) -> None:
    # One attempt: the error comes straight back, while the pause still runs.
    settings = Settings.model_validate(
        {"SLACK_API_URL": slackapi.base_url, "CXBOT_SEND_ATTEMPTS": 1}
    )
    slack = SlackService(settings, BOT_TOKEN)
    limits = SendLimits.open(channel_rates(settings), None, "cxtest")
    handler = shared_rate_limit_handler(slack.client)
    assert handler is not None
    handler.listeners.append(lambda address, seconds: limits.pause("slack", address, seconds))
    slackapi.add_user("U012AB3CD")
    slackapi.rate_limit("chat.postMessage", retry_after=3)

    with pytest.raises(DeliveryFailed) as raised:
        await slack.channel.send_text("U012AB3CD", "hello")

    assert not raised.value.permanent  # the job queue tries again later
    turn = await limits.take("slack", "U999")
    assert 2 < turn.wait <= 3 and turn.bucket == "slack (paused)"
    assert (await limits.take("telegram", "42")).granted
    await limits.close()


@pytest.mark.parametrize(
    ("setting", "value"),
    [("CXBOT_TELEGRAM_RATE", "fast"), ("CXBOT_SLACK_CHANNEL_RATE", "1 per fortnight")],
)
async def test_a_bad_rate_stops_the_start_naming_the_setting(
    database: Database, redis_url: str, setting: str, value: str
) -> None:
    settings = cxbot_settings(database, redis_url, **{setting: value})

    with pytest.raises(InvalidRate) as raised:
        await open_services(settings)

    assert str(raised.value).startswith(f"{setting}={value!r} is not a rate")


@overload
async def reserved_moments(limits: Pair, count: int) -> list[float]: ...


@overload
async def reserved_moments(
    limits: Pair, count: int, *, moments_of: Literal[True], first_chat: int = 0
) -> list[Moment]: ...


async def reserved_moments(
    limits: Pair, count: int, *, moments_of: bool = False, first_chat: int = 0
) -> list[float] | list[Moment]:
    """The moments the pacer reserves, on its own clock, for ``count`` sends to different
    chats of one bot that ask by turns from both takers, straight on when told to wait."""
    moments: list[Moment] = []
    chat = first_chat
    while len(moments) < count:
        chat += 1
        one = limits[chat % 2]
        streams = one.rates["telegram"].streams("telegram", f"telegram:{chat}")
        moment = await one.pacer.reserve(streams)
        if moment.reserved:
            moments.append(moment)
        else:
            assert moment.busiest is not None and moment.busiest.name == "telegram"
            await asyncio.sleep(max(moment.wait - pacing.AHEAD_S, 0.0))
    return moments if moments_of else [moment.at for moment in moments]


async def test_sends_of_one_bot_get_moments_an_even_gap_apart(
    two_processes: Callable[[str], Pair],
) -> None:
    moments = await reserved_moments(two_processes("30/second"), 12)

    gaps = [later - earlier for earlier, later in itertools.pairwise(moments)]
    # 30/second: a message every 33.3 ms, never two together (a burst; the bot's stream keeps
    # its headroom in its window, tested below). The
    # moments are the pacer's own (Redis' clock, or this process's), not blurred by the time
    # an answer takes to arrive on a busy machine; Redis writes them to a tenth of a ms.
    gap = 1 / 30
    assert all(later > gap - 0.000_5 for later in gaps), gaps
    # ... and no slower than that, when senders keep asking: they come back AHEAD_S (50 ms)
    # before the next moment, so only an ask delayed longer than that leaves a wider gap.
    assert abs(statistics.median(gaps) - gap) < 0.000_5, gaps
    assert moments[-1] - moments[0] < 11 * gap + 0.3


async def test_a_send_that_left_late_keeps_the_one_a_window_later_away_from_when_it_went(
    two_processes: Callable[[str], Pair],
) -> None:
    limits = two_processes("3/second")  # a moment every 333 ms, 3 in any second
    bot = limits[0].rates["telegram"].streams("telegram", "")[0]
    first, second, third = await reserved_moments(limits, 3, moments_of=True)
    # The first left 200 ms after its moment (a slow claim, a busy loop): three sends would
    # arrive within one second if the fourth kept to the moments handed out (a gap after the
    # third, or the window's 1.005 s after the first's moment).
    await limits[1].departed("telegram", [(PacedTurn(first.at, first.slot), 0.2)])

    (fourth,) = await reserved_moments(limits, 1, moments_of=True, first_chat=10)

    # Never sooner than a window and the margin after the first really left (nor than a gap
    # after the third, which a loaded machine may have asked for late); exactly then when the
    # fourth was asked for in time.
    expected = max(first.at + 0.2 + 1.0 + pacing.WINDOW_MARGIN_S, third.at + bot.gap)
    assert fourth.at > expected - 0.000_5, [m.at for m in (first, second, third, fourth)]
    if fourth.busiest is not None:
        assert fourth.at < expected + 0.000_5, [m.at for m in (first, second, third, fourth)]
    assert bot.count == 3 and bot.window == 1.0


async def test_a_send_that_left_late_holds_back_the_next_one_to_its_chat(
    two_processes: Callable[[str], Pair],
) -> None:
    worker, other = two_processes("30/second")  # chats: one a second (CXBOT_TELEGRAM_CHAT_RATE)
    first = await worker.take("telegram", "7")
    assert first.granted
    began = time.monotonic()
    # It left 0.4 s after its moment (a slow claim, a busy loop): the next message to chat 7
    # must keep the chat's gap from when it really went, not from its moment.
    late = PacedTurn(first.at, first.slot, first.chat)
    await other.departed("telegram", [(late, 0.4)])

    second = await worker.take("telegram", "7")
    waited = second.wait + (time.monotonic() - began)

    assert not second.granted and second.per_address  # only this chat waits
    chat_gap = worker.rates["telegram"].streams("telegram", "telegram:7")[1].gap
    assert waited > 0.4 + chat_gap - pacing.AHEAD_S - 0.05, waited


async def test_a_429_widens_the_window_s_margin(
    two_processes: Callable[[str], Pair],
) -> None:
    limits = two_processes("3/second")  # 3 in any second
    await limits[1].pause("telegram", "9", 0.001)  # Telegram said 429 (a 1 ms retry_after)
    first, _, third, fourth = await reserved_moments(limits, 4, moments_of=True)

    # The fourth goes a window after the first, and the margin widened to three times the least
    # (narrowed a little by each of the three sends between); never sooner (nor than a gap
    # after the third, which a loaded machine may have asked for late), exactly then when it
    # was asked for in time.
    margin = (pacing.WINDOW_MARGIN_S * 3) * pacing.MARGIN_DECAY**3
    gap = limits[0].rates["telegram"].streams("telegram", "")[0].gap
    expected = max(first.at + 1.0 + margin, third.at + gap)
    assert fourth.at > expected - 0.000_5, (fourth.at - first.at, third.at - first.at)
    if fourth.busiest is not None:
        assert fourth.at < expected + 0.000_5, (fourth.at - first.at, third.at - first.at)


async def test_a_moment_is_handed_out_only_shortly_ahead(
    two_processes: Callable[[str], Pair],
) -> None:
    one, other = two_processes("2/second")  # a send every 500 ms

    began = time.monotonic()
    first, second = await one.take("telegram", "1"), await other.take("telegram", "2")
    between = time.monotonic() - began  # a loaded machine's delays, up to a tenth of a second

    assert first.granted
    # The next moment is 500 ms ahead: not handed out yet; come back 50 ms before it.
    assert not second.granted and second.bucket == "telegram"
    assert 0.5 - 0.05 - between - 0.001 < second.wait <= 0.5 - 0.05, (second, between)


async def test_a_backlog_goes_out_oldest_due_first(
    database: Database, start_cxbot: CourierFactory
) -> None:
    # Twelve invitations due over the last eleven minutes, stored newest first, wait for a
    # sender; then one slot at five messages a second sends them oldest-due first.
    now = utcnow()
    due = {3000 + minutes: now - timedelta(minutes=minutes) for minutes in range(12)}
    ids = [
        await store_invitation(database, chat, f"T-{chat}", scheduled_at=at)
        for chat, at in due.items()
    ]
    async with start_cxbot(
        CXBOT_EMBEDDED_WORKER="false", CXBOT_WORKER_CONCURRENCY=1, CXBOT_TELEGRAM_RATE="5/second"
    ) as c:
        for invitation_id, at in zip(ids, due.values(), strict=True):
            await c.delivery.schedule(invitation_id, at)  # SQLite: queued from SQL at start
        await c.delivery.drain()

    delivered = [int(call.params["chat_id"]) for call in c.botapi.delivered()]
    assert delivered == sorted(due, key=due.__getitem__)
