"""Replies to Slack customers take turns in the workspace's paced stream, as invitations do."""

from __future__ import annotations

import asyncio
import itertools
import secrets
from collections.abc import AsyncIterator, Callable

import pytest

from bot.delivery.limits import SendLimits, channel_rates
from bot.paced import mark_paced
from bot.runner import sleep_until
from bot.settings import Settings
from bot.slack.client import MESSAGE_METHODS, PacedWebClient
from storage.db import Database
from tests.bot.conftest import running_with_slack
from tests.bot.slack.test_survey_flow import invite, tap
from tests.bot.slack.webapi import BOT_TOKEN, SlackAPI, dm_channel
from tests.bot.telegram.botapi import BotAPI

# Two messages a second for the workspace: a moment every 500 ms, far wider than a loaded
# machine's delays (the checks below allow 100 ms of them).
RATE = "2/second"
GAP = 0.5
SLACK = "slack"

Opener = Callable[[str], SendLimits]


@pytest.fixture(params=["memory", "redis"])
async def limits_of(request: pytest.FixtureRequest, redis_url: str) -> AsyncIterator[Opener]:
    """Takers of one workspace's turns at a given rate: on one Redis (each call another
    process), or in memory (one process: every call the same limits)."""
    opened: list[SendLimits] = []
    prefix = f"cxtest-{secrets.token_hex(5)}"

    def open_limits(rate: str) -> SendLimits:
        if request.param == "memory" and opened:
            return opened[0]
        rates = channel_rates(Settings.model_validate({"CXBOT_SLACK_RATE": rate}))
        url = redis_url if request.param == "redis" else None
        opened.append(SendLimits.open(rates, url, prefix))
        return opened[-1]

    yield open_limits
    for limits in opened:
        await limits.close()


def client_of(slackapi: SlackAPI, limits: SendLimits) -> PacedWebClient:
    """A process's Web API client, wired to its limits as delivery wires cxbot's."""
    client = PacedWebClient(token=BOT_TOKEN, base_url=slackapi.base_url)
    client.replies = limits.replies(SLACK)
    return client


async def send_invitation(limits: SendLimits, client: PacedWebClient, channel: str) -> None:
    """What a delivery job does: take a turn, mark it, post at its moment."""
    while not (turn := await limits.take(SLACK, channel)).granted:
        await turn.wait_out()
    await sleep_until(turn.at)
    mark_paced(turn.at, turn.slot)
    await client.chat_postMessage(channel=channel, text="How likely are you to recommend us?")


def message_times(slackapi: SlackAPI) -> list[float]:
    return sorted(call.at for call in slackapi.calls if call.method in MESSAGE_METHODS)


async def test_replies_while_invitations_go_out_keep_the_workspace_rate(
    limits_of: Opener, slackapi: SlackAPI
) -> None:
    worker, web = limits_of(RATE), limits_of(RATE)
    sender, replier = client_of(slackapi, worker), client_of(slackapi, web)

    async def invitations() -> None:
        for n in range(3):  # each to its own channel: only the workspace's limit applies
            await send_invitation(worker, sender, f"C0INVITE{n}")

    async def replies() -> None:
        await slackapi.wait_for("chat.postMessage", 1)  # invitations are going out
        await replier.chat_update(channel="D0ANA", ts="1.000001", text="You gave 9")
        await replier.chat_postEphemeral(channel="C0SUPPORT", user="U0BOB", text="Thanks!")

    await asyncio.gather(invitations(), replies())

    times = message_times(slackapi)
    assert len(times) == 5
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    # One message a moment: no reply lands on top of an invitation, nor they on it (a message
    # on top of another arrives milliseconds after it; half a gap leaves room for a loaded
    # machine writing one of them late: 0.399 s was seen at load 11).
    assert min(gaps) > GAP / 2, gaps


async def test_lookups_and_modals_take_no_turn_and_a_reply_waits_for_one(
    limits_of: Opener, slackapi: SlackAPI
) -> None:
    slackapi.add_user("U0ANA")
    limits = limits_of("1/minute")  # after one message, the next has to wait a minute
    client = client_of(slackapi, limits)
    await send_invitation(limits, client, "C0INVITE")

    async with asyncio.timeout(10):  # none of these waits for the minute
        await client.conversations_open(users="U0ANA")
        await client.users_info(user="U0ANA")
        await client.views_open(trigger_id="1.2.3", view={"type": "modal", "blocks": []})
    reply = asyncio.create_task(client.chat_update(channel="D0ANA", ts="1.1", text="You gave 9"))
    await asyncio.sleep(0.5)
    reply.cancel()

    assert [c.method for c in slackapi.calls] == [
        "chat.postMessage",
        "conversations.open",
        "users.info",
        "views.open",
    ]  # the reply was still waiting for its turn


async def test_replies_go_when_redis_is_gone(slackapi: SlackAPI) -> None:
    rates = channel_rates(Settings.model_validate({"CXBOT_SLACK_RATE": RATE}))
    limits = SendLimits.open(rates, "redis://127.0.0.1:1/0", "cxtest")  # nothing listens there
    client = client_of(slackapi, limits)
    try:
        async with asyncio.timeout(10):
            await client.chat_update(channel="D0ANA", ts="1.1", text="You gave 9")
            await client.chat_postMessage(channel="D0ANA", text="Thanks!")
    finally:
        await limits.close()
    assert [c.method for c in slackapi.calls] == ["chat.update", "chat.postMessage"]


async def test_a_customers_tap_is_answered_at_the_workspaces_next_moment(
    database: Database, redis_url: str, botapi: BotAPI, slackapi: SlackAPI
) -> None:
    # One message a second: the tap comes well within the second after the question.
    async with running_with_slack(
        database, redis_url, botapi, slackapi, CXBOT_SLACK_RATE="1/second"
    ) as harness:
        await invite(harness)
        [question] = [c for c in slackapi.calls if c.method == "chat.postMessage"]
        await tap(harness, question.params, "9")
        await slackapi.wait_for("chat.update", 1)
    [edit] = [c for c in slackapi.calls if c.method == "chat.update"]
    assert edit.params["channel"] == dm_channel("U0CUSTOMER")
    assert edit.at - question.at > 1.0 - 0.1, (question.at, edit.at)
