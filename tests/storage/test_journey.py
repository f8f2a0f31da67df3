"""/journey's figures on SQLite and PostgreSQL: touchpoints in the journey's order, the friction
point, and touchpoint= as a filter of every report."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import Database
from storage.reports import journey, score_summary
from surveys.definitions import QuestionKind
from surveys.report_query import parse_report_args
from tests.storage.reportdata import HOUR, T0, Seed, clear, seed

NOW = T0 + timedelta(days=30)
NPS, CSAT, CES = QuestionKind.NPS, QuestionKind.CSAT, QuestionKind.CES


ROWS = [
    # signup: CES 7 7 6 (mean 6.67), NPS 10
    *(Seed(s, T0 + h * HOUR, kind="ces", touchpoint="signup") for h, s in enumerate([7, 7, 6])),
    Seed(10, T0 + 5 * HOUR, touchpoint="signup"),
    # first-ticket: CES 2 3 4 (mean 3), CSAT 1 2 (0% satisfied)
    *(
        Seed(s, T0 + (10 + h) * HOUR, kind="ces", touchpoint="first-ticket", team="billing")
        for h, s in enumerate([2, 3, 4])
    ),
    *(
        Seed(s, T0 + (20 + h) * HOUR, kind="csat", touchpoint="first-ticket")
        for h, s in enumerate([1, 2])
    ),
    # renewal: CES 5 only twice (too few for the friction point at min_n 3)
    *(Seed(1, T0 + (30 + h) * HOUR, kind="ces", touchpoint="renewal") for h in range(2)),
    # sent by hand: no touchpoint
    Seed(0, T0 + 40 * HOUR),
    # before the period
    Seed(1, T0 - 5 * HOUR, kind="ces", touchpoint="signup"),
]


async def seed_more(session: AsyncSession, rows: list[Seed]) -> None:
    # seed() numbers rows from 1: put the later ones after ROWS.
    padded = [*ROWS, *rows]
    await clear(session)
    await seed(session, padded)
    await session.commit()


async def seeded(database: Database) -> None:
    async with database.session() as session:
        await seed(session, ROWS)
        await session.commit()


async def test_steps_in_journey_order_then_others_and_the_friction_point(
    database: Database,
) -> None:
    await seeded(database)
    query = parse_report_args("30d", now=NOW, command="journey")
    async with database.session() as session:
        found = await journey(session, query, ["signup", "onboarding", "first-ticket"], min_n=3)
    assert [step.name for step in found.steps] == [
        "signup",
        "onboarding",  # listed in the journey, no answers yet
        "first-ticket",
        "renewal",  # not in the journey: after it, by name
        None,  # no touchpoint
    ]
    signup, onboarding, first, renewal, unnamed = found.steps
    assert signup.scores[CES].n == 3 and signup.scores[CES].value == pytest.approx(20 / 3)
    assert signup.scores[NPS].value == 100.0 and onboarding.scores == {}
    assert (first.scores[CES].value, first.scores[CSAT].value) == (3.0, 0.0)
    assert renewal.scores[CES].value == 1.0 and unnamed.scores[NPS].value == -100.0
    # The worst effort with 3+ answers: renewal's 1.0 has only two.
    assert found.friction is first and found.friction_kind is CES
    interval = first.intervals[CES]
    assert interval is not None and interval.low < 3.0 < interval.high


async def test_csat_decides_when_no_effort_has_enough_answers(database: Database) -> None:
    await seeded(database)
    query = parse_report_args("30d", now=NOW, command="journey")
    async with database.session() as session:
        strict = await journey(session, query, [], min_n=4)
        loose = await journey(session, query, [], min_n=2)
        none = await journey(session, query, [], min_n=50)
    assert strict.friction is None  # no CES and no CSAT with 4 answers
    assert loose.friction is not None and loose.friction.name == "renewal"  # CES 1.0, n=2
    assert none.friction is None and none.friction_kind is None
    # Two days later only CSAT was asked: the worst satisfaction is the friction point.
    later = [
        *(Seed(5, T0 + (48 + h) * HOUR, kind="csat", touchpoint="billing") for h in range(2)),
        *(Seed(2, T0 + (50 + h) * HOUR, kind="csat", touchpoint="refund") for h in range(2)),
        Seed(1, T0 + 52 * HOUR, kind="ces", touchpoint="refund"),  # one CES: not enough
    ]
    async with database.session() as session:
        await seed_more(session, later)
        day = parse_report_args("2026-10-07..2026-10-07", now=NOW, command="journey")
        csat_only = await journey(session, day, [], min_n=2)
    assert csat_only.friction is not None and csat_only.friction.name == "refund"
    assert csat_only.friction_kind is CSAT


async def test_touchpoint_filters_reports_and_the_journey(database: Database) -> None:
    await seeded(database)
    query = parse_report_args("30d touchpoint=first-ticket", now=NOW, command="ces")
    whole = parse_report_args("30d touchpoint=first-ticket", now=NOW, command="journey")
    async with database.session() as session:
        summary = await score_summary(session, query, CES)
        found = await journey(session, whole, ["signup", "first-ticket"], min_n=1)
        lead = await journey(session, whole, ["signup", "first-ticket"], teams={"billing"}, min_n=1)
    assert (summary.score.n, summary.score.value) == (3, 3.0)
    assert [step.name for step in found.steps] == ["first-ticket"]
    assert lead.steps[0].scores[CES].n == 3 and CSAT not in lead.steps[0].scores
    assert query.describe() == "touchpoint=first-ticket"
