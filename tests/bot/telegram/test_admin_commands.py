"""Admin commands in Telegram, end to end: customers answer through the webhook, an admin asks
for results and gets text, a PNG and a CSV from the local Bot API server; strangers get none."""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import ClientSession

from bot.admin.replies import NOT_ALLOWED
from bot.main import running
from bot.telegram.admin import PRIVATE_ONLY
from storage.db import Database
from storage.respondents import find_respondent
from tests.bot.conftest import API_TOKEN, Harness, cxbot_settings, telegram_webhook
from tests.bot.telegram.botapi import BotAPI, message_update
from tests.bot.telegram.test_survey_flow import tap

ADMIN = 42
LEAD = 77  # team lead of billing
PNG = b"\x89PNG\r\n\x1a\n"
RULES = """\
rules:
  - id: closed-cases
    match:
      type: case.closed
    survey: nps
"""


@pytest.fixture
async def harness(
    database: Database, redis_url: str, botapi: BotAPI, tmp_path: Path
) -> AsyncIterator[Harness]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    settings = cxbot_settings(
        database,
        redis_url,
        **telegram_webhook(botapi),
        CXBOT_ADMINS=f"telegram:{ADMIN}, telegram:{LEAD}@billing",
        CXBOT_RULES=str(rules),
        CXBOT_REPORT_MIN_N=2,
    )
    async with running(settings) as server, ClientSession() as http:
        yield Harness(server, http, botapi, database)


async def answer(
    harness: Harness, chat_id: int, case_id: str, team: str, score: int, comment: str | None
) -> int:
    """A customer invited about ``case_id`` taps ``score``, then comments or skips."""
    invitation_id = await harness.invite(
        chat_id, case_id, attributes={"team": team, "agent": f"agent-{team}"}
    )
    (question,) = harness.botapi.sent(chat_id=chat_id)
    await tap(harness, question, str(score), user_id=chat_id)
    follow_up = harness.botapi.sent(chat_id=chat_id)[-1]
    if comment is None:
        await tap(harness, follow_up, "Skip", user_id=chat_id)
    else:
        await send(harness, chat_id, comment)
    await harness.wait_status(invitation_id, "completed")
    return invitation_id


async def send(harness: Harness, user_id: int, text: str, chat_id: int | None = None) -> None:
    update = message_update(harness.botapi.next_update_id(), user_id, text, chat_id=chat_id)
    assert await harness.update(update) == 200


async def seed(harness: Harness) -> None:
    # Billing: 10, 9 and a detractor 3 (NPS +33, n=3); support: 0.
    await answer(harness, 1001, "T-1", "billing", 10, None)
    await answer(harness, 1002, "T-2", "billing", 9, None)
    await answer(harness, 1003, "T-3", "billing", 3, "the refund took weeks")
    await answer(harness, 2001, "T-4", "support", 0, "never again")


async def test_admin_gets_the_nps_of_a_team_and_its_chart(harness: Harness) -> None:
    await seed(harness)
    await send(harness, ADMIN, "/nps 30d team=billing")
    (text,) = harness.botapi.texts(ADMIN)
    assert "NPS +33" in text and "n=3" in text and "team=billing" in text
    (photo,) = harness.botapi.uploads
    assert (photo.method, photo.field, photo.chat_id) == ("sendPhoto", "photo", ADMIN)
    assert photo.data.startswith(PNG) and photo.filename.endswith(".png")
    assert photo.size > 10_000


async def test_command_with_the_bots_name_and_every_team(harness: Harness) -> None:
    await seed(harness)
    await send(harness, ADMIN, "/NPS@cxbot_test_bot 30d")
    (text,) = harness.botapi.texts(ADMIN)
    assert "NPS 0" in text and "n=4" in text  # 2 promoters, 2 detractors


async def test_export_is_a_csv_document_of_the_answers(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The export's temporary file goes to a folder of this test's own: another run's (or a
    # parallel worker's) exports in the shared temp folder cannot show up here.
    exports = tmp_path / "exports"
    exports.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(exports))
    await seed(harness)
    await send(harness, ADMIN, "/export 30d")
    (document,) = harness.botapi.uploads
    assert (document.method, document.chat_id) == ("sendDocument", ADMIN)
    assert document.filename.endswith(".csv") and "6" in (document.caption or "")
    rows = list(csv.DictReader(io.StringIO(document.data.decode("utf-8"))))
    stored = []
    for invitation_id in range(1, 5):
        stored += [
            (str(invitation_id), "" if a.score is None else str(a.score), a.text or "")
            for a in await harness.answers(invitation_id)
        ]
    assert sorted((r["invitation_id"], r["score"], r["comment"]) for r in rows) == sorted(stored)
    assert len(rows) == 6
    # The temporary file was sent from disk and deleted.
    assert list(exports.iterdir()) == []


async def test_comments_of_detractors(harness: Harness) -> None:
    await seed(harness)
    await send(harness, ADMIN, "/comments detractors")
    text = "\n".join(harness.botapi.texts(ADMIN))
    assert "the refund took weeks" in text and "never again" in text
    assert "T-3" in text and "T-4" in text


async def test_a_page_beyond_any_number_the_database_takes_is_past_the_last(
    harness: Harness,
) -> None:
    # An offset past 64 bits once made PostgreSQL and SQLite refuse the query: no answer.
    await seed(harness)
    await send(harness, ADMIN, "/comments page=99999999999999999999999")
    assert harness.botapi.texts(ADMIN) == [
        "Comments · last 30 days · UTC time · 2 in all\n"
        "page 99999999999999999999999 is past the last page (1)."
    ]


async def test_a_customer_gets_not_allowed_and_no_data(harness: Harness) -> None:
    await seed(harness)
    before = len(harness.botapi.texts(1001))
    for line in ("/nps 30d team=billing", "/export", "/comments", "/report", "/why T-1"):
        await send(harness, 1001, line)
    assert harness.botapi.texts(1001)[before:] == [NOT_ALLOWED] * 5
    assert harness.botapi.uploads == []
    # Their /help is still the customer's help, not the admin commands.
    await send(harness, 1001, "/help")
    help_text = harness.botapi.texts(1001)[-1]
    assert "no survey waiting" in help_text and "/nps" not in help_text


async def test_admin_help_lists_the_commands(harness: Harness) -> None:
    await send(harness, ADMIN, "/help")
    (text,) = harness.botapi.texts(ADMIN)
    assert "e.g. /nps 30d team=billing" in text and "/forget CHANNEL ID" in text


async def test_a_lead_is_limited_to_their_team(harness: Harness) -> None:
    await seed(harness)
    await send(harness, LEAD, "/nps 30d team=support")
    await send(harness, LEAD, "/nps 30d")
    refused, mine = harness.botapi.texts(LEAD)
    assert refused == NOT_ALLOWED
    assert "NPS +33" in mine and "n=3" in mine
    (photo,) = harness.botapi.uploads
    assert photo.chat_id == LEAD


async def test_a_bad_filter_gets_what_is_accepted(harness: Harness) -> None:
    await send(harness, ADMIN, "/csat last-week")
    (text,) = harness.botapi.texts(ADMIN)
    assert text.startswith('"last-week" is not a period or a filter.')
    assert "Example: /csat 30d team=billing" in text


async def test_a_customer_forgets_themselves(harness: Harness) -> None:
    await seed(harness)
    await send(harness, 1003, "/forget")
    reply = harness.botapi.texts(1003)[-1]
    assert reply.startswith("Done. cxbot deleted your 1 comment(s)")
    assert [(a.question_id, a.score, a.text) for a in await harness.answers(3)] == [
        ("score", 3, None)
    ]
    async with harness.database.session() as session:
        assert await find_respondent(session, "telegram", "1003") is None
    # Their score still counts, anonymously.
    await send(harness, ADMIN, "/nps 30d team=billing")
    assert "n=3" in harness.botapi.texts(ADMIN)[-1]


async def test_forget_in_a_group_asks_for_a_private_chat(harness: Harness) -> None:
    await seed(harness)
    await send(harness, 1003, "/forget", chat_id=-100200)
    assert harness.botapi.texts(-100200) == [PRIVATE_ONLY]
    async with harness.database.session() as session:
        assert await find_respondent(session, "telegram", "1003") is not None


async def test_admin_forgets_a_customer_mid_survey(harness: Harness) -> None:
    invitation_id = await harness.invite(1005, "T-5", attributes={"team": "billing"})
    (question,) = harness.botapi.sent(chat_id=1005)
    await tap(harness, question, "2", user_id=1005)
    await send(harness, ADMIN, "/forget telegram 1005")
    assert harness.botapi.texts(ADMIN)[-1].startswith("forgot telegram 1005:")
    assert (await harness.invitation(invitation_id)).status == "expired"
    # The live conversation is gone: the comment they send now is not stored.
    await send(harness, 1005, "my phone is 555-0100")
    assert [(a.score, a.text) for a in await harness.answers(invitation_id)] == [(2, None)]


async def test_triggers_and_why(harness: Harness) -> None:
    async with harness.http.post(
        f"{harness.server.url}/api/v1/events",
        json={"type": "case.closed", "case_id": "T-77", "channel": "telegram", "recipient": 1009},
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    ) as response:
        assert response.status == 202
    await send(harness, ADMIN, "/triggers")
    await send(harness, ADMIN, "/why T-77")
    await send(harness, ADMIN, "/triggers pause closed-cases")
    rules, why, paused = harness.botapi.texts(ADMIN)
    assert "closed-cases" in rules
    assert "Case T-77" in why and "rule closed-cases" in why and "scheduled" in why
    assert "rule closed-cases is paused" in paused
    await send(harness, LEAD, "/triggers")
    assert harness.botapi.texts(LEAD) == [NOT_ALLOWED]


async def test_an_admins_mistyped_command_says_so(harness: Harness) -> None:
    await send(harness, ADMIN, "/nsp 30d")
    await send(harness, ADMIN, "/nsp@cxbot_test_bot", chat_id=-100300)
    assert harness.botapi.texts(ADMIN) == ["unknown command 'nsp'; /help lists the commands"]
    assert harness.botapi.texts(-100300) == ["unknown command 'nsp'; /help lists the commands"]
    # In a group a bare unknown command may be another bot's; /start stays the customers'.
    await send(harness, ADMIN, "/nsp", chat_id=-100301)
    await send(harness, ADMIN, "/start")
    assert harness.botapi.texts(-100301) == []
    assert "no survey waiting" in harness.botapi.texts(ADMIN)[-1]
    # A stranger's unknown command is still theirs: the customers' help, nothing more.
    await send(harness, 1009, "/nsp")
    assert "no survey waiting" in harness.botapi.texts(1009)[-1]


async def test_a_filter_nothing_could_match_says_what_is_accepted(harness: Harness) -> None:
    await seed(harness)
    for line in ("/nps channel=whatsapp", "/nps survey=nope", "/nps survey=csat", "/nps lang=de"):
        await send(harness, ADMIN, line)
    channel, survey, other_kind, language = harness.botapi.texts(ADMIN)
    assert channel.startswith('"channel=whatsapp": channels are slack, telegram. Accepted:')
    assert survey.startswith('"survey=nope" is not a survey here; surveys: ces, csat, nps.')
    assert other_kind.startswith('"survey=csat" asks no NPS question; surveys that do: nps.')
    assert language.startswith('"language=de": surveys here are in en, pl, ro.')
    assert harness.botapi.uploads == []


async def test_whoami_tells_anyone_their_id_and_role(harness: Harness) -> None:
    await send(harness, 5555, "/whoami")  # not in CXBOT_ADMINS yet: that is why they ask
    (stranger,) = harness.botapi.texts(5555)
    assert "Your Telegram user id: 5555" in stranger
    assert "add telegram:5555 to it" in stranger and "This chat's id: 5555" in stranger
    await send(harness, LEAD, "/whoami@cxbot_test_bot", chat_id=-100777)  # in a group
    (lead,) = harness.botapi.texts(-100777)
    assert f"You are team lead of billing (telegram:{LEAD} in CXBOT_ADMINS)" in lead
    assert "This chat's id: -100777" in lead
