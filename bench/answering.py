"""Customers answering while a delivery backlog goes out: for bench/delivery.py --answering.

A real `cxbot run` process (no embedded worker) polls the fake Bot API, as a bot in production
does; the customers are played by pushing updates into that server. Each second, R customers
whose invitation arrived at least READ_S before tap a score; once the bot has asked them "why?"
they send a comment. The server counts every message-sending and editing call against its
window, so the bot's replies (the edited question, the "why?", the thanks) and the workers'
invitations share the limit, as on Telegram.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import signal
import statistics
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import ClientSession
from botapi_process import COUNTED, Call, RemoteBotAPI

from tests.bot.delivery.fleet import REPOSITORY, WorkerSetup
from tests.bot.telegram.botapi import callback_update, message_update

# A customer taps this long after their invitation arrived, at the soonest.
READ_S = 0.5
# How often the customers look at what the bot sent them.
LOOK_S = 0.1
READY_LINE = b"telegram: polling"
# Once the backlog is over, the last customers still comment and are thanked for this long.
TAIL_S = 5.0


def is_invitation(call: Call) -> bool:
    """An invitation's first question: a sendMessage with the score buttons."""
    return call.method == "sendMessage" and ":score:" in str(call.params.get("reply_markup", ""))


@dataclass
class Customer:
    chat: int
    invitation_id: int
    message_id: int
    tapped_at: float = 0.0
    asked_at: float = 0.0  # when the bot's "why?" arrived
    commented_at: float = 0.0


@dataclass
class Customers:
    """Taps and comments pushed into the fake Bot API at ``per_second`` customers a second."""

    remote: RemoteBotAPI
    invitation_of: dict[int, int]  # chat -> invitation id
    per_second: float
    answered: dict[int, Customer] = field(default_factory=dict)
    _ready: deque[tuple[float, int, int]] = field(default_factory=deque)
    _seen: int = 0
    _update_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def run(self, done: Callable[[], bool]) -> None:
        """Tap until ``done()`` (a customer only once their invitation arrived), then comment
        for TAIL_S more."""
        async with ClientSession() as client:
            began, ended = time.time(), 0.0
            while not ended or time.time() < ended + TAIL_S:
                if not ended and done():
                    ended = time.time()
                await self._look(client)
                taps_due = 0 if ended else int((time.time() - began) * self.per_second)
                due = taps_due - len(self.answered)
                taps = []
                while due > 0 and self._ready and self._ready[0][0] <= time.time() - READ_S:
                    _, chat, message_id = self._ready.popleft()
                    taps.append(self._tap(chat, message_id))
                    due -= 1
                comments = [self._comment(c) for c in self.answered.values() if self._asked(c)]
                if taps or comments:
                    await self.remote.push(client, taps + comments)
                await asyncio.sleep(LOOK_S)

    async def _look(self, client: ClientSession) -> None:
        calls = await self.remote.calls(client, since=self._seen)
        self._seen += len(calls)
        for call in calls:
            if call.status != 200 or call.method != "sendMessage":
                continue
            chat = int(call.params["chat_id"])
            if is_invitation(call):
                if chat in self.invitation_of and chat not in self.answered:
                    self._ready.append((call.at, chat, int(call.params["_message_id"])))
            elif (customer := self.answered.get(chat)) and not customer.asked_at:
                customer.asked_at = call.at

    def _tap(self, chat: int, message_id: int) -> dict[str, object]:
        customer = Customer(chat, self.invitation_of[chat], message_id, tapped_at=time.time())
        self.answered[chat] = customer
        data = f"cx:{customer.invitation_id}:score:{chat % 11}"
        return callback_update(next(self._update_ids), chat, data, message_id=message_id)

    @staticmethod
    def _asked(customer: Customer) -> bool:
        return bool(customer.asked_at) and not customer.commented_at

    def _comment(self, customer: Customer) -> dict[str, object]:
        customer.commented_at = time.time()
        return message_update(next(self._update_ids), customer.chat, f"comment {customer.chat}")


@dataclass(frozen=True)
class ReplyFigures:
    customers: int
    thanked: int  # customers whose thanks arrived
    replies: int  # message-sending or editing calls accepted that were not invitations
    refused: int  # of those, answered 429
    tap_p50: float  # tap -> the "why?" arrived
    tap_p99: float
    comment_p50: float  # comment -> the thanks arrived
    comment_p99: float


def reply_figures(customers: dict[int, Customer], calls: list[Call]) -> ReplyFigures:
    replies = [c for c in calls if c.method in COUNTED and not is_invitation(c)]
    thanks: dict[int, float] = {}
    for call in replies:
        chat = int(call.params.get("chat_id", 0) or 0)
        customer = customers.get(chat)
        if (
            customer is not None
            and call.method == "sendMessage"
            and call.status == 200
            and customer.commented_at
            and call.at >= customer.commented_at
        ):
            thanks.setdefault(chat, call.at)
    taps = sorted(c.asked_at - c.tapped_at for c in customers.values() if c.asked_at)
    comments = sorted(thanks[chat] - customers[chat].commented_at for chat in thanks)
    return ReplyFigures(
        customers=len(customers),
        thanked=len(thanks),
        replies=sum(c.status == 200 for c in replies),
        refused=sum(c.status == 429 for c in replies),
        tap_p50=_quantile(taps, 0.50),
        tap_p99=_quantile(taps, 0.99),
        comment_p50=_quantile(comments, 0.50),
        comment_p99=_quantile(comments, 0.99),
    )


def reply_dues(customers: dict[int, Customer], calls: list[Call]) -> list[tuple[float, float]]:
    """(arrival, the moment it could go at the soonest) of every accepted reply: the update
    it answers (the tap, or the comment) was pushed then."""
    found = []
    for call in calls:
        if call.method not in COUNTED or call.status != 200 or is_invitation(call):
            continue
        customer = customers.get(int(call.params.get("chat_id", 0) or 0))
        if customer is None:
            continue
        after_comment = customer.commented_at and call.at >= customer.commented_at
        found.append((call.at, customer.commented_at if after_comment else customer.tapped_at))
    return found


def _quantile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(fraction * 100) - 1]


def _started(log_path: Path) -> bool:
    return READY_LINE in log_path.read_bytes()


@contextlib.asynccontextmanager
async def answering_bot(
    setup: WorkerSetup, log_path: Path
) -> AsyncIterator[asyncio.subprocess.Process]:
    """A `cxbot run` process polling the fake Bot API, no worker in it; stopped by SIGTERM."""
    environment = {
        **setup.environment(),
        "CXBOT_EMBEDDED_WORKER": "false",
        "CXBOT_HTTP_HOST": "127.0.0.1",
        "CXBOT_HTTP_PORT": "0",
    }
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.cli",
            "run",
            cwd=REPOSITORY,
            env=environment,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log_file,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60.0
            while not _started(log_path):
                if process.returncode is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"cxbot run did not start; its log: {log_path}")
                await asyncio.sleep(0.05)
            yield process
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
                try:
                    await asyncio.wait_for(process.wait(), 15.0)
                except TimeoutError:
                    process.kill()
                    await process.wait()
