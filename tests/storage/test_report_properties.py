"""Property: on random answer sets, every report figure equals surveys.scoring on the same rows.

Runs on SQLite and PostgreSQL (the `database` fixture); each example empties the tables first.
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Collection
from datetime import date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.db import Database
from storage.reports import comments_page, export_csv, score_summary, weekly_trend
from storage.reports.comments import DETRACTOR_MAX
from storage.reports.summary import TOP
from surveys.definitions import SCALES, QuestionKind
from surveys.local_time import to_local
from surveys.report_query import ReportQuery, parse_report_args
from surveys.scoring import Score, score
from surveys.significance import compare
from tests.storage.reportdata import T0, Seed, clear, seed

NOW = T0 + timedelta(days=30)
KINDS = (QuestionKind.NPS, QuestionKind.CSAT, QuestionKind.CES)
PERIODS = ("7d", "30d", "90d", "2026-10", "2026-09-20..2026-10-10")
TEAMS = ("a", "b", "c")
# The reporting zone: none, one with summer time (the data spans its October change), and
# one a whole half hour and more away from UTC.
ZONES = ("UTC", "Europe/Warsaw", "Asia/Kolkata")


@st.composite
def seeds(draw: st.DrawFn) -> Seed:
    kind = draw(st.sampled_from(KINDS))
    low, high = SCALES[kind]
    answered_at = T0 + timedelta(minutes=draw(st.integers(-40 * 1440, 40 * 1440)))
    answered = draw(st.booleans()) or draw(st.booleans())
    return Seed(
        score=draw(st.integers(low, high)) if answered else None,
        answered_at=answered_at,
        kind=kind.value,
        comment=draw(st.sampled_from([None, "good", "bad", "meh"])) if answered else None,
        sent_at=answered_at - timedelta(hours=draw(st.integers(0, 24 * 20))),
        team=draw(st.sampled_from([None, *TEAMS])),
        agent=draw(st.sampled_from([None, "x", "y", "z"])),
        tags=tuple(draw(st.sets(st.sampled_from(["refund", "vip"])))),
        language=draw(st.sampled_from([None, "pl", "en"])),
        respondent_language=draw(st.sampled_from([None, "pl", "ro"])),
        channel=draw(st.sampled_from(["telegram", "slack"])),
        survey=draw(st.sampled_from([None, "custom"])),
    )


@st.composite
def report_args(draw: st.DrawFn) -> str:
    tokens = [draw(st.sampled_from(PERIODS))]
    for name, values in (
        ("team", TEAMS),
        ("agent", ("x", "y")),
        ("tag", ("vip", "refund")),
        ("language", ("pl", "ro", "en")),
        ("channel", ("slack", "telegram")),
        ("survey", ("custom", "nps")),
    ):
        if draw(st.integers(0, 3)) == 0:
            tokens.append(f"{name}={draw(st.sampled_from(values))}")
    return " ".join(draw(st.permutations(tokens)))


def matches(row: Seed, query: ReportQuery, teams: Collection[str] | None) -> bool:
    language = row.language or row.respondent_language
    return (
        (query.survey is None or row.survey_id == query.survey)
        and (query.channel is None or row.channel == query.channel)
        and (query.team is None or row.team == query.team)
        and (query.agent is None or row.agent == query.agent)
        and (query.tag is None or query.tag in row.tags)
        and (query.language is None or language == query.language)
        and (teams is None or row.team in teams)
    )


def scores_of(rows: list[Seed], kind: QuestionKind, start: datetime, end: datetime) -> Score:
    return score(
        kind,
        [
            row.score
            for row in rows
            if row.kind == kind.value and row.score is not None and start <= row.answered_at < end
        ],
    )


def is_detractor(row: Seed) -> bool:
    return row.score is not None and row.score <= DETRACTOR_MAX[QuestionKind(row.kind)]


def monday(moment: datetime) -> date:
    return moment.date() - timedelta(days=moment.weekday())


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(seeds(), max_size=40),
    args=report_args(),
    kind=st.sampled_from(KINDS),
    teams=st.none() | st.sets(st.sampled_from(TEAMS)),
    min_n=st.integers(1, 4),
    detractors=st.booleans(),
    zone=st.sampled_from(ZONES),
)
async def test_reports_equal_scoring_on_the_same_rows(
    database: Database,
    rows: list[Seed],
    args: str,
    kind: QuestionKind,
    teams: set[str] | None,
    min_n: int,
    detractors: bool,
    zone: str,
) -> None:
    async with database.session() as session:
        await clear(session)
        await seed(session, rows)
        await session.commit()
    query = parse_report_args(args, now=NOW, command=kind.value, timezone=zone)
    comments_args = args + (" detractors" if detractors else "")
    comments_query = parse_report_args(comments_args, now=NOW, command="comments", timezone=zone)
    async with database.session() as session:
        summary = await score_summary(session, query, kind, teams=teams, min_n=min_n)
        trend = await weekly_trend(session, query, kind, teams=teams)
        comments = await comments_page(session, comments_query, teams=teams, page_size=200)
        exported = await export_csv(session, query, io.StringIO(), teams=teams)

    chosen = [row for row in rows if matches(row, query, teams)]
    previous = query.previous()
    expected = scores_of(chosen, kind, query.start, query.end)
    expected_previous = scores_of(chosen, kind, previous.start, previous.end)
    assert summary.score == expected
    assert summary.previous == (expected_previous if expected_previous.n else None)
    assert summary.trustworthy == (expected.n >= min_n)

    sent = [row for row in chosen if query.start <= row.sent < query.end]
    answered = [row for row in sent if row.kind == kind.value and row.score is not None]
    assert (summary.sent, summary.answered) == (len(sent), len(answered))

    for attribute, best, worst in (
        ("team", summary.best_teams, summary.worst_teams),
        ("agent", summary.best_agents, summary.worst_agents),
    ):
        groups: defaultdict[str, list[Seed]] = defaultdict(list)
        for row in chosen:
            if (name := getattr(row, attribute)) is not None:
                groups[name].append(row)
        eligible = {
            name: group_score
            for name, members in groups.items()
            if (group_score := scores_of(members, kind, query.start, query.end)).n >= min_n
        }
        apart = {}
        for name, group_score in eligible.items():
            others = [row for row in chosen if getattr(row, attribute) != name]
            rest = scores_of(others, kind, query.start, query.end)
            change = compare(group_score, rest) if rest.n else None
            if change is not None and change.significant:
                apart[name] = change
        listed = best + worst
        assert len({group.name for group in listed}) == len(listed)
        ranked = sorted(apart, key=lambda n: (-(eligible[n].value or 0), -eligible[n].n, n))
        above = [name for name in ranked if apart[name].low > 0]
        below = [name for name in reversed(ranked) if apart[name].high < 0]
        assert [g.name for g in best] == above[:TOP]
        assert [g.name for g in worst] == below[:TOP]
        for group in listed:
            assert (group.value, group.n) == (eligible[group.name].value, eligible[group.name].n)
            assert group.change == apart[group.name]

    weeks: defaultdict[date, list[Seed]] = defaultdict(list)
    for row in chosen:
        weeks[monday(to_local(row.answered_at, zone))].append(row)
    expected_trend = [
        (week, s.value, s.n)
        for week in sorted(weeks)
        if (s := scores_of(weeks[week], kind, query.start, query.end)).n
    ]
    assert [(point.week_start, point.value, point.n) for point in trend] == expected_trend

    written = sorted(
        (
            (row.comment_at, number)
            for number, row in enumerate(rows, start=1)
            if row.comment is not None
            and matches(row, comments_query, teams)
            and comments_query.start <= row.comment_at < comments_query.end
            and (is_detractor(row) or not detractors)
        ),
        reverse=True,
    )
    assert comments.total == len(written)
    assert [(c.answered_at, c.case_id) for c in comments.items] == [
        (moment, f"T-{number}") for moment, number in written
    ]

    in_period = [
        moment
        for row in chosen
        for moment in (
            row.answered_at if row.score is not None else None,
            row.comment_at if row.comment is not None else None,
        )
        if moment is not None and query.start <= moment < query.end
    ]
    assert exported == len(in_period)
