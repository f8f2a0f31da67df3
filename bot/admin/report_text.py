"""Reports as plain text that reads the same in Telegram and Slack: no HTML, no Markdown.

Lines are short and labelled; labels are padded to one width so the figures line up where the
client uses a fixed-width font and stay readable where it does not.
"""

from __future__ import annotations

from collections.abc import Sequence

from storage.reports import CommentsPage, GroupScore, ScoreSummary
from surveys.definitions import BANDS, SCALES, Band, QuestionKind
from surveys.intervals import Interval, easy_interval
from surveys.local_time import to_local
from surveys.report_query import ReportQuery
from surveys.scoring import Score
from surveys.significance import Change

__all__ = [
    "comments_text",
    "context_parts",
    "export_caption",
    "interval_text",
    "report_text",
    "score_value",
    "spread_text",
    "summary_text",
]

MAX_COMMENT_CHARS = 600  # five of these and their headers stay under Telegram's 4096
_BAND_NAMES = {
    Band.PROMOTER: "promoters",
    Band.PASSIVE: "passives",
    Band.DETRACTOR: "detractors",
    Band.SATISFIED: "satisfied",
    Band.NEUTRAL: "neutral",
    Band.DISSATISFIED: "dissatisfied",
    Band.EASY: "easy",
    Band.DIFFICULT: "difficult",
}
_WIDTH = len("response rate")  # the longest label


def summary_text(summary: ScoreSummary) -> str:
    """One kind's score with its context, headed by the period and the filters."""
    head = " · ".join(
        part for part in (_headline(summary), *context_parts(summary.query, summary.teams)) if part
    )
    return "\n".join([head, *_body(summary)])


def report_text(summaries: Sequence[ScoreSummary]) -> str:
    """Several kinds (the /report command): one heading, then a block per kind."""
    if not summaries:
        raise ValueError("a report needs at least one summary")
    first = summaries[0]
    head = " · ".join(["Report", *context_parts(first.query, first.teams)])
    blocks = ["\n".join([_headline(summary), *_body(summary)]) for summary in summaries]
    return "\n\n".join([head, *blocks])


def comments_text(page: CommentsPage, *, prefix: str = "/") -> str:
    """One page of comments, latest first, with how to ask for the next page."""
    query = page.query
    where = " · ".join(context_parts(query, None))
    if page.total == 0:
        return f"No comments · {where}"
    head = f"Comments · {where} · {page.total} in all"
    if not page.items:
        return f"{head}\npage {page.page} is past the last page ({page.pages})."
    lines = [head]
    for comment in page.items:
        facts = [f"{to_local(comment.answered_at, query.timezone):%Y-%m-%d %H:%M}"]
        if comment.kind is not None and comment.score is not None:
            facts.append(f"{comment.kind.value.upper()} {comment.score}")
        facts.append(comment.case_id)
        if comment.agent and comment.team:
            facts.append(f"{comment.agent} ({comment.team})")
        elif comment.agent or comment.team:
            facts.append(comment.agent or comment.team or "")
        lines += ["", " · ".join(str(fact) for fact in facts), _clip(comment.text)]
    footer = f"page {page.page}/{page.pages}"
    if page.page < page.pages:
        more = query.as_args(page=page.page + 1)
        footer += f" · {prefix}{query.command} {more} for more"
    return "\n".join([*lines, "", footer])


def export_caption(query: ReportQuery, rows: int) -> str:
    """The caption of an export file, or the reply when there is nothing to export."""
    where = " · ".join(context_parts(query, None))
    if rows == 0:
        return f"No answers to export · {where}"
    noun = "answer" if rows == 1 else "answers"
    return f"Export · {where} · {rows:,} {noun} (CSV, times in UTC)"


def context_parts(query: ReportQuery, teams: tuple[str, ...] | None) -> list[str]:
    """The period, the filters, a lead's teams and the time zone, for a reply's heading."""
    parts = [query.label]
    if described := query.describe():
        parts.append(described)
    if teams is not None:
        parts.append("teams " + (", ".join(teams) if teams else "none"))
    parts.append(f"{query.timezone} time")  # where the period's days begin
    return parts


def _headline(summary: ScoreSummary) -> str:
    score = summary.score
    name = summary.kind.value.upper()
    if score.value is None:
        return f"{name} n/a (n=0)"
    spread = spread_text(summary.kind, score, summary.interval)
    shown = f", {spread}" if spread else ""
    headline = f"{name} {score_value(summary.kind, score.value)} (n={score.n}{shown})"
    if summary.kind is QuestionKind.CES and score.percent_easy is not None:
        easy = easy_interval(score)
        within = f" ({interval_text(QuestionKind.CSAT, easy)})" if easy else ""
        headline += f" · {score.percent_easy:.0f}% easy{within}"
    return headline


def spread_text(kind: QuestionKind, score: Score, interval: Interval | None) -> str:
    """The interval of `score` as interval_text() says it; when answers that are all alike
    give none (the CES mean), says so instead of showing nothing, or a zero width."""
    answered = [value for value, count in score.distribution.items() if count]
    if interval is None and score.n >= 2 and len(answered) == 1:
        return f"no interval: all {score.n} answers are {answered[0]}"
    return interval_text(kind, interval)


def interval_text(kind: QuestionKind, interval: Interval | None) -> str:
    """'95% CI +6..+31' (NPS), '95% CI 69..90%' (a percent), '95% CI 5.3..6.2' (CES)."""
    if interval is None:
        return ""
    if kind is QuestionKind.NPS:
        low, high = _signed(kind, interval.low), _signed(kind, interval.high)
        return f"95% CI {low}..{high}"
    if kind is QuestionKind.CSAT:
        return f"95% CI {interval.low:.0f}..{interval.high:.0f}%"
    return f"95% CI {interval.low:.1f}..{interval.high:.1f}"


def _body(summary: ScoreSummary) -> list[str]:
    score = summary.score
    lines: list[str] = []
    if score.n:
        for band in BANDS[summary.kind]:
            count = score.counts[band.value]
            lines.append(_line(_BAND_NAMES[band], f"{count:>4}  {100 * count / score.n:>3.0f}%"))
        if summary.kind is not QuestionKind.NPS:
            lines.append(_line("scores", _distribution(score)))
        if summary.kind is QuestionKind.CSAT and score.mean is not None:
            lines.append(_line("mean", f"{score.mean:.1f} / {SCALES[summary.kind][1]}"))
    else:
        lines.append("no answers in this period")
    lines.append(_line("response rate", _response_rate(summary)))
    if score.n and summary.people is not None:
        # One person answering on Telegram and on Slack is one person here.
        lines.append(_line("people", f"{summary.people} gave the {score.n} answers"))
    lines.append(_line("change", _change(summary)))
    if score.n and not summary.trustworthy:
        lines.append(f"⚠ fewer than {summary.min_n} answers: treat as indicative")
    lines += _groups(summary)
    return lines


def _response_rate(summary: ScoreSummary) -> str:
    """'148/402 sent (37%) · 12 failed (9 blocked the bot)': answered of those that arrived,
    and those that never did."""
    if summary.sent:
        rate = 100 * (summary.response_rate or 0.0)
        text = f"{summary.answered}/{summary.sent} sent ({rate:.0f}%)"
    else:
        text = "no invitations sent in this period"
    if summary.failed:
        blocked = f" ({summary.blocked} blocked the bot)" if summary.blocked else ""
        text += f" · {summary.failed} failed{blocked}"
    return text


def _change(summary: ScoreSummary) -> str:
    previous = summary.query.previous().label
    if summary.previous is None or summary.previous.value is None:
        return f"no answers in {previous} to compare"
    was = score_value(summary.kind, summary.previous.value)
    if summary.delta is None:
        return f"{previous} was {was}"
    unit = " pts" if summary.kind is QuestionKind.CSAT else ""
    observed = f"{_signed(summary.kind, summary.delta)}{unit} vs {previous} ({was})"
    return f"{observed}: {_verdict(summary.kind, summary.change)}"


def _verdict(kind: QuestionKind, change: Change | None) -> str:
    """'significant (95% CI ...)', 'within the noise (95% CI ...)' or why there is no test."""
    if change is None:
        return "too few answers to test"
    span = f"{_signed(kind, change.low)}..{_signed(kind, change.high)}"
    span += " pts" if kind is QuestionKind.CSAT else ""
    word = "significant" if change.significant else "within the noise"
    return f"{word} (95% CI {span})"


def _groups(summary: ScoreSummary) -> list[str]:
    rows = []
    if summary.query.team is None:
        rows += [("best teams", summary.best_teams), ("worst teams", summary.worst_teams)]
    if summary.query.agent is None:
        rows += [("best agents", summary.best_agents), ("worst agents", summary.worst_agents)]
    lines = [_line(label, _listed(summary.kind, groups)) for label, groups in rows if groups]
    if summary.score.n and not lines and rows:
        lines.append(f"no team or agent with {summary.min_n}+ answers stands out from the rest")
    return lines


def _listed(kind: QuestionKind, groups: tuple[GroupScore, ...]) -> str:
    return " · ".join(f"{g.name} {score_value(kind, g.value)} (n={g.n})" for g in groups)


def _distribution(score: Score) -> str:
    low, high = SCALES[score.kind]
    counts = score.distribution
    return "  ".join(f"{value}:{counts.get(value, 0)}" for value in range(low, high + 1))


def score_value(kind: QuestionKind, value: float) -> str:
    """A score as people read it: NPS +19, CSAT 82%, CES 5.6 / 7."""
    if kind is QuestionKind.NPS:
        return _signed(kind, value)
    if kind is QuestionKind.CSAT:
        return f"{value:.0f}%"
    return f"{value:.1f} / {SCALES[kind][1]}"


def _signed(kind: QuestionKind, value: float) -> str:
    digits = 1 if kind is QuestionKind.CES else 0
    rounded = round(value, digits)
    if rounded == 0:  # never "-0" nor "+0"
        return f"{0:.{digits}f}"
    return f"{rounded:+.{digits}f}"


def _line(label: str, text: str) -> str:
    return f"{label:<{_WIDTH}}  {text}"


def _clip(text: str) -> str:
    text = " ".join(text.split())  # one line per comment, whatever the customer typed
    if len(text) <= MAX_COMMENT_CHARS:
        return f"“{text}”"
    return f"“{text[: MAX_COMMENT_CHARS - 1].rstrip()}…”"
