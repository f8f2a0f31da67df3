"""Report arguments: periods and filters in any order, and replies that say what is accepted."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import pytest

from surveys.catalog import builtin_surveys
from surveys.definitions import QuestionKind
from surveys.errors import ReportQueryError, SurveyError
from surveys.report_query import ReportQuery, parse_report_args, surveys_asking

NOW = datetime(2026, 11, 22, 15, 30)
NPS, CSAT, CES = QuestionKind.NPS, QuestionKind.CSAT, QuestionKind.CES


def parse(args: str, command: str = "nps") -> ReportQuery:
    return parse_report_args(args, now=NOW, command=command)


@pytest.mark.parametrize(
    ("args", "start", "end", "label", "period"),
    [
        ("", NOW - timedelta(days=30), NOW, "last 30 days", "30d"),
        ("7d", NOW - timedelta(days=7), NOW, "last 7 days", "7d"),
        ("90D", NOW - timedelta(days=90), NOW, "last 90 days", "90d"),
        ("1d", NOW - timedelta(days=1), NOW, "last 1 day", "1d"),
        ("3660d", NOW - timedelta(days=3660), NOW, "last 3660 days", "3660d"),
        ("2026-10", datetime(2026, 10, 1), datetime(2026, 11, 1), "2026-10", "2026-10"),
        ("2026-12", datetime(2026, 12, 1), datetime(2027, 1, 1), "2026-12", "2026-12"),
        ("2026-2", datetime(2026, 2, 1), datetime(2026, 3, 1), "2026-02", "2026-02"),
        (
            "2026-09-01..2026-10-15",
            datetime(2026, 9, 1),
            datetime(2026, 10, 16),  # the end date is included
            "2026-09-01..2026-10-15",
            "2026-09-01..2026-10-15",
        ),
        (
            "2026-10-15..2026-10-15",
            datetime(2026, 10, 15),
            datetime(2026, 10, 16),
            "2026-10-15..2026-10-15",
            "2026-10-15..2026-10-15",
        ),
    ],
)
def test_periods(args: str, start: datetime, end: datetime, label: str, period: str) -> None:
    query = parse(args)
    assert (query.start, query.end, query.label, query.period) == (start, end, label, period)


@pytest.mark.parametrize(
    ("args", "filters"),
    [
        ("team=billing", {"team": "billing"}),
        ("agent=Ana", {"agent": "Ana"}),  # team and agent names keep their case
        ('agent="Ana Pop" team=Customer', {"agent": "Ana Pop", "team": "Customer"}),
        ("agent=\u201cAna Pop\u201d", {"agent": "Ana Pop"}),  # a phone's curly quotes
        ("tag=VIP", {"tag": "vip"}),  # tags, languages, channels and surveys are lower case
        ("lang=PL", {"language": "pl"}),
        ("language=ro", {"language": "ro"}),
        ("channel=Slack survey=NPS", {"channel": "slack", "survey": "nps"}),
        (
            "tag=refund 90d language=pl channel=telegram agent=ana team=billing survey=csat",
            {
                "survey": "csat",
                "channel": "telegram",
                "team": "billing",
                "agent": "ana",
                "tag": "refund",
                "language": "pl",
            },
        ),
    ],
)
def test_filters_in_any_order(args: str, filters: dict[str, str]) -> None:
    assert parse(args).filters == filters


def test_command_decides_the_kinds() -> None:
    assert parse("", "nps").kinds == (NPS,)
    assert parse("", "csat").kinds == (CSAT,)
    assert parse("", "ces").kinds == (CES,)
    for command in ("report", "comments", "export"):
        assert parse("", command).kinds == (NPS, CSAT, CES)
    with pytest.raises(ValueError, match="not a report command"):
        parse("", "followups")


def test_comments_take_detractors_and_a_page() -> None:
    query = parse("page=3 detractors 7d team=billing", "comments")
    assert (query.detractors_only, query.page, query.team) == (True, 3, "billing")
    assert parse("", "comments").page == 1 and not parse("", "comments").detractors_only


@pytest.mark.parametrize(
    ("args", "command", "message"),
    [
        ("yesterday", "nps", '"yesterday" is not a period or a filter.'),
        ("month=10", "nps", '"month=" is not a filter.'),
        ("team=", "nps", '"team=" needs a value, e.g. team=billing.'),
        ("team=a team=b", "nps", "team= is given twice; give each filter once"),
        ("lang=pl language=en", "csat", "language= is given twice"),
        ("7d 30d", "nps", 'Two periods ("7d" and "30d"); give one.'),
        ("0d", "nps", '"0d": a period in days runs from 1d to 3660d, e.g. 90d.'),
        ("3661d", "nps", '"3661d": a period in days runs from 1d to 3660d'),
        ("2026-13", "nps", '"2026-13" is not a month; write a month as YYYY-MM, e.g. 2026-10.'),
        ("2026-02-30..2026-03-01", "nps", '"2026-02-30" is not a date; write dates as YYYY-MM-DD'),
        ("2026-09-01..soon", "nps", '"soon" is not a date'),
        (
            "2026-10-15..2026-09-01",
            "nps",
            '"2026-10-15..2026-09-01" ends before it starts; put the earlier date first',
        ),
        ("2000-01-01..2026-01-01", "nps", "is longer than 3660 days"),
        ("2026-10-15", "nps", '"2026-10-15" is a single date; give a range, e.g. 2026-10-15..'),
        ("detractors", "nps", '"detractors" only works with comments, e.g. /comments 30d'),
        ("page=2", "report", '"page=" only works with comments, e.g. /comments 30d page=2.'),
        ("page=0", "comments", '"page=0": pages are numbered from 1, e.g. page=2.'),
        ("page=x", "comments", '"page=x": pages are numbered from 1'),
        ("page=1 page=2", "comments", "page= is given twice"),
        ('agent="Ana', "nps", "A quote is not closed."),
    ],
)
def test_each_error_says_what_is_accepted(args: str, command: str, message: str) -> None:
    with pytest.raises(ReportQueryError) as caught:
        parse(args, command)
    error = caught.value
    assert isinstance(error, SurveyError)
    assert message in error.message
    assert "Accepted: one period (7d, 30d, 90d" in error.message
    assert "filters survey=, channel=, team=, agent=, tag=, language=" in error.message
    assert str(error) == error.message
    assert pickle.loads(pickle.dumps(error)).message == error.message


def test_error_examples_fit_the_command_and_the_chat() -> None:
    with pytest.raises(ReportQueryError) as nps:
        parse("bogus")
    with pytest.raises(ReportQueryError) as comments:
        parse_report_args("bogus", now=NOW, command="comments", prefix="/cx ")
    assert nps.value.message.endswith("Example: /nps 30d team=billing")
    assert "and detractors or page=N" in comments.value.message
    assert comments.value.message.endswith(
        "Example: /cx comments 30d team=billing detractors page=2"
    )


def test_now_must_be_naive_utc() -> None:

    with pytest.raises(ValueError, match="naive UTC"):
        parse_report_args("", now=NOW.replace(tzinfo=UTC), command="nps")


@pytest.mark.parametrize(
    ("args", "start", "end", "label"),
    [
        ("30d", NOW - timedelta(days=60), NOW - timedelta(days=30), "previous 30 days"),
        ("7d", NOW - timedelta(days=14), NOW - timedelta(days=7), "previous 7 days"),
        # A month compares with the calendar month before it.
        ("2026-10", datetime(2026, 9, 1), datetime(2026, 10, 1), "2026-09"),
        ("2026-03", datetime(2026, 2, 1), datetime(2026, 3, 1), "2026-02"),
        ("2026-01", datetime(2025, 12, 1), datetime(2026, 1, 1), "2025-12"),
        (
            "2026-09-01..2026-10-15",
            datetime(2026, 7, 18),
            datetime(2026, 9, 1),
            "2026-07-18..2026-08-31",
        ),
    ],
)
def test_previous_period(args: str, start: datetime, end: datetime, label: str) -> None:
    previous = parse(f"{args} team=billing").previous()
    assert (previous.start, previous.end, previous.label) == (start, end, label)
    assert previous.team == "billing" and previous.kinds == (NPS,)


def test_describe_and_as_args_round_trip() -> None:
    query = parse('tag=vip 2026-10 agent="Ana Pop" detractors page=2', "comments")
    assert query.describe() == 'agent="Ana Pop", tag=vip, detractors'
    assert query.as_args() == '2026-10 agent="Ana Pop" tag=vip detractors'
    assert query.as_args(page=3) == '2026-10 agent="Ana Pop" tag=vip detractors page=3'
    again = parse(query.as_args(page=2), "comments")
    assert again == query
    assert parse("").describe() == ""
    # A rolling previous period cannot be typed back, so it has no period argument.
    assert parse("30d team=a").previous().as_args() == "team=a"


def test_surveys_asking_a_kind() -> None:
    surveys = builtin_surveys().values()
    assert surveys_asking(surveys, NPS) == ("nps",)
    assert surveys_asking(surveys, QuestionKind.TEXT) == ("ces", "csat", "nps")


def known(args: str, command: str = "nps") -> ReportQuery:
    """Parsed as the bot does: against the built-in surveys and its two channels."""
    return parse_report_args(
        args,
        now=NOW,
        command=command,
        surveys=builtin_surveys().values(),
        channels=("telegram", "slack"),
    )


@pytest.mark.parametrize(
    ("args", "command", "message"),
    [
        ("channel=whatsapp", "nps", '"channel=whatsapp": channels are slack, telegram.'),
        ("survey=nope", "report", '"survey=nope" is not a survey here; surveys: ces, csat, nps.'),
        ("survey=csat", "nps", '"survey=csat" asks no NPS question; surveys that do: nps.'),
        ("survey=nps", "ces", '"survey=nps" asks no CES question; surveys that do: ces.'),
        ("language=de", "comments", '"language=de": surveys here are in en, pl, ro.'),
        ("lang=english", "export", '"language=english": surveys here are in en, pl, ro.'),
    ],
)
def test_a_value_nothing_could_match_is_an_error(args: str, command: str, message: str) -> None:
    with pytest.raises(ReportQueryError) as caught:
        known(args, command)
    assert caught.value.message.startswith(message)
    assert "Accepted: one period (7d, 30d, 90d" in caught.value.message


def test_known_values_pass() -> None:
    query = known("channel=Slack survey=CSAT language=PL", "csat")
    assert query.filters == {"survey": "csat", "channel": "slack", "language": "pl"}
    # /report, /comments and /export cover every kind: any survey will do.
    assert known("survey=ces", "report").survey == "ces"
    assert known("survey=nps", "comments").survey == "nps"
