"""Answers go back to the case they came from: the exact calls, once each, retried, or why not."""

from __future__ import annotations

import asyncio
import base64
from datetime import datetime, timedelta

import pytest
from aiohttp import ClientSession
from sqlalchemy import update

from bot.delivery.errors import InvalidRate
from bot.helpdesks.pace import WritePace
from bot.main import running
from storage.clock import utcnow
from storage.db import Database
from storage.tables import TicketWrite
from tests.bot.conftest import cxbot_settings, telegram_webhook
from tests.bot.helpdesks.conftest import (
    CHATWOOT_TOKEN,
    FRESHDESK_KEY,
    ZENDESK_EMAIL,
    ZENDESK_FIELD,
    ZENDESK_TOKEN,
    DeskHarness,
    desk_settings,
)
from tests.bot.helpdesks.deskapi import DeskAPI
from tests.bot.telegram.botapi import BotAPI
from tests.bot.telegram.test_survey_flow import say, tap


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


async def answer(desks: DeskHarness, score: str, comment: str | None = None) -> None:
    question = desks.botapi.sent()[-1]
    await tap(desks, question, score)
    if comment is not None:
        await say(desks, comment)


async def test_a_zendesk_score_and_comment_become_internal_notes_tags_and_field(
    desks: DeskHarness,
) -> None:
    invitation = await desks.invite(case_id="35436", attributes={"helpdesk": "zendesk"})
    await answer(desks, "3", "The refund took three weeks")
    first, second = await desks.deskapi.wait_for("PUT", "/35436.json", 2)
    assert first.headers["Authorization"] == basic(f"{ZENDESK_EMAIL}/token", ZENDESK_TOKEN)
    assert first.json == {
        "ticket": {
            "comment": {
                "body": f"cxbot nps survey: NPS 3/10 (detractor) [cxbot {invitation}/score]",
                "public": False,
            },
            "additional_tags": ["cxbot_nps_detractor"],
            "custom_fields": [{"id": ZENDESK_FIELD, "value": 3}],
        }
    }
    assert second.json == {
        "ticket": {
            "comment": {
                "body": f'cxbot nps survey, comment: "The refund took three weeks" '
                f"[cxbot {invitation}/why]",
                "public": False,
            }
        }
    }
    assert [w.status for w in await desks.settled(2)] == ["written", "written"]
    why = await desks.server.services.triggers.why_text("35436")
    assert f"✅ zendesk · answer score (invitation {invitation}): written" in why


async def test_a_429_waits_its_retry_after_and_writes_once(desks: DeskHarness) -> None:
    desks.deskapi.fail_next("PUT", "/35436.json", 429, {"Retry-After": "1"})
    await desks.invite(case_id="35436", attributes={"helpdesk": "zendesk"})
    await answer(desks, "10")
    refused, accepted = await desks.deskapi.wait_for("PUT", "/35436.json", 2)
    assert accepted.at - refused.at >= 0.95
    assert desks.deskapi.tags["35436"] == ["cxbot_nps_promoter"]
    assert len(desks.deskapi.notes["35436"]) == 1
    (write,) = await desks.settled()
    assert (write.status, write.attempts) == ("written", 1)  # a 429 is not a failed try


async def test_a_note_taken_but_not_acknowledged_is_not_posted_twice(desks: DeskHarness) -> None:
    # Zendesk stores the note, then the answer is lost (a 502 from a proxy): the retry looks
    # at the ticket's comments, finds the note's marker, and sets only tags and field.
    desks.deskapi.fail_next("PUT", "/35436.json", 502, after=True)
    await desks.invite(case_id="35436", attributes={"helpdesk": "zendesk"})
    await answer(desks, "8")
    await desks.settled()
    assert len(desks.deskapi.notes["35436"]) == 1
    assert [c.method for c in desks.deskapi.calls] == ["PUT", "GET", "PUT"]
    assert "comment" not in desks.deskapi.calls[-1].json["ticket"]
    assert desks.deskapi.calls[1].query == {"sort_order": "desc"}


async def test_a_write_refused_for_good_shows_in_why(desks: DeskHarness) -> None:
    desks.deskapi.fail_next("PUT", "/35436.json", 403)
    await desks.invite(case_id="35436", attributes={"helpdesk": "zendesk"})
    await answer(desks, "9")
    (write,) = await desks.settled()
    assert write.status == "failed" and "answered 403" in (write.error or "")
    why = await desks.server.services.triggers.why_text("35436")
    assert "❌ zendesk · answer score" in why and "failed for good: Zendesk answered 403" in why
    assert len(desks.deskapi.sent("PUT")) == 1  # a 4xx is not retried


async def test_a_freshdesk_score_becomes_a_private_note_and_the_custom_field(
    desks: DeskHarness,
) -> None:
    invitation = await desks.invite(case_id="4711", attributes={"helpdesk": "freshdesk"})
    await answer(desks, "9")
    (note,) = await desks.deskapi.wait_for("POST", "/tickets/4711/notes")
    (update,) = await desks.deskapi.wait_for("PUT", "/tickets/4711")
    assert note.headers["Authorization"] == basic(FRESHDESK_KEY, "X")
    assert note.json == {
        "body": f"cxbot nps survey: NPS 9/10 (promoter) [cxbot {invitation}/score]",
        "private": True,
    }
    assert update.json == {"custom_fields": {"cf_cxbot_score": 9}}


async def test_a_chatwoot_score_becomes_a_private_note_and_a_custom_attribute(
    desks: DeskHarness,
) -> None:
    desks.deskapi.attributes["512"] = {"plan": "pro"}
    invitation = await desks.invite(
        case_id="512", attributes={"helpdesk": "chatwoot", "account_id": "3"}
    )
    await answer(desks, "6")
    (message,) = await desks.deskapi.wait_for("POST", "/conversations/512/messages")
    (saved,) = await desks.deskapi.wait_for("POST", "/conversations/512/custom_attributes")
    assert message.path == "/api/v1/accounts/3/conversations/512/messages"
    assert message.headers["api_access_token"] == CHATWOOT_TOKEN
    assert message.json == {
        "content": f"cxbot nps survey: NPS 6/10 (detractor) [cxbot {invitation}/score]",
        "message_type": "outgoing",
        "private": True,
    }
    # The conversation's other attributes are sent back with ours (Chatwoot replaces them).
    assert saved.json == {"custom_attributes": {"plan": "pro", "cxbot_score": 6}, "merge": True}


async def test_invitations_not_from_a_help_desk_write_nothing(desks: DeskHarness) -> None:
    invitation = await desks.invite(case_id="T-9")
    await answer(desks, "9", "fine")
    assert [a.question_id for a in await desks.answers(invitation)] == ["score", "why"]
    assert await desks.writes() == []
    assert desks.deskapi.calls == []


async def test_writes_keep_to_the_help_desks_write_rate(
    database: Database, redis_url: str, botapi: BotAPI, deskapi: DeskAPI
) -> None:
    settings = cxbot_settings(
        database,
        redis_url,
        **telegram_webhook(botapi),
        **desk_settings(deskapi),
        CXBOT_HELPDESK_WRITE_RATE="1/second",
    )
    async with running(settings) as server, ClientSession() as http:
        desks = DeskHarness(server, http, botapi, database)
        desks.deskapi = deskapi
        await desks.invite(case_id="35436", attributes={"helpdesk": "zendesk"})
        await answer(desks, "9", "Quick")
        score, comment = await deskapi.wait_for("PUT", "/35436.json", 2)
        assert comment.at - score.at >= 0.9  # the comment waited for the window to have room
        assert [w.attempts for w in await desks.settled(2)] == [1, 1]


def test_a_write_rate_limits_cannot_read_is_refused_naming_the_setting() -> None:
    with pytest.raises(InvalidRate, match="CXBOT_HELPDESK_WRITE_RATE='fast'"):
        WritePace.rate_of("fast")


async def test_a_write_whose_job_was_lost_is_queued_by_the_sweep(
    desks: DeskHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes = desks.server.services.ticket_writes
    assert writes is not None

    async def lost(write_id: int, at: datetime) -> bool:  # the process died before deferring
        return False

    with monkeypatch.context() as patched:
        patched.setattr(writes, "defer", lost)
        await desks.invite(case_id="35436", attributes={"helpdesk": "zendesk"})
        await answer(desks, "9")
        for _ in range(200):
            if await desks.writes():
                break
            await asyncio.sleep(0.025)
        # The row is stored a moment before its job is queued: the queueing ends under the
        # patch (left after it, under load the job was queued and the sweep found it waiting).
        await writes.drain()
    (pending,) = await desks.writes()
    assert pending.status == "pending" and desks.deskapi.calls == []
    # No worker meanwhile: its periodic sweep would otherwise race this one at a minute's turn.
    worker = desks.server.services.delivery.worker
    assert worker is not None
    await worker.stop()
    assert await writes.sweep() == 0  # too recent: its job may be on the way
    async with desks.database.session() as session:
        await session.exec(update(TicketWrite).values(updated_at=utcnow() - timedelta(minutes=2)))
        await session.commit()
    assert await writes.sweep() == 1
    desks.server.services.delivery.start()
    await desks.settled()
    assert len(desks.deskapi.notes["35436"]) == 1
