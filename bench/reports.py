"""Report speed on 1,000,000 answers: `/nps 90d team=X` against hand-written SQL, and the export.

Not a test. Run with PostgreSQL up, from the repository with the venv active::

    python bench/reports.py            # seed, measure, drop the database
    python bench/reports.py --keep     # keep the seeded database, and reuse it next time

Seeds its own database (created if missing) with SQL `generate_series` (no ORM objects):
1,500,000 invitations sent over 12 months by ~200 agents in 20 teams, 1,000,000 score answers
(half NPS, 30% CSAT, 20% CES) and 250,000 comments. Then prints the median warm time of
`score_summary` for `/nps 90d team=team-07` (the three grouped queries and the Python around
them), the same figures from one hand-written SQL statement, the ratio, the EXPLAIN of the
main query, and the CSV export of every answer of the last 365 days: rows, seconds, and
memory (tracemalloc peak, RSS growth), beside a 30-day export to show it stays flat.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

# Run as `python bench/reports.py` from the repository.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from storage.db import Database
from storage.reports import comments_page, export_csv, score_summary, weekly_trend
from storage.reports.summary import ScoreSummary
from surveys.definitions import QuestionKind
from surveys.report_query import ReportQuery, parse_report_args

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/cxbot_bench_reports"
NOW = datetime(2026, 11, 22, 12, 0)  # fixed, so a kept database answers the same questions
TEAMS, AGENTS, RESPONDENTS = 20, 200, 200_000
TARGET_SECONDS, TARGET_RATIO = 1.0, 1.5
TEAM = "team-07"

SEED = [
    "SELECT setseed(0.42)",
    f"""
    INSERT INTO respondents (id, channel, external_id, language, created_at, updated_at)
    SELECT g, CASE WHEN g % 10 < 7 THEN 'telegram' ELSE 'slack' END, 'u' || g,
           (ARRAY['en', 'pl', 'ro', NULL])[1 + g % 4], CAST(:start AS timestamp),
           CAST(:start AS timestamp)
    FROM generate_series(1, {RESPONDENTS}) AS g
    """,
    # Invitations: kind by id (50% nps, 30% csat, 20% ces), an agent of one team, sent at a
    # uniformly random moment of the 365 days before NOW.
    f"""
    INSERT INTO invitations (id, survey_id, case_id, respondent_id, channel, address, language,
        attributes, team, agent, tags, status, created_at, scheduled_at, sent_at)
    SELECT g,
           CASE WHEN g % 10 < 5 THEN 'nps' WHEN g % 10 < 8 THEN 'csat' ELSE 'ces' END,
           'C-' || g, r, CASE WHEN r % 10 < 7 THEN 'telegram' ELSE 'slack' END, 'u' || r,
           CASE WHEN g % 5 = 0 THEN 'pl' END, '{{}}',
           'team-' || lpad((a % {TEAMS} + 1)::text, 2, '0'), 'agent-' || lpad(a::text, 3, '0'),
           CASE WHEN g % 10 = 3 THEN ',vip,' WHEN g % 20 = 7 THEN ',refund,' END,
           CASE WHEN g % 3 = 0 THEN 'sent' ELSE 'completed' END,
           sent - interval '1 hour', sent - interval '1 hour', sent
    FROM (
        SELECT g, (1 + (g::bigint * 7919) % {RESPONDENTS})::int AS r,
               1 + floor(random() * {AGENTS})::int AS a,
               CAST(:start AS timestamp) + random() * interval '365 days' AS sent
        FROM generate_series(1, :invitations) AS g
    ) AS s
    """,
    # Two invitations in three are answered within two days; NPS scores lean high.
    """
    INSERT INTO answers (invitation_id, question_id, kind, score, choice, text, answered_at)
    SELECT id, survey_id, survey_id,
           CASE survey_id
               WHEN 'nps' THEN 4 + floor(random() * 5)::int + floor(random() * 3)::int
               WHEN 'csat' THEN 1 + floor(random() * 5)::int
               ELSE 1 + floor(random() * 7)::int
           END,
           NULL, NULL, sent_at + random() * interval '2 days'
    FROM invitations WHERE id % 3 <> 0
    """,
    """
    INSERT INTO answers (invitation_id, question_id, kind, score, choice, text, answered_at)
    SELECT a.invitation_id, 'comment', 'text', NULL, NULL,
           'comment ' || a.invitation_id || ': ' || repeat('so so ', 1 + a.invitation_id % 20),
           a.answered_at + interval '1 minute'
    FROM answers AS a WHERE a.invitation_id % 4 = 1
    """,
    "SELECT setval('respondents_id_seq', (SELECT max(id) FROM respondents))",
    "SELECT setval('invitations_id_seq', (SELECT max(id) FROM invitations))",
]

# The numbers score_summary gives, in one statement written by hand: one scan of the scored
# answers feeds both the distribution (this period and the previous) and the per-group counts.
HAND_WRITTEN = """
WITH scoped AS (
    SELECT a.score, a.answered_at, i.team, i.agent
    FROM answers AS a JOIN invitations AS i ON i.id = a.invitation_id
    WHERE a.kind = 'nps' AND a.score IS NOT NULL
      AND a.answered_at >= :previous_start AND a.answered_at < :end AND i.team = :team
)
SELECT 'score' AS part, NULL AS team, NULL AS agent, score,
       count(*) FILTER (WHERE answered_at >= :start) AS current,
       count(*) FILTER (WHERE answered_at < :start) AS previous
FROM scoped GROUP BY score
UNION ALL
SELECT 'group', team, agent, score, count(*), 0
FROM scoped WHERE answered_at >= :start GROUP BY team, agent, score
UNION ALL
SELECT 'sent', NULL, NULL, NULL, count(*),
       count(*) FILTER (WHERE EXISTS (
           SELECT 1 FROM answers AS a
           WHERE a.invitation_id = i.id AND a.kind = 'nps' AND a.score IS NOT NULL))
FROM invitations AS i
WHERE i.sent_at >= :start AND i.sent_at < :end AND i.team = :team AND i.survey_id = 'nps'
"""


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the seeded data")
    parser.add_argument("--answers", type=int, default=1_000_000, help="score answers to seed")
    parser.add_argument("--runs", type=int, default=9, help="timed runs (median reported)")
    return parser.parse_args()


async def ensure_database(url: str) -> bool:
    """Create the benchmark's database if missing; True if it was created."""
    target = make_url(url)
    admin = create_async_engine(
        target.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        async with admin.connect() as conn:
            found = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": target.database},
            )
            if not found:
                await conn.execute(text(f'CREATE DATABASE "{target.database}"'))
            return not found
    finally:
        await admin.dispose()


async def drop_database(url: str) -> None:
    target = make_url(url)
    admin = create_async_engine(
        target.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def seeded_answers(database: Database) -> int:
    async with database.engine.connect() as conn:
        count = await conn.scalar(text("SELECT count(*) FROM answers WHERE score IS NOT NULL"))
    return int(count or 0)


async def seed(database: Database, answers: int) -> float:
    invitations = answers * 3 // 2  # two in three are answered
    began = time.perf_counter()
    async with database.engine.begin() as conn:
        await conn.execute(text("TRUNCATE answers, invitations, respondents CASCADE"))
        for statement in SEED:
            await conn.execute(
                text(statement), {"start": NOW - timedelta(days=365), "invitations": invitations}
            )
    async with database.engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        # Fresh statistics, and a visibility map so index-only scans need no heap visits.
        await conn.execute(text("VACUUM ANALYZE answers, invitations, respondents"))
    return time.perf_counter() - began


async def median_seconds(call: Callable[[], Awaitable[object]], runs: int) -> float:
    for _ in range(2):  # warm: plans cached, pages in shared buffers
        await call()
    times = []
    for _ in range(runs):
        began = time.perf_counter()
        await call()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


async def summary_of(database: Database, query: ReportQuery) -> ScoreSummary:
    async with database.session() as session:
        return await score_summary(session, query, QuestionKind.NPS, min_n=30, surveys=["nps"])


async def hand_written(database: Database, query: ReportQuery) -> list[Any]:
    params = {
        "previous_start": query.previous().start,
        "start": query.start,
        "end": query.end,
        "team": TEAM,
    }
    async with database.engine.connect() as conn:
        return list((await conn.execute(text(HAND_WRITTEN), params)).all())


def check_same_numbers(summary: ScoreSummary, rows: list[Any]) -> None:
    distribution = {row.score: row.current for row in rows if row.part == "score"}
    sent = next(row for row in rows if row.part == "sent")
    assert {k: v for k, v in summary.score.distribution.items() if v} == {
        k: v for k, v in distribution.items() if v
    }, "hand-written SQL disagrees on the distribution"
    assert (summary.sent, summary.answered) == (sent.current, sent.previous), "sent/answered"


async def explain(database: Database, query: ReportQuery) -> list[str]:
    """EXPLAIN ANALYZE of every statement score_summary runs, captured as it runs them."""
    captured: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        captured.append((statement, parameters))

    event.listen(database.engine.sync_engine, "before_cursor_execute", capture)
    try:
        await summary_of(database, query)
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", capture)
    plans: list[str] = []
    async with database.engine.connect() as conn:
        for number, (statement, parameters) in enumerate(captured, start=1):
            plan = await conn.exec_driver_sql(
                "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters
            )
            plans.append(f"-- query {number}")
            plans.extend(row[0] for row in plan)
    return plans


def other_calls(database: Database) -> list[tuple[str, Callable[[], Awaitable[object]]]]:
    """Report calls beside the headline one, to show how cost grows without a team filter."""

    def parsed(args: str, command: str = "nps") -> ReportQuery:
        return parse_report_args(args, now=NOW, command=command)

    async def summary(args: str) -> None:
        await summary_of(database, parsed(args))

    async def trend(args: str) -> None:
        async with database.session() as session:
            await weekly_trend(session, parsed(args), QuestionKind.NPS)

    async def comments(args: str) -> None:
        async with database.session() as session:
            await comments_page(session, parsed(args, "comments"))

    return [
        ("score_summary /nps 90d (every team)", lambda: summary("90d")),
        ("score_summary /nps 365d (every team)", lambda: summary("365d")),
        (f"score_summary /nps 365d team={TEAM}", lambda: summary(f"365d team={TEAM}")),
        (f"weekly_trend /nps 90d team={TEAM}", lambda: trend(f"90d team={TEAM}")),
        (
            f"comments_page /comments 90d team={TEAM} detractors",
            lambda: comments(f"90d team={TEAM} detractors"),
        ),
    ]


def peak_rss_kib() -> int:
    """This process's peak resident set size (VmHWM), in KiB."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


async def export(database: Database, query: ReportQuery, *, trace: bool) -> tuple[int, float, int]:
    """Rows, seconds, tracemalloc peak bytes (0 unless `trace`) of one export to a temp file."""
    descriptor, name = tempfile.mkstemp(prefix="cxbot-bench-", suffix=".csv")
    try:
        if trace:
            tracemalloc.start()
        began = time.perf_counter()
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as out:
            async with database.session() as session:
                rows = await export_csv(session, query, out)
        seconds = time.perf_counter() - began
        peak = tracemalloc.get_traced_memory()[1] if trace else 0
        if trace:
            tracemalloc.stop()
        return rows, seconds, peak
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


async def main() -> int:
    args = parse_args()
    created = await ensure_database(args.database_url)
    database = Database(args.database_url)
    try:
        await database.upgrade()
        have = await seeded_answers(database)
        if args.keep and have == args.answers:
            print(f"reusing {have:,} score answers in {make_url(args.database_url).database}")
        else:
            seconds = await seed(database, args.answers)
            print(f"seeded {await seeded_answers(database):,} score answers in {seconds:.0f} s")
        async with database.engine.connect() as conn:
            counts = (
                await conn.execute(
                    text(
                        "SELECT (SELECT count(*) FROM answers), (SELECT count(*) FROM invitations),"
                        " (SELECT count(DISTINCT team) FROM invitations),"
                        " (SELECT count(DISTINCT agent) FROM invitations)"
                    )
                )
            ).one()
        print(
            f"answers {counts[0]:,} (with comments) · invitations {counts[1]:,} · "
            f"teams {counts[2]} · agents {counts[3]}"
        )

        query = parse_report_args(f"90d team={TEAM}", now=NOW, command="nps")
        summary = await summary_of(database, query)
        check_same_numbers(summary, await hand_written(database, query))
        ours = await median_seconds(lambda: summary_of(database, query), args.runs)
        theirs = await median_seconds(lambda: hand_written(database, query), args.runs)
        ratio = ours / theirs
        print()
        print(
            f"/nps 90d team={TEAM}: n={summary.score.n:,}, NPS {summary.score.value:+.1f}, "
            f"sent {summary.sent:,}, answered {summary.answered:,}, "
            f"{len(summary.best_agents) + len(summary.worst_agents)} agents ranked"
        )
        verdict = "ok" if ours < TARGET_SECONDS else "MISSED"
        print(
            f"  score_summary      median {ours * 1000:7.1f} ms  "
            f"(target < {TARGET_SECONDS * 1000:.0f} ms: {verdict})"
        )
        print(f"  hand-written SQL   median {theirs * 1000:7.1f} ms")
        print(
            f"  ratio              {ratio:.2f}  "
            f"(target <= {TARGET_RATIO}: {'ok' if ratio <= TARGET_RATIO else 'MISSED'})"
        )
        print()
        print("other report calls (median, warm):")
        for label, call in other_calls(database):
            seconds = await median_seconds(call, max(3, args.runs // 3))
            print(f"  {label:<40} {seconds * 1000:7.1f} ms")
        print()
        print("EXPLAIN ANALYZE of score_summary's queries:")
        for line in await explain(database, query):
            print("  " + line)

        print()
        print("CSV export (every answer, all kinds, to a file on disk):")
        for period in ("30d", "365d"):
            export_query = parse_report_args(period, now=NOW, command="export")
            before = peak_rss_kib()
            rows, seconds, _ = await export(database, export_query, trace=False)
            grown = peak_rss_kib() - before
            _, traced_seconds, peak = await export(database, export_query, trace=True)
            print(
                f"  {period:>5}: {rows:>9,} rows in {seconds:5.1f} s ({rows / seconds:,.0f} rows/s)"
                f" · tracemalloc peak {peak / 2**20:5.1f} MiB (traced run {traced_seconds:.1f} s)"
                f" · peak RSS growth {grown / 1024:5.1f} MiB"
            )
    finally:
        await database.dispose()
        if not args.keep:
            await drop_database(args.database_url)
            print("\ndropped the benchmark database (pass --keep to keep it)")
        elif created:
            print(f"\nkept {make_url(args.database_url).database} for the next --keep run")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
