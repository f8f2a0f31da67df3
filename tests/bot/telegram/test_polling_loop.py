"""The getUpdates loop on its own: bounded handling, retries, and an offset that only moves
past updates handled or given up on."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable

import pytest
from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message
from aiogram.utils.backoff import BackoffConfig

from bot.telegram import polling
from bot.telegram.polling import Polling
from storage.errors import StateStoreUnavailable
from tests.bot.telegram.botapi import TOKEN, BotAPI, message_update

FAST = BackoffConfig(min_delay=0.01, max_delay=0.05, factor=2, jitter=0)


class Recorder:
    """A dispatcher whose one handler counts each text it sees, and fails as told."""

    def __init__(self) -> None:
        self.seen: Counter[str] = Counter()
        self.handled: Counter[str] = Counter()
        self.running = 0
        self.most_at_once = 0
        self.fail: Callable[[str, int], BaseException | None] = lambda text, attempt: None
        self.pause = 0.0
        self.dispatcher = Dispatcher(disable_fsm=True)
        router = Router()

        @router.message()
        async def on_message(msg: Message) -> None:
            text = msg.text or ""
            self.seen[text] += 1
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            try:
                await asyncio.sleep(self.pause)
                error = self.fail(text, self.seen[text])
                if error is not None:
                    raise error
                self.handled[text] += 1
            finally:
                self.running -= 1

        self.dispatcher.include_router(router)


@pytest.fixture
async def bot(botapi: BotAPI) -> AsyncIterator[Bot]:
    session = AiohttpSession(api=TelegramAPIServer.from_base(botapi.url))
    bot = Bot(TOKEN, session=session)
    yield bot
    await bot.session.close()


async def until(check: Callable[[], bool], within: float = 10.0) -> None:
    for _ in range(int(within / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("not within the time")


def push(botapi: BotAPI, *texts: str) -> list[int]:
    ids = []
    for text in texts:
        ids.append(botapi.next_update_id())
        botapi.push(message_update(ids[-1], 1001, text))
    return ids


async def test_a_burst_is_handled_once_each_never_more_at_once_than_allowed(
    bot: Bot, botapi: BotAPI
) -> None:
    recorder = Recorder()
    recorder.pause = 0.01
    loop = Polling(bot, recorder.dispatcher, concurrency=4, allowed_updates=["message"])
    texts = [f"m{i}" for i in range(250)]  # more than one getUpdates window (100)
    ids = push(botapi, *texts)
    loop.start()
    try:
        await until(lambda: sum(recorder.handled.values()) == len(texts))
    finally:
        await loop.stop()
    assert recorder.handled == Counter(texts)
    assert recorder.most_at_once == 4
    assert loop.offset == ids[-1] + 1
    assert botapi.updates == []  # all confirmed


async def test_an_update_failing_on_a_store_is_retried_and_holds_the_offset(
    bot: Bot, botapi: BotAPI
) -> None:
    recorder = Recorder()
    store_back = asyncio.Event()
    recorder.fail = lambda text, attempt: (
        StateStoreUnavailable("redis://x", "down")
        if text == "while down" and not store_back.is_set()
        else None
    )
    loop = Polling(bot, recorder.dispatcher, concurrency=8, allowed_updates=["message"], retry=FAST)
    down, after = push(botapi, "while down", "after")
    loop.start()
    try:
        await until(lambda: recorder.seen["while down"] >= 3 and recorder.handled["after"] == 1)
        assert loop.offset == down  # "after" is handled, but nothing past "while down" confirmed
        assert [u["update_id"] for u in botapi.updates] == [down, after]
        store_back.set()
        await until(lambda: recorder.handled["while down"] == 1)
        await until(lambda: loop.offset == after + 1)
    finally:
        await loop.stop()
    assert recorder.handled == Counter({"while down": 1, "after": 1})


async def test_an_update_failing_for_another_reason_is_given_up_after_three_tries(
    bot: Bot, botapi: BotAPI
) -> None:
    recorder = Recorder()
    recorder.fail = lambda text, attempt: ValueError("a bug") if text == "poison" else None
    loop = Polling(bot, recorder.dispatcher, concurrency=8, allowed_updates=["message"], retry=FAST)
    ids = push(botapi, "poison", "fine")
    loop.start()
    try:
        await until(lambda: loop.offset == ids[-1] + 1)
    finally:
        await loop.stop()
    assert recorder.seen["poison"] == 3 and recorder.handled["fine"] == 1


async def test_stopping_leaves_an_update_still_being_handled_unconfirmed(
    bot: Bot, botapi: BotAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(polling, "STOP_WAIT_S", 0.05)
    recorder = Recorder()
    recorder.pause = 60.0  # still being handled when cxbot stops
    loop = Polling(bot, recorder.dispatcher, concurrency=8, allowed_updates=["message"])
    (slow,) = push(botapi, "slow")
    loop.start()
    await until(lambda: recorder.seen["slow"] == 1)
    await loop.stop()
    assert [u["update_id"] for u in botapi.updates] == [slow]  # Telegram sends it again later
    assert recorder.handled["slow"] == 0


class SwallowingBot:
    """A bot whose long poll swallows the first cancellation, as Python 3.11's
    asyncio.wait_for or redis-py 8.1 can, and then polls again."""

    def __init__(self) -> None:
        self.polls = 0
        self.swallowed = 0
        self.session = AiohttpSession()  # its timeout sets the request's

    async def __call__(self, method: object, request_timeout: int | None = None) -> list[object]:
        self.polls += 1
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            if self.swallowed:
                raise
            self.swallowed += 1
        return []


async def test_stop_ends_the_loop_even_when_a_cancellation_is_swallowed() -> None:
    bot = SwallowingBot()
    loop = Polling(bot, Dispatcher(), concurrency=1, allowed_updates=[])  # type: ignore[arg-type]
    loop.start()
    await asyncio.sleep(0.05)  # in its first long poll

    try:
        await asyncio.wait_for(loop.stop(), 5)  # it hung for good, one long poll after another
    finally:
        await bot.session.close()

    assert bot.swallowed == 1
    assert bot.polls <= 2
