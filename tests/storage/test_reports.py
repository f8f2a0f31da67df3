"""Reports counted in SQL: known datasets with hand-computed figures, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import text

from storage.db import Database
from storage.reports import (
    EXPORT_COLUMNS,
    GroupScore,
    comments_page,
    export_csv,
    export_filename,
    score_summary,
    weekly_trend,
)
from surveys.definitions import QuestionKind
from surveys.report_query import ReportQuery, parse_report_args
from tests.storage.reportdata import HOUR, T0, Seed, seed

NPS, CSAT, CES = QuestionKind.NPS, QuestionKind.CSAT, QuestionKind.CES
NOW = T0 + timedelta(days=30)  # "30d" is [T0, NOW)
DAY = timedelta(days=1)


def at(days: float, hours: int = 0) -> datetime:
    return T0 + days * DAY + hours * HOUR


# The current period's NPS answers (scores 10 10 9 8 7 6 3 | 9 9 5):
# billing/ana 10 10 9 8, billing/bob 7 6 3, support/cid 9 9 5.
CURRENT = [
    Seed(10, at(1, 1), team="billing", agent="ana", tags=("vip",), language="pl"),
    Seed(10, at(1, 2), team="billing", agent="ana", respondent_language="pl", channel="slack"),
    Seed(
        9,
        at(1, 3),
        team="billing",
        agent="ana",
        tags=("refund", "vip"),
        language="en",
        comment="Fast refund",
    ),
    Seed(8, at(1, 4), team="billing", agent="ana", tags=("vip-gold",)),
    # The invitation's language wins over the respondent's.
    Seed(
        7,
        at(8, 1),
        team="billing",
        agent="bob",
        channel="slack",
        language="en",
        respondent_language="pl",
    ),
    Seed(6, at(8, 2), team="billing", agent="bob", tags=("refund",), comment="Slow answer"),
    Seed(3, at(8, 3), team="billing", agent="bob", language="ro", comment="Rude"),
    Seed(9, at(22, 1), team="support", agent="cid", tags=("vip",)),
    # Sent before the period, answered in it: counts in n, not in sent.
    Seed(9, at(22, 2), team="support", agent="cid", channel="slack", sent_at=at(-2)),
    Seed(5, at(22, 3), team="support", agent="cid", survey="nps-onboarding", comment="Meh"),
]
PREVIOUS = [
    Seed(score, at(-10, hour), team="billing", agent="ana")
    for hour, score in enumerate([10, 6, 6, 6])
]
UNANSWERED = [Seed(None, sent_at=at(2, hour), team="billing", agent="ana") for hour in range(6)]
OTHER_KINDS = [
    Seed(2, at(2, 5), kind="csat", team="billing", agent="bob", comment="Bad"),
    Seed(6, at(23, 1), kind="ces", team="support", agent="cid", comment="Easy"),
]
DATASET = CURRENT + PREVIOUS + UNANSWERED + OTHER_KINDS


def query(args: str = "", command: str = "nps", now: datetime = NOW) -> ReportQuery:
    return parse_report_args(args, now=now, command=command)


async def seeded(database: Database, rows: list[Seed] = DATASET) -> Database:
    async with database.session() as session:
        await seed(session, rows)
        await session.commit()
    return database


class TestScoreSummary:
    async def test_score_split_rate_and_previous_period(self, database: Database) -> None:
        await seeded(database)
        async with database.session() as session:
            summary = await score_summary(session, query("30d"), NPS, min_n=3, surveys=["nps"])
        assert (summary.score.n, summary.score.value) == (10, 20.0)  # 50% - 30%
        assert summary.score.counts == {"promoter": 5, "passive": 2, "detractor": 3}
        # Sent in the period: 8 answered nps invitations (not nps-onboarding, not the one sent
        # before the period) + 6 unanswered.
        assert (summary.sent, summary.answered) == (14, 8)
        assert summary.response_rate == pytest.approx(8 / 14)
        assert summary.previous is not None
        assert (summary.previous.n, summary.previous.value) == (4, -50.0)
        assert summary.delta == 70.0
        # Rocks' adjusted Wald: pp' 5.75/13, pd' 3.75/13, 1.96 * sqrt(v / 13) around 15.4.
        assert summary.interval is not None
        assert (summary.interval.low, summary.interval.high) == pytest.approx(
            (-30.326, 61.095), abs=1e-3
        )
        # -50 (n=4) to +20 (n=10): within the noise.
        assert summary.change is not None and not summary.change.significant
        assert summary.trustworthy and summary.min_n == 3

    async def test_sent_counts_every_survey_unless_told_which_ask_the_kind(
        self, database: Database
    ) -> None:
        await seeded(database)
        async with database.session() as session:
            summary = await score_summary(session, query("30d"), NPS)
        # + nps-onboarding, + the csat and ces invitations (sent, but without an nps answer)
        assert (summary.sent, summary.answered) == (17, 9)

    async def test_best_and_worst_leave_out_small_groups_and_noise(
        self, database: Database
    ) -> None:
        await seeded(database)
        async with database.session() as session:
            summary = await score_summary(session, query("30d"), NPS, min_n=3)
        # Teams: billing +14 (n=7) against support +33 (n=3): noise. Agents: ana +75 (n=4)
        # against the other six's -17 is noise too; bob -67 (n=3: 7 6 3) against the other
        # seven's +57 is, barely, not (the difference's interval ends at -0.6).
        assert summary.best_teams == summary.worst_teams == summary.best_agents == ()
        assert summary.worst_agents == (GroupScore("bob", pytest.approx(-200 / 3), 3),)
        bob = summary.worst_agents[0].change
        assert bob is not None and bob.high == pytest.approx(-0.602, abs=1e-3)

    async def test_a_group_apart_from_the_rest_is_listed(self, database: Database) -> None:
        rows = [
            *(Seed(10, at(1, h), team="billing", agent="ana") for h in range(12)),
            *(Seed(0, at(2, h), team="sales", agent="bob") for h in range(12)),
            *(Seed(s, at(3, h), team="support", agent="cid") for h, s in enumerate([10, 0] * 6)),
        ]
        await seeded(database, rows)
        async with database.session() as session:
            summary = await score_summary(session, query("30d"), NPS, min_n=10)
            strict = await score_summary(session, query("30d"), NPS, min_n=13)
        # billing 100 against 24 others at -50; sales -100 against +50; support 0 against 0.
        assert summary.best_teams == (GroupScore("billing", 100.0, 12),)
        assert summary.worst_teams == (GroupScore("sales", -100.0, 12),)
        best = summary.best_teams[0].change
        assert best is not None and best.significant and best.delta == 150.0
        assert [g.name for g in summary.best_agents + summary.worst_agents] == ["ana", "bob"]
        assert strict.best_teams == strict.worst_teams == ()  # none has 13 answers

    async def test_failed_and_blocked_invitations_are_counted(self, database: Database) -> None:
        blocked = "telegram: Forbidden: bot was blocked by the user"
        rows = [
            *DATASET,
            Seed(None, sent_at=at(3), team="billing", failure=blocked),
            Seed(None, sent_at=at(4), team="billing", failure=blocked),
            Seed(None, sent_at=at(5), team="support", failure="slack: channel_not_found"),
            Seed(None, sent_at=at(-5), team="billing", failure=blocked),  # before the period
        ]
        await seeded(database, rows)
        async with database.session() as session:
            summary = await score_summary(session, query("30d"), NPS, surveys=["nps"])
            lead = await score_summary(session, query("30d"), NPS, teams={"support"})
        assert (summary.sent, summary.failed, summary.blocked) == (14, 3, 2)
        assert (lead.failed, lead.blocked) == (1, 0)

    async def test_too_few_answers_are_flagged(self, database: Database) -> None:
        await seeded(database)
        async with database.session() as session:
            summary = await score_summary(session, query("30d"), NPS)  # min_n 30
        assert summary.min_n == 30 and not summary.trustworthy
        assert summary.best_teams == summary.worst_agents == ()

    async def test_team_lead_sees_only_their_teams(self, database: Database) -> None:
        await seeded(database)
        async with database.session() as session:
            lead = await score_summary(session, query("30d"), NPS, teams={"support"}, min_n=1)
            nobody = await score_summary(session, query("30d"), NPS, teams=set())
            outside = await score_summary(
                session, query("30d team=billing"), NPS, teams={"support"}
            )
        assert (lead.score.n, lead.score.value) == (3, pytest.approx(100 / 3))
        assert lead.previous is None and lead.teams == ("support",)
        # cid is all of support: there is no one else to stand apart from.
        assert lead.best_agents == lead.worst_agents == ()
        assert (lead.sent, lead.answered) == (3, 2)  # support: the ces, two nps sent in period
        assert nobody.score.n == nobody.sent == 0 and nobody.score.value is None
        assert outside.score.n == 0

    @pytest.mark.parametrize(
        ("args", "n", "value"),
        [
            ("tag=vip", 3, 100.0),  # 10 9 9; "vip-gold" is another tag
            ("tag=REFUND", 2, 0.0),  # 9 6
            ("language=pl", 2, 100.0),  # the invitation's pl, and a respondent's pl
            ("lang=ro", 1, -100.0),
            ("channel=slack", 3, pytest.approx(200 / 3)),  # 10 7 9
            ("agent=bob", 3, pytest.approx(-200 / 3)),  # 7 6 3
            ("team=support", 3, pytest.approx(100 / 3)),
            ("survey=nps-onboarding", 1, -100.0),
            ("team=nobody", 0, None),
        ],
    )
    async def test_each_filter_selects_its_answers(
        self, database: Database, args: str, n: int, value: object
    ) -> None:
        await seeded(database)
        async with database.session() as session:
            summary = await score_summary(session, query(f"30d {args}"), NPS)
        assert (summary.score.n, summary.score.value) == (n, value)

    async def test_periods_month_and_dates(self, database: Database) -> None:
        await seeded(database)
        async with database.session() as session:
            october = await score_summary(session, query("2026-10"), NPS)
            week = await score_summary(session, query("2026-10-06..2026-10-13"), NPS)
        # October holds the whole current period; September the four earlier answers.
        assert october.score.n == 10 and october.query.previous().label == "2026-09"
        assert october.previous is not None and october.previous.n == 4
        assert (week.score.n, week.score.value) == (7, pytest.approx(100 / 7))

    async def test_csat_and_ces(self, database: Database) -> None:
        await seeded(database)
        async with database.session() as session:
            csat = await score_summary(session, query("30d", "csat"), CSAT)
            ces = await score_summary(session, query("30d", "ces"), CES)
        assert (csat.score.n, csat.score.value, csat.score.counts["dissatisfied"]) == (1, 0.0, 1)
        assert (ces.score.n, ces.score.value, ces.score.percent_easy) == (1, 6.0, 100.0)
        assert ces.interval is None  # one answer has no spread
        assert csat.interval is not None and csat.interval.high > 0  # Wilson: never 0 ± 0

    async def test_an_empty_period_has_no_score(self, database: Database) -> None:
        await seeded(database)
        async with database.session() as session:
            summary = await score_summary(session, query("2025-01"), NPS)
        assert summary.score.n == 0 and summary.score.value is None
        assert summary.previous is None and summary.delta is None
        assert summary.response_rate is None and summary.interval is None
        assert summary.change is None


class TestWeeklyTrend:
    async def test_one_point_per_iso_week_with_answers(self, database: Database) -> None:
        # A Sunday late in the evening belongs to the week that started six days before.
        sunday = Seed(0, at(13, 23), team="billing")
        # Monday midnight starts a week of its own.
        monday = Seed(10, at(14), team="billing")
        await seeded(database, [*DATASET, sunday, monday])
        async with database.session() as session:
            trend = await weekly_trend(session, query("30d"), NPS)
        assert [(p.week_start, p.value, p.n) for p in trend] == [
            (date(2026, 10, 5), 75.0, 4),  # 10 10 9 8
            (date(2026, 10, 12), -75.0, 4),  # 7 6 3, and the Sunday 0
            (date(2026, 10, 19), 100.0, 1),
            (date(2026, 10, 26), pytest.approx(100 / 3), 3),  # 9 9 5
        ]

    async def test_filters_and_teams_apply(self, database: Database) -> None:
        await seeded(database)
        async with database.session() as session:
            trend = await weekly_trend(session, query("90d agent=ana"), NPS)
            lead = await weekly_trend(session, query("30d"), NPS, teams=["support"])
        assert [(p.week_start, p.n) for p in trend] == [
            (date(2026, 9, 21), 4),
            (date(2026, 10, 5), 4),
        ]
        assert [(p.week_start, p.n) for p in lead] == [(date(2026, 10, 26), 3)]


class TestComments:
    async def test_latest_first_with_score_case_and_agent(self, database: Database) -> None:
        await seeded(database)
        async with database.session() as session:
            page = await comments_page(session, query("30d", "comments"), page_size=4)
        assert (page.total, page.pages, page.page) == (6, 2, 1)
        assert [(c.text, c.kind, c.score, c.case_id, c.agent, c.team) for c in page.items] == [
            ("Easy", CES, 6, "T-22", "cid", "support"),
            ("Meh", NPS, 5, "T-10", "cid", "support"),
            ("Rude", NPS, 3, "T-7", "bob", "billing"),
            ("Slow answer", NPS, 6, "T-6", "bob", "billing"),
        ]
        assert page.items[0].answered_at == at(23, 1) + timedelta(minutes=1)

    async def test_detractors_only_and_paging(self, database: Database) -> None:
        await seeded(database)
        async with database.session() as session:
            first = await comments_page(session, query("30d detractors", "comments"), page_size=3)
            second = await comments_page(
                session, query("30d detractors page=2", "comments"), page_size=3
            )
            beyond = await comments_page(
                session, query("30d detractors page=3", "comments"), page_size=3
            )
            strict = await comments_page(
                session, query("30d detractors", "comments"), nps_max=4, csat_max=1
            )
        # Detractors: Meh (nps 5), Rude (3), Slow answer (6), Bad (csat 2); not Fast refund
        # (nps 9) nor Easy (ces 6).
        assert (first.total, first.pages) == (4, 2)
        assert [c.text for c in first.items] == ["Meh", "Rude", "Slow answer"]
        assert [c.text for c in second.items] == ["Bad"] and second.page == 2
        assert beyond.items == () and beyond.pages == 2
        assert [c.text for c in strict.items] == ["Rude"]

    async def test_filters_teams_and_blank_comments(self, database: Database) -> None:
        await seeded(database)
        async with database.session() as session:
            await session.exec(text("UPDATE answers SET text = '' WHERE text = 'Rude'"))
            await session.commit()
        async with database.session() as session:
            billing = await comments_page(session, query("30d team=billing", "comments"))
            lead = await comments_page(session, query("30d", "comments"), teams=["support"])
        assert [c.text for c in billing.items] == ["Slow answer", "Bad", "Fast refund"]
        assert [c.text for c in lead.items] == ["Easy", "Meh"]

    async def test_no_comments_means_no_pages(self, database: Database) -> None:
        async with database.session() as session:
            page = await comments_page(session, query("30d", "comments"))
        assert (page.total, page.pages, page.items) == (0, 0, ())


class TestExport:
    async def test_two_thousand_answers_come_out_as_stored(self, database: Database) -> None:
        rows = [
            Seed(
                number % 11,
                T0 + number * timedelta(minutes=7),
                team=f"team-{number % 3}",
                agent=f"agent-{number % 7}",
                tags=("vip",) if number % 5 == 0 else (),
                language="pl" if number % 2 else None,
                respondent_language="ro",
                comment=f"=cmd|' /C calc'!A{number}" if number % 4 == 0 else None,
                channel="slack" if number % 3 == 0 else "telegram",
                touchpoint="billing-call" if number % 2 else None,
            )
            for number in range(1600)
        ]
        await seeded(database, rows)
        out = io.BytesIO()
        async with database.session() as session:
            count = await export_csv(session, query("30d", "export"), out, batch_rows=333)
        lines = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8"))))
        expected = []
        for number, row in enumerate(rows, start=1):
            common = [
                row.channel,
                row.team,
                row.agent,
                ",".join(row.tags),
                row.language or "ro",
                str(number),
                row.touchpoint or "",
            ]
            if row.answered_at < NOW:
                expected.append(
                    [
                        row.answered_at.isoformat(sep=" "),
                        "nps",
                        "nps",
                        "nps",
                        str(row.score),
                        "",
                        "",
                        f"T-{number}",
                        *common,
                    ]
                )
            if row.comment is not None and row.comment_at < NOW:
                expected.append(
                    [
                        row.comment_at.isoformat(sep=" "),
                        "nps",
                        "text",
                        "comment",
                        "",
                        "",
                        "'" + row.comment,
                        f"T-{number}",
                        *common,
                    ]
                )
        assert lines[0] == list(EXPORT_COLUMNS)
        assert count == len(expected) == len(lines) - 1 > 1900
        assert lines[1:] == sorted(expected, key=lambda line: line[0])

    async def test_filters_and_text_output(self, database: Database) -> None:
        await seeded(database)
        out = io.StringIO()
        async with database.session() as session:
            count = await export_csv(
                session, query("30d tag=vip", "export"), out, teams=["support"]
            )
            polish = await export_csv(session, query("30d lang=pl", "export"), io.StringIO())
        lines = list(csv.reader(io.StringIO(out.getvalue())))
        assert count == 1 and lines[1][0:5] == ["2026-10-27 01:00:00", "nps", "nps", "nps", "9"]
        assert lines[1][-4:] == ["vip", "", "8", ""]
        assert polish == 2  # the invitation's pl and the respondent's pl

    async def test_every_cell_a_customer_or_help_desk_sets_is_neutralised(
        self, database: Database
    ) -> None:
        hostile = Seed(
            3,
            at(1, 1),
            team='=HYPERLINK("http://x")',
            agent="+1+1",
            tags=("@SUM(A1)", "vip"),
            comment="\uff1dcmd|' /C calc'!A0",  # full-width equals sign
        )
        await seeded(database, [hostile, Seed(9, at(1, 2), team="billing", comment="-ok")])
        async with database.session() as session:
            await session.exec(text("UPDATE invitations SET case_id = ' \ufe66 1+1' WHERE id = 1"))
            await session.exec(
                text(
                    "INSERT INTO answers (invitation_id, question_id, kind, choice, answered_at)"
                    " VALUES (1, 'reason', 'choice', '-2+3', :at)"
                ),
                params={"at": at(1, 1) + timedelta(minutes=2)},
            )
            await session.commit()
            out = io.StringIO()
            await export_csv(session, query("30d", "export"), out)
        rows = [
            dict(zip(EXPORT_COLUMNS, line, strict=True))
            for line in csv.reader(io.StringIO(out.getvalue()))
        ][1:]
        first = [row for row in rows if row["invitation_id"] == "1"]
        assert {row["case_id"] for row in first} == {"' \ufe66 1+1"}
        assert {row["team"] for row in first} == {'\'=HYPERLINK("http://x")'}
        assert {row["agent"] for row in first} == {"'+1+1"}
        assert {row["tags"] for row in first} == {"'@SUM(A1),vip"}
        assert [row["comment"] for row in first if row["kind"] == "text"] == [
            "'\uff1dcmd|' /C calc'!A0"
        ]
        assert [row["choice"] for row in first if row["kind"] == "choice"] == ["'-2+3"]
        assert [
            row["comment"] for row in rows if row["invitation_id"] == "2" and row["comment"]
        ] == ["'-ok"]
        assert {row["team"] for row in rows if row["invitation_id"] == "2"} == {"billing"}


def test_neutralised_leaves_plain_text_and_catches_every_formula_start() -> None:
    from storage.reports.export import neutralised

    for safe in ("billing", "Ana Pop", "T-1", "vip,refund", "5 stars", "a=b", ""):
        assert neutralised(safe) == safe
    for formula in (
        "=1",
        "+1",
        "-1",
        "@A1",
        "\t=1",
        "\r=1",
        "\n=1",
        "  =1",
        "\uff0b1",
        "\uff20A",
        "\uff0d1",
        "\ufe62 1",
        "\u3000=1",
    ):
        assert neutralised(formula) == "'" + formula


def test_export_filename_names_period_and_filters() -> None:
    assert export_filename(query("2026-10 team=billing tag=vip", "export")) == (
        "cxbot-2026-10-team-billing-tag-vip.csv"
    )
    assert export_filename(query('30d agent="Ana Pop"', "export")) == (
        "cxbot-2026-10-05_2026-11-03-agent-Ana-Pop.csv"
    )
    assert export_filename(query("2026-09-01..2026-10-15 team=../etc", "export")) == (
        "cxbot-2026-09-01_2026-10-15-team-..-etc.csv"
    )


class TestReportingTimeZone:
    """CXBOT_REPORT_TIMEZONE: the same answers fall in other months and weeks, on both backends."""

    async def test_an_answer_late_on_30_november_counts_in_december_in_warsaw(
        self, database: Database
    ) -> None:
        late = Seed(10, datetime(2026, 11, 30, 23, 30), team="billing")  # 00:30 on 1 December
        early = Seed(0, datetime(2026, 11, 30, 22, 30), team="billing")  # 23:30 on 30 November
        await seeded(database, [late, early])
        now = datetime(2026, 12, 20)

        def month(token: str, zone: str) -> ReportQuery:
            return parse_report_args(token, now=now, command="nps", timezone=zone)

        async with database.session() as session:
            warsaw_december = await score_summary(session, month("2026-12", "Europe/Warsaw"), NPS)
            warsaw_november = await score_summary(session, month("2026-11", "Europe/Warsaw"), NPS)
            utc_december = await score_summary(session, month("2026-12", "UTC"), NPS)
        assert (warsaw_december.score.n, warsaw_december.score.value) == (1, 100.0)
        assert (warsaw_november.score.n, warsaw_november.score.value) == (1, -100.0)
        assert utc_december.score.n == 0

    async def test_weeks_start_on_monday_at_local_midnight(self, database: Database) -> None:
        rows = [
            Seed(10, datetime(2026, 11, 29, 23, 30)),  # Sunday in UTC, Monday 00:30 in Warsaw
            Seed(0, datetime(2026, 11, 29, 22, 30)),  # Sunday 23:30 in Warsaw
            # Summer time: Sunday 22:30 UTC is Monday 00:30 in Warsaw, 21:30 is still Sunday.
            Seed(9, datetime(2026, 10, 18, 22, 30)),
            Seed(3, datetime(2026, 10, 18, 21, 30)),
        ]
        await seeded(database, rows)
        now = datetime(2026, 12, 5)
        warsaw = parse_report_args("90d", now=now, command="nps", timezone="Europe/Warsaw")
        utc = parse_report_args("90d", now=now, command="nps")
        async with database.session() as session:
            local = await weekly_trend(session, warsaw, NPS)
            plain = await weekly_trend(session, utc, NPS)
        assert [(p.week_start, p.value, p.n) for p in local] == [
            (date(2026, 10, 12), -100.0, 1),
            (date(2026, 10, 19), 100.0, 1),
            (date(2026, 11, 23), -100.0, 1),
            (date(2026, 11, 30), 100.0, 1),
        ]
        assert [(p.week_start, p.n) for p in plain] == [
            (date(2026, 10, 12), 2),
            (date(2026, 11, 23), 2),
        ]
