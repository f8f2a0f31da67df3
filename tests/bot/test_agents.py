"""Agents' feedback: CXBOT_AGENTS read both ways, promoters' comments forwarded, /me."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from pydantic import ValidationError

from bot.admin.access import Access
from bot.admin.commands import admin_commands
from bot.admin.replies import NOT_ALLOWED, Actor
from bot.agents import AgentDirectory, InvalidAgents, PromoterComments, is_promoter
from bot.runner import AnswerGiven
from bot.settings import Settings
from bot.terminal.channel import TerminalChannel
from storage.db import Database
from storage.state import MemoryStateStore
from surveys.catalog import Catalog
from surveys.definitions import QuestionKind
from tests.storage.reportdata import Seed, seed

NOW = datetime(2026, 11, 22, 12)
ANA = Actor("telegram", "501", "Ana")


def test_the_directory_reads_both_ways_and_refuses_bad_entries() -> None:
    agents = AgentDirectory.parse(" ana=telegram:501, Bob Smith=slack:U0BOB ,")
    assert agents.address_of("ana") == ("telegram", "501")
    assert agents.address_of("Bob Smith") == ("slack", "U0BOB") and agents.address_of(None) is None
    assert (
        agents.agent_of("slack", "U0BOB") == "Bob Smith" and agents.agent_of("slack", "X") is None
    )
    assert AgentDirectory.parse("").chats == {}
    for bad, said in [
        ("ana", "is not NAME=CHANNEL:USER_ID"),
        ("ana=whatsapp:1", "the channel is one of telegram, slack"),
        ("ana=telegram:1, ana=slack:U1", "agent 'ana' is given twice"),
        ("ana=telegram:1, bob=telegram:1", "telegram:1 is given for two agents"),
        ("ana=telegram:abc", "the Telegram user id must be a Telegram id, a whole number"),
        ("ana=telegram:" + "1" * 23, "is not a Telegram id: Telegram's ids have at most 52"),
        ("ana=telegram:-1001234567890", "must be a user's id \\(positive\\)"),
    ]:
        with pytest.raises(InvalidAgents, match=said):
            AgentDirectory.parse(bad)


def test_a_bad_setting_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CXBOT_AGENTS", "ana")
    with pytest.raises(ValidationError, match="NAME=CHANNEL:USER_ID"):
        Settings(_env_file=None)  # type: ignore[call-arg]


def test_promoter_is_the_best_band() -> None:
    nps, csat, ces = QuestionKind.NPS, QuestionKind.CSAT, QuestionKind.CES
    assert is_promoter(nps, 9) and not is_promoter(nps, 8)
    assert is_promoter(csat, 4) and not is_promoter(csat, 3)
    assert is_promoter(ces, 5) and not is_promoter(ces, 4)


def given(invitation_id: int, text: str) -> AnswerGiven:
    return AnswerGiven(
        invitation_id, "telegram", "u", "nps", "en", "why", "text", None, None, text, True, NOW
    )


async def test_a_promoters_comment_reaches_the_agent_and_no_other_does(
    database: Database,
) -> None:
    rows = [
        Seed(10, NOW - timedelta(hours=3), agent="ana", comment="Ana was   brilliant"),
        Seed(3, NOW - timedelta(hours=2), agent="ana", comment="Too slow"),
        Seed(10, NOW - timedelta(hours=1), agent="zed", comment="Great"),  # not in the directory
    ]
    async with database.session() as session:
        await seed(session, rows)
        await session.commit()
    chat = TerminalChannel(out=None, name="telegram")
    praise = PromoterComments(
        database, AgentDirectory.parse("ana=telegram:501"), {"telegram": chat}
    )
    assert await praise.forward(given(1, "Ana was   brilliant"))
    assert chat.finished == {
        "501": "A customer liked your help on case T-1 (NPS 10):\n“Ana was brilliant”"
    }
    assert not await praise.forward(given(2, "Too slow"))  # a detractor's: not forwarded
    assert not await praise.forward(given(3, "Great"))  # zed has no chat
    await praise(given(2, "Too slow"))  # the listener path: in the background, then nothing
    await praise.drain()
    assert list(chat.finished) == ["501"]


async def test_me_shows_an_agent_their_own_scores_and_comments(database: Database) -> None:
    rows = [
        Seed(10, NOW - timedelta(days=2), agent="ana", team="billing", comment="Lovely"),
        Seed(9, NOW - timedelta(days=1), agent="ana", team="billing"),
        Seed(0, NOW - timedelta(days=1), agent="bob", team="billing", comment="Bad"),
    ]
    async with database.session() as session:
        await seed(session, rows)
        await session.commit()
    commands = admin_commands(
        Access.parse("telegram:42"),
        database=database,
        state=MemoryStateStore(),
        catalog=Catalog.load(None),
        triggers=None,
        min_n=30,
        retention_days=None,
        agents=AgentDirectory.parse("ana=telegram:501"),
        clock=lambda: NOW,
    )
    assert commands.routes_here(ANA, "me 7d")  # not an admin, but an agent
    reply = await commands.handle(ANA, "me 7d")
    blocks = reply.text.split("\n\n")
    assert blocks[0] == "Report · last 7 days · agent=ana · UTC time"
    assert blocks[1].startswith("NPS +100 (n=2, ")  # bob's 0 is not ana's
    assert "Lovely" in reply.text and "Bad" not in reply.text
    stranger = Actor("telegram", "777")
    # Like every admin command, a stranger's /me is answered "not allowed".
    assert (await commands.handle(stranger, "me")).text == NOT_ALLOWED
    refused = await commands.handle(ANA, "me 7d agent=bob")
    assert refused.text.startswith("/me takes a period only")
