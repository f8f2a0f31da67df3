"""The one admin command dispatcher, on both databases: who may run what, what each gets."""

from __future__ import annotations

import csv
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from bot import conversations
from bot.admin.access import Access
from bot.admin.commands import AdminCommands, admin_commands
from bot.admin.replies import NOT_ALLOWED, Actor, AdminReply
from bot.alerts import Thresholds
from bot.triggers import RuleBook, Triggers
from storage.answers import NewAnswer, record_answer
from storage.db import Database
from storage.decisions import NewDecision, record_decision
from storage.followups import NewFollowup, create_followup
from storage.invitations import NewInvitation, create_invitation
from storage.privacy import purge_comments_before
from storage.respondents import find_respondent, upsert_respondent
from storage.state import MemoryStateStore
from storage.tables import AuditEntry, DecisionOutcome, Invitation
from surveys.catalog import Catalog
from tests.storage.reportdata import Seed, seed

NOW = datetime(2026, 11, 22, 12, 0)
ADMIN = Actor("telegram", "42", "Ada Admin")
SLACK_ADMIN = Actor("slack", "U0ADMIN", "ada")
LEAD = Actor("telegram", "77", "Lee Lead")  # team lead of billing
STRANGER = Actor("telegram", "1001", "Cus Tomer")  # a customer, surveyed below
ADMINS = "telegram:42 slack:U0ADMIN telegram:77@billing"
RULES = """\
rules:
  - id: closed-cases
    match:
      type: case.closed
    survey: nps
"""
PNG = b"\x89PNG\r\n\x1a\n"

# Every admin command a stranger might try, with and without arguments.
ADMIN_COMMAND_LINES = [
    "help",
    "nps",
    "nps 30d team=billing",
    "csat 7d",
    "ces",
    "report 90d",
    "comments",
    "comments detractors page=2",
    "export",
    "export 2026-10",
    "followups",
    "triggers",
    "triggers pause closed-cases",
    "why T-1",
    "forget telegram 2002",
    "retention",
    "nps bogus=filter",
    "frobnicate",
]


class NoScheduler:
    async def schedule(self, invitation_id: int, at: datetime) -> None:
        raise AssertionError("the dispatcher tests send no events")


@dataclass
class Setup:
    commands: AdminCommands
    database: Database
    state: MemoryStateStore
    triggers: Triggers

    async def ask(self, actor: Actor, line: str) -> AdminReply:
        return await self.commands.handle(actor, line)


async def answered(
    database: Database,
    customer: str,
    case_id: str,
    team: str,
    score: int,
    comment: str | None = None,
    *,
    days_ago: float = 1,
) -> int:
    at = NOW - timedelta(days=days_ago)
    async with database.session() as session:
        respondent = await upsert_respondent(session, "telegram", customer, "en")
        assert respondent.id is not None
        invitation, _ = await create_invitation(
            session,
            NewInvitation(
                survey_id="nps",
                case_id=case_id,
                channel="telegram",
                address=customer,
                respondent_id=respondent.id,
                language=None,
                attributes={"team": team, "agent": f"agent-{team}"},
                scheduled_at=at,
            ),
        )
        assert invitation.id is not None
        invitation.status = "completed"
        invitation.sent_at = at
        session.add(invitation)
        await record_answer(session, NewAnswer(invitation.id, "nps", "nps", score, None, None, at))
        if comment is not None:
            await record_answer(
                session, NewAnswer(invitation.id, "why", "text", None, None, comment, at)
            )
        await session.commit()
        return invitation.id


@pytest.fixture
async def setup(database: Database, tmp_path: Path) -> AsyncIterator[Setup]:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    catalog = Catalog.load(None)
    triggers = Triggers(
        RuleBook.load(rules, catalog.ids()), catalog, database, {}, NoScheduler(), clock=lambda: NOW
    )
    state = MemoryStateStore()
    commands = admin_commands(
        Access.parse(ADMINS),
        database=database,
        state=state,
        catalog=catalog,
        triggers=triggers,
        min_n=2,
        retention_days=30,
        clock=lambda: NOW,
    )
    # Billing: two promoters and a detractor (NPS +33); support: one detractor (NPS -100).
    await answered(database, "1001", "T-1", "billing", 10)
    await answered(database, "1002", "T-2", "billing", 9)
    await answered(database, "1003", "T-3", "billing", 3, "the refund took weeks")
    await answered(database, "2002", "T-4", "support", 0, "never again")
    yield Setup(commands, database, state, triggers)
    await state.close()


async def audit_rows(database: Database) -> list[AuditEntry]:
    async with database.session() as session:
        return list((await session.exec(select(AuditEntry))).all())


class TestStrangers:
    @pytest.mark.parametrize("line", ADMIN_COMMAND_LINES)
    async def test_every_admin_command_is_not_allowed_and_shows_nothing(
        self, setup: Setup, line: str
    ) -> None:
        reply = await setup.ask(STRANGER, line)
        assert (reply.text, reply.attachments) == (NOT_ALLOWED, [])
        # Nothing changed either: no forget, no pause.
        assert await audit_rows(setup.database) == []
        async with setup.database.session() as session:
            assert await find_respondent(session, "telegram", "2002") is not None

    async def test_a_stranger_on_slack_is_refused_too(self, setup: Setup) -> None:
        reply = await setup.ask(Actor("slack", "U0STRANGER"), "nps 30d team=billing")
        assert (reply.text, reply.attachments) == (NOT_ALLOWED, [])

    def test_a_strangers_help_stays_with_the_survey_flow(self, setup: Setup) -> None:
        routes = setup.commands.routes_here
        assert not routes(STRANGER, "help") and not routes(STRANGER, "start")
        assert routes(STRANGER, "nps 30d") and routes(STRANGER, "/export@cxbot_test_bot")
        assert routes(STRANGER, "forget") and routes(STRANGER, "forget telegram 1")
        assert routes(ADMIN, "help") and routes(LEAD, "help")
        assert not routes(ADMIN, "start") and not routes(LEAD, "/start")
        # An admin's mistyped command is answered "unknown command", not with customer help.
        assert routes(ADMIN, "nsp 30d") and routes(LEAD, "hello there")
        assert not routes(STRANGER, "nsp 30d") and not routes(ADMIN, "")

    async def test_a_customer_forgets_themselves(self, setup: Setup) -> None:
        customer = Actor("telegram", "1003", "Cus")
        reply = await setup.ask(customer, "forget")
        assert reply.text.startswith("Done. cxbot deleted your 1 comment(s)")
        assert "Your 1 score(s) stay in the totals" in reply.text
        async with setup.database.session() as session:
            assert await find_respondent(session, "telegram", "1003") is None
        (entry,) = await audit_rows(setup.database)
        assert entry.actor == "telegram:self" and "1003" not in entry.target + entry.detail
        # The billing score still counts the forgotten customer's 3.
        assert "n=3" in (await setup.ask(ADMIN, "nps 30d team=billing")).text

    async def test_forgetting_someone_never_surveyed_says_so(self, setup: Setup) -> None:
        reply = await setup.ask(Actor("slack", "U0NEW"), "forget")
        assert reply.text.startswith("cxbot had nothing stored about you")

    async def test_forgetting_someone_known_but_never_surveyed(self, setup: Setup) -> None:
        # Writing to the bot once is enough to be known (the language their client reports).
        async with setup.database.session() as session:
            await upsert_respondent(session, "telegram", "5005", "en")
            await session.commit()
        reply = await setup.ask(Actor("telegram", "5005"), "forget")
        assert reply.text == (
            "Done. cxbot deleted your Telegram account id; it held no survey answers of yours."
        )


class TestAdmins:
    async def test_nps_with_a_team_filter(self, setup: Setup) -> None:
        reply = await setup.ask(ADMIN, "nps 30d team=billing")
        assert "NPS +33" in reply.text and "n=3" in reply.text
        (chart,) = reply.attachments
        assert chart.kind == "photo" and chart.data is not None and chart.data.startswith(PNG)
        assert chart.filename.endswith(".png")

    async def test_nps_of_every_team(self, setup: Setup) -> None:
        reply = await setup.ask(ADMIN, "nps")
        # 2 promoters, 2 detractors of 4: NPS 0.
        assert "NPS 0" in reply.text and "n=4" in reply.text

    async def test_report_has_a_chart_per_kind_with_answers(self, setup: Setup) -> None:
        reply = await setup.ask(SLACK_ADMIN, "report 30d")
        assert "NPS" in reply.text and "CSAT" in reply.text and "CES" in reply.text
        assert [a.kind for a in reply.attachments] == ["photo"]  # only NPS has answers

    async def test_comments(self, setup: Setup) -> None:
        reply = await setup.ask(ADMIN, "comments detractors")
        assert "the refund took weeks" in reply.text and "never again" in reply.text
        assert reply.attachments == []

    async def test_export_is_a_csv_file_of_the_answers(self, setup: Setup) -> None:
        reply = await setup.ask(ADMIN, "export 30d")
        (document,) = reply.attachments
        assert document.kind == "document" and document.path is not None
        assert document.filename.endswith(".csv") and "6" in document.caption
        with document.path.open(newline="", encoding="utf-8") as file:
            rows = list(csv.DictReader(file))
        assert sorted((row["case_id"], row["score"], row["comment"]) for row in rows) == [
            ("T-1", "10", ""),
            ("T-2", "9", ""),
            ("T-3", "", "the refund took weeks"),
            ("T-3", "3", ""),
            ("T-4", "", "never again"),
            ("T-4", "0", ""),
        ]
        reply.discard()
        assert not document.path.exists()

    async def test_an_empty_export_sends_no_file(self, setup: Setup) -> None:
        reply = await setup.ask(ADMIN, "export 2020-01")
        assert reply.attachments == [] and "0" in reply.text

    async def test_a_bad_filter_says_what_is_accepted(self, setup: Setup) -> None:
        reply = await setup.ask(ADMIN, "nps 30d colour=red")
        assert reply.text.startswith('"colour=" is not a filter.')
        assert "Accepted: one period" in reply.text and "Example: /nps" in reply.text
        assert reply.attachments == []
        slack = await setup.ask(SLACK_ADMIN, "comments 2026-13")
        assert "Example: /cx comments" in slack.text

    async def test_help_lists_every_command_with_examples(self, setup: Setup) -> None:
        text = (await setup.ask(ADMIN, "help")).text
        for expected in (
            "/nps [PERIOD] [FILTERS]",
            "e.g. /nps 30d team=billing",
            "/report",
            "/comments [detractors] [page=N]",
            "/export",
            "/followups",
            "/triggers [pause ID | resume ID]",
            "/why CASE_ID",
            "/forget CHANNEL ID",
            "/retention",
            "PERIOD: 7d, 30d, 90d",
        ):
            assert expected in text
        assert "e.g. /cx nps 30d team=billing" in (await setup.ask(SLACK_ADMIN, "help")).text

    async def test_detractors_are_what_the_alert_thresholds_say(
        self, setup: Setup, database: Database
    ) -> None:
        # CXBOT_ALERT_NPS_MAX=2: the 3 of T-3 no longer counts as a detractor, the 0 does.
        strict = admin_commands(
            Access.parse(ADMINS),
            database=database,
            state=setup.state,
            catalog=Catalog.load(None),
            triggers=setup.triggers,
            min_n=2,
            retention_days=None,
            thresholds=Thresholds(nps=2),
            clock=lambda: NOW,
        )
        text = (await strict.handle(ADMIN, "comments detractors")).text
        assert "never again" in text and "the refund took weeks" not in text
        default = (await setup.ask(ADMIN, "comments detractors")).text
        assert "never again" in default and "the refund took weeks" in default

    async def test_an_unknown_command_points_at_help(self, setup: Setup) -> None:
        reply = await setup.ask(SLACK_ADMIN, "frobnicate")
        assert reply.text == "unknown command 'frobnicate'; /cx help lists the commands"

    async def test_followups(self, setup: Setup) -> None:
        assert (await setup.ask(ADMIN, "followups")).text == "no open follow-ups"
        await followups(setup.database)
        text = (await setup.ask(ADMIN, "followups")).text
        assert text.startswith("Open follow-ups: 2") and "case T-3" in text and "case T-4" in text

    async def test_triggers_list_pause_and_resume(self, setup: Setup) -> None:
        assert "closed-cases" in (await setup.ask(ADMIN, "triggers")).text
        paused = await setup.ask(ADMIN, "triggers pause closed-cases")
        assert "rule closed-cases is paused" in paused.text
        resumed = await setup.ask(ADMIN, "triggers resume closed-cases")
        assert "rule closed-cases is active again" in resumed.text
        assert "nope" in (await setup.ask(ADMIN, "triggers pause nope")).text
        assert (await setup.ask(ADMIN, "triggers stop")).text.startswith("usage: /triggers")
        actors = {entry.actor for entry in await audit_rows(setup.database)}
        assert actors == {"telegram:42 Ada Admin"}

    async def test_why_tells_the_decisions_about_a_case(self, setup: Setup) -> None:
        await decision(setup.database, "T-50", "billing")
        assert "suppressed (no_rule)" in (await setup.ask(ADMIN, "why T-50")).text
        assert "no event for case T-51" in (await setup.ask(ADMIN, "why T-51")).text
        assert (await setup.ask(ADMIN, "why")).text.startswith("usage: /why CASE_ID")

    async def test_forget_a_customer_and_their_live_conversation(self, setup: Setup) -> None:
        invitation_id = await answered(setup.database, "3003", "T-9", "billing", 2, "meh")
        conversation = conversations.conversation_key(invitation_id)
        active = conversations.active_key("telegram", "3003")
        await setup.state.set(conversation, "{}", 60)
        await setup.state.set(active, str(invitation_id), 60)

        reply = await setup.ask(ADMIN, "forget telegram 3003")

        assert reply.text.startswith("forgot telegram 3003: 1 comment(s)")
        assert await setup.state.get(conversation) is None
        assert await setup.state.get(active) is None
        async with setup.database.session() as session:
            assert await find_respondent(session, "telegram", "3003") is None
        (entry,) = await audit_rows(setup.database)
        assert entry.actor == "telegram:42 Ada Admin"
        again = await setup.ask(ADMIN, "forget telegram:3003")
        assert again.text == "nobody is known as telegram 3003: nothing to forget"
        usage = await setup.ask(ADMIN, "forget fax 3003")
        assert usage.text.startswith("usage: /forget CHANNEL ID")

    async def test_retention_shows_the_setting_and_the_last_purge(self, setup: Setup) -> None:
        before = (await setup.ask(ADMIN, "retention")).text
        assert before == (
            "Comments are kept 30 day(s) (CXBOT_RETENTION_DAYS); older ones are deleted "
            "daily. Scores stay.\nComments have not been purged yet."
        )
        async with setup.database.session() as session:
            await purge_comments_before(session, NOW, "retention")
            await session.commit()
        after = (await setup.ask(ADMIN, "retention")).text
        assert "Last purge: " in after
        assert "comments before 2026-11-22 12:00:00: 2 comment(s)" in after


class TestTeamLeads:
    async def test_a_lead_sees_their_teams_only(self, setup: Setup) -> None:
        mine = await setup.ask(LEAD, "nps 30d")
        assert "n=3" in mine.text and "NPS +33" in mine.text
        assert "n=3" in (await setup.ask(LEAD, "nps 30d team=billing")).text
        comments = (await setup.ask(LEAD, "comments")).text
        assert "the refund took weeks" in comments and "never again" not in comments
        export = await setup.ask(LEAD, "export")
        (document,) = export.attachments
        assert document.path is not None
        try:
            with document.path.open(newline="", encoding="utf-8") as file:
                assert {row["team"] for row in csv.DictReader(file)} == {"billing"}
        finally:
            export.discard()  # the channel would delete it once sent

    @pytest.mark.parametrize(
        "line",
        [
            "nps 30d team=support",
            "report team=support",
            "comments team=support",
            "export team=support",
            "triggers",
            "triggers pause closed-cases",
            "forget telegram 2002",
        ],
    )
    async def test_other_teams_and_admin_commands_are_not_allowed(
        self, setup: Setup, line: str
    ) -> None:
        reply = await setup.ask(LEAD, line)
        assert (reply.text, reply.attachments) == (NOT_ALLOWED, [])
        assert await audit_rows(setup.database) == []

    async def test_why_only_for_cases_of_their_teams(self, setup: Setup) -> None:
        await decision(setup.database, "T-50", "billing")
        await decision(setup.database, "T-60", "support")
        assert "suppressed (no_rule)" in (await setup.ask(LEAD, "why T-50")).text
        assert (await setup.ask(LEAD, "why T-60")).text == NOT_ALLOWED
        assert (await setup.ask(LEAD, "why T-4")).text == NOT_ALLOWED  # support's invitation
        assert "no event for case T-99" in (await setup.ask(LEAD, "why T-99")).text

    async def test_a_leads_help_leaves_out_admin_commands(self, setup: Setup) -> None:
        text = (await setup.ask(LEAD, "help")).text
        assert text.startswith("cxbot commands (team lead of billing: their data only)")
        assert "/nps" in text and "/forget — forget yourself" in text
        assert "/triggers" not in text and "/forget CHANNEL ID" not in text

    async def test_followups_of_their_teams(self, setup: Setup) -> None:
        await followups(setup.database)
        text = (await setup.ask(LEAD, "followups")).text
        assert text.startswith("Open follow-ups: 1") and "case T-3" in text
        assert "case T-4" not in text


async def decision(database: Database, case_id: str, team: str) -> None:
    async with database.session() as session:
        await record_decision(
            session,
            NewDecision(
                source="api",
                event_type="case.closed",
                case_id=case_id,
                channel="telegram",
                recipient="4004",
                outcome=DecisionOutcome.SUPPRESSED,
                detail="no rule matched",
                event={"type": "case.closed", "case_id": case_id, "team": team},
                reason="no_rule",
                created_at=NOW,
            ),
        )
        await session.commit()


async def followups(database: Database) -> None:
    """Detractor follow-ups for T-3 (billing) and T-4 (support)."""
    async with database.session() as session:
        for case_id in ("T-3", "T-4"):
            invitation = (
                await session.exec(select(Invitation).where(Invitation.case_id == case_id))
            ).one()
            assert invitation.id is not None
            new = NewFollowup(invitation.id, "nps", 3, "telegram", "-100", NOW - timedelta(hours=2))
            await create_followup(session, new)
        await session.commit()


class TestReportTimeZone:
    async def test_the_reply_names_the_zone_and_cuts_days_there(
        self, database: Database, tmp_path: Path
    ) -> None:
        catalog = Catalog.load(None)
        commands = admin_commands(
            Access.parse(ADMINS),
            database=database,
            state=MemoryStateStore(),
            catalog=catalog,
            triggers=None,
            min_n=1,
            retention_days=None,
            report_timezone="Europe/Warsaw",
            clock=lambda: NOW,
        )
        # 21 November 23:30 UTC is 22 November 00:30 in Warsaw, with a comment.
        late = (NOW - datetime(2026, 11, 21, 23, 30)) / timedelta(days=1)
        await answered(database, "1001", "T-1", "billing", 10, "quick", days_ago=late)
        day = await commands.handle(ADMIN, "nps 2026-11-22..2026-11-22")
        assert day.text.startswith("NPS +100 (n=1, ")
        assert "· 2026-11-22..2026-11-22 · Europe/Warsaw time" in day.text.splitlines()[0]
        before = await commands.handle(ADMIN, "nps 2026-11-21..2026-11-21")
        assert before.text.startswith("NPS n/a (n=0)")
        comments = await commands.handle(ADMIN, "comments 7d")
        assert "2026-11-22 00:30 · NPS 10 · T-1" in comments.text  # Warsaw's clock, not 23:30


class TestJourney:
    async def test_touchpoints_in_order_with_the_friction_point_and_a_chart(
        self, database: Database
    ) -> None:
        rows = [
            *(
                Seed(s, NOW - timedelta(days=2, hours=h), kind="ces", touchpoint="signup")
                for h, s in enumerate([7, 7, 6])
            ),
            *(
                Seed(s, NOW - timedelta(days=1, hours=h), kind="ces", touchpoint="first-ticket")
                for h, s in enumerate([2, 3, 4])
            ),
        ]
        async with database.session() as session:
            await seed(session, rows)
            await session.commit()
        commands = admin_commands(
            Access.parse(ADMINS),
            database=database,
            state=MemoryStateStore(),
            catalog=Catalog.load(None),
            triggers=None,
            min_n=3,
            retention_days=None,
            journey_order=lambda: ("signup", "first-ticket", "renewal"),
            clock=lambda: NOW,
        )
        reply = await commands.handle(SLACK_ADMIN, "journey 7d")
        assert reply.text == (
            "Journey · last 7 days · UTC time\n"
            "\n"
            "1. signup\n"
            "   CES 6.7 / 7 (n=3, 95% CI 5.2..7.0)\n"
            "\n"
            "2. first-ticket  ⚠ friction point\n"
            "   CES 3.0 / 7 (n=3, 95% CI 1.0..5.5)\n"
            "\n"
            "3. renewal\n"
            "   no answers in this period\n"
            "\n"
            "friction point: first-ticket, the worst effort with 3+ answers (CES 3.0 / 7, n=3); "
            "its comments: /cx comments touchpoint=first-ticket"
        )
        (chart,) = reply.attachments
        assert chart.kind == "photo" and chart.data is not None and chart.data.startswith(PNG)
        lead = await commands.handle(LEAD, "journey 7d")  # billing's lead: none of these rows
        assert "friction point: none yet" in lead.text and lead.attachments == []
