"""Report text as admins read it in Telegram and Slack: exact lines for known figures."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import datetime
from typing import Any

import pytest
from matplotlib.axes import Axes

from bot.admin.journey_chart import journey_chart
from bot.admin.journey_text import journey_text
from bot.admin.report_text import comments_text, export_caption, report_text, summary_text
from storage.reports import Comment, CommentsPage, GroupScore, Journey, ScoreSummary, Touchpoint
from surveys.definitions import QuestionKind
from surveys.intervals import interval
from surveys.report_query import ReportQuery, parse_report_args
from surveys.significance import compare
from surveys.stats import score_from_counts

NOW = datetime(2026, 11, 22, 12)
NPS, CSAT, CES = QuestionKind.NPS, QuestionKind.CSAT, QuestionKind.CES


def query(args: str, command: str = "nps") -> ReportQuery:
    return parse_report_args(args, now=NOW, command=command)


def summary(
    kind: QuestionKind,
    counts: dict[int, int],
    previous: dict[int, int] | None = None,
    *,
    args: str = "30d",
    sent: int = 0,
    answered: int = 0,
    min_n: int = 30,
    failed: int = 0,
    blocked: int = 0,
    **groups: tuple[GroupScore, ...],
) -> ScoreSummary:
    score = score_from_counts(kind, counts)
    before = score_from_counts(kind, previous or {})
    delta = (
        score.value - before.value if score.value is not None and before.value is not None else None
    )
    return ScoreSummary(
        kind=kind,
        query=query(args, kind.value),
        score=score,
        sent=sent,
        answered=answered,
        response_rate=answered / sent if sent else None,
        previous=before if before.n else None,
        delta=delta,
        interval=interval(score),
        min_n=min_n,
        trustworthy=score.n >= min_n,
        failed=failed,
        blocked=blocked,
        change=compare(score, before) if before.n else None,
        **groups,  # type: ignore[arg-type]
    )


# 62 promoters, 52 passives, 34 detractors: NPS 18.9; previous 20/10/10: NPS 25.
NPS_148 = {10: 40, 9: 22, 8: 30, 7: 22, 6: 14, 3: 10, 0: 10}
NPS_PREVIOUS = {10: 20, 8: 10, 5: 10}


def test_nps_summary() -> None:
    text = summary_text(
        summary(
            NPS,
            NPS_148,
            NPS_PREVIOUS,
            args="30d tag=vip",
            sent=402,
            answered=148,
            failed=12,
            blocked=9,
            best_teams=(GroupScore("billing", 40.0, 52), GroupScore("support", 30.8, 40)),
            worst_teams=(GroupScore("sales", -3.03, 33),),
            best_agents=(GroupScore("ana", 54.8, 31),),
            worst_agents=(GroupScore("bob", -10.0, 30),),
        )
    )
    assert text == (
        "NPS +19 (n=148, 95% CI +6..+31) · last 30 days · tag=vip · UTC time\n"
        "promoters        62   42%\n"
        "passives         52   35%\n"
        "detractors       34   23%\n"
        "response rate  148/402 sent (37%) · 12 failed (9 blocked the bot)\n"
        "change         -6 vs previous 30 days (+25): within the noise (95% CI -32..+23)\n"
        "best teams     billing +40 (n=52) · support +31 (n=40)\n"
        "worst teams    sales -3 (n=33)\n"
        "best agents    ana +55 (n=31)\n"
        "worst agents   bob -10 (n=30)"
    )


def test_few_answers_are_flagged_and_a_team_lead_sees_their_teams() -> None:
    few = replace(summary(NPS, {9: 3, 2: 1}, args="2026-10 team=billing"), teams=("billing",))
    assert summary_text(few) == (
        "NPS +50 (n=4, 95% CI -34..+91) · 2026-10 · team=billing · teams billing · UTC time\n"
        "promoters         3   75%\n"
        "passives          0    0%\n"
        "detractors        1   25%\n"
        "response rate  no invitations sent in this period\n"
        "change         no answers in 2026-09 to compare\n"
        "⚠ fewer than 30 answers: treat as indicative\n"
        "no team or agent with 30+ answers stands out from the rest"
    )


def test_csat_and_ces_show_their_distribution() -> None:
    csat = summary(CSAT, {5: 30, 4: 11, 3: 5, 2: 2, 1: 2}, {5: 20, 1: 5}, sent=60, answered=50)
    assert summary_text(csat) == (
        "CSAT 82% (n=50, 95% CI 69..90%) · last 30 days · UTC time\n"
        "satisfied        41   82%\n"
        "neutral           5   10%\n"
        "dissatisfied      4    8%\n"
        "scores         1:2  2:2  3:5  4:11  5:30\n"
        "mean           4.3 / 5\n"
        "response rate  50/60 sent (83%)\n"
        "change         +2 pts vs previous 30 days (80%): within the noise (95% CI -16..+22 pts)\n"
        "no team or agent with 30+ answers stands out from the rest"
    )
    ces = summary(CES, {7: 20, 6: 10, 4: 5, 2: 5}, {7: 1, 1: 1}, args="7d", min_n=10)
    assert summary_text(ces).splitlines()[:6] == [
        "CES 5.8 / 7 (n=40, 95% CI 5.2..6.3) · 75% easy (95% CI 60..86%) · last 7 days · UTC time",
        "easy             30   75%",
        "neutral           5   12%",
        "difficult         5   12%",
        "scores         1:0  2:5  3:0  4:5  5:0  6:10  7:20",
        "response rate  no invitations sent in this period",
    ]
    assert summary_text(ces).splitlines()[6] == (
        "change         +1.8 vs previous 7 days (4.0 / 7): within the noise (95% CI -6.0..+6.0)"
    )


def test_ces_answers_all_alike_say_there_is_no_interval() -> None:
    alike = summary(CES, {7: 12}, args="7d", min_n=10)
    assert summary_text(alike).splitlines()[0] == (
        "CES 7.0 / 7 (n=12, no interval: all 12 answers are 7) · 100% easy (95% CI 76..100%) · "
        "last 7 days · UTC time"
    )
    one = summary(CES, {5: 1}, args="7d", min_n=10)
    assert summary_text(one).splitlines()[0].startswith("CES 5.0 / 7 (n=1) · ")


def test_a_journey_step_with_ces_answers_all_alike_has_no_interval_in_text_or_chart(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alike = score_from_counts(CES, {6: 5})
    spread = score_from_counts(CES, {2: 2, 4: 3})
    steps = (
        Touchpoint("signup", {CES: alike}, {CES: interval(alike)}),
        Touchpoint("renewal", {CES: spread}, {CES: interval(spread)}),
    )
    found = Journey(query("7d", "journey"), steps, None, None, min_n=30)
    lines = journey_text(found).splitlines()
    assert "   CES 6.0 / 7 (n=5, no interval: all 5 answers are 6)" in lines
    assert "   CES 3.2 / 7 (n=5, 95% CI 1.8..4.6)" in lines

    drawn: list[Any] = []
    bar = Axes.bar

    def recorded(self: Axes, *args: Any, **kwargs: Any) -> Any:
        drawn.append(kwargs["yerr"])
        return bar(self, *args, **kwargs)

    monkeypatch.setattr(Axes, "bar", recorded)
    assert journey_chart(found) is not None
    ((below, above),) = drawn
    assert math.isnan(below[0]) and math.isnan(above[0])  # no error bar, not one of zero width
    assert below[1] == pytest.approx(3.2 - 1.8, abs=0.05) and above[1] > 0


def test_no_answers() -> None:
    empty = summary(NPS, {}, sent=12, args="90d channel=slack")
    assert summary_text(empty) == (
        "NPS n/a (n=0) · last 90 days · channel=slack · UTC time\n"
        "no answers in this period\n"
        "response rate  0/12 sent (0%)\n"
        "change         no answers in previous 90 days to compare"
    )


def test_a_zero_change_has_no_sign() -> None:
    same = summary(NPS, {10: 1, 0: 1}, {9: 2, 3: 2}, min_n=1)
    assert "change         0 vs previous 30 days (0): within the noise" in summary_text(same)


def test_report_puts_the_kinds_under_one_heading() -> None:
    kinds = [
        summary(NPS, {10: 2}, args="7d team=billing", min_n=1),
        summary(CSAT, {5: 1, 1: 1}, args="7d team=billing", min_n=1),
        summary(CES, {}, args="7d team=billing", min_n=1),
    ]
    text = report_text(kinds)
    assert text.split("\n\n")[0] == "Report · last 7 days · team=billing · UTC time"
    assert [block.splitlines()[0] for block in text.split("\n\n")[1:]] == [
        "NPS +100 (n=2, 95% CI -24..+100)",  # never ±0, however alike the answers
        "CSAT 50% (n=2, 95% CI 9..91%)",
        "CES n/a (n=0)",
    ]
    with pytest.raises(ValueError):
        report_text([])


def comment(text: str, score: int | None = 3, **changes: object) -> Comment:
    values: dict[str, object] = {
        "answered_at": datetime(2026, 11, 20, 14, 2),
        "kind": NPS,
        "score": score,
        "text": text,
        "case_id": "T-1042",
        "agent": "ana",
        "team": "billing",
    }
    values.update(changes)
    return Comment(**values)  # type: ignore[arg-type]


def test_comments_page_with_the_next_page_to_ask_for() -> None:
    page = CommentsPage(
        query=query("30d team=billing detractors", "comments"),
        items=(
            comment("Rude\nand slow"),
            comment("Meh", None, kind=None, agent=None, case_id="T-9"),
        ),
        page=1,
        pages=4,
        total=17,
        page_size=5,
    )
    assert comments_text(page, prefix="/cx ") == (
        "Comments · last 30 days · team=billing, detractors · UTC time · 17 in all\n"
        "\n"
        "2026-11-20 14:02 · NPS 3 · T-1042 · ana (billing)\n"
        "“Rude and slow”\n"
        "\n"
        "2026-11-20 14:02 · T-9 · billing\n"
        "“Meh”\n"
        "\n"
        "page 1/4 · /cx comments 30d team=billing detractors page=2 for more"
    )


def test_comments_last_page_empty_and_beyond() -> None:
    base = CommentsPage(query("7d page=2", "comments"), (comment("x" * 700),), 2, 2, 6, 5)
    text = comments_text(base)
    assert text.endswith("\n\npage 2/2")
    assert "“" + "x" * 599 + "…”" in text
    assert comments_text(replace(base, items=(), total=0, pages=0)) == (
        "No comments · last 7 days · UTC time"
    )
    assert comments_text(replace(base, items=(), page=3)) == (
        "Comments · last 7 days · UTC time · 6 in all\npage 3 is past the last page (2)."
    )


def test_export_caption() -> None:
    export = query("2026-10 team=billing", "export")
    assert export_caption(export, 12345) == (
        "Export · 2026-10 · team=billing · UTC time · 12,345 answers (CSV, times in UTC)"
    )
    assert export_caption(export, 1).endswith("· 1 answer (CSV, times in UTC)")
    assert export_caption(export, 0) == "No answers to export · 2026-10 · team=billing · UTC time"


def test_the_people_behind_the_answers_are_counted_when_known() -> None:
    base = summary(NPS, NPS_148, sent=402, answered=148)
    assert "people" not in summary_text(base)
    text = summary_text(replace(base, people=131))
    assert "people         131 gave the 148 answers" in text.splitlines()
