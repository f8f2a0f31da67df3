"""What an admin asks a report for: `/nps 90d team=billing` read into a ReportQuery."""

from __future__ import annotations

import re
import shlex
from collections.abc import Collection, Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Literal

from surveys.definitions import QuestionKind, Survey
from surveys.errors import ReportQueryError
from surveys.local_time import to_local, to_utc

__all__ = [
    "COMMANDS",
    "DEFAULT_DAYS",
    "FILTERS",
    "MAX_DAYS",
    "SCALE_KINDS",
    "ReportQuery",
    "parse_report_args",
    "surveys_asking",
]

SCALE_KINDS = (QuestionKind.NPS, QuestionKind.CSAT, QuestionKind.CES)
# Which kinds each command reports on: /report shows all three, /comments and /export take
# the answers of every kind.
COMMANDS: dict[str, tuple[QuestionKind, ...]] = {
    "nps": (QuestionKind.NPS,),
    "csat": (QuestionKind.CSAT,),
    "ces": (QuestionKind.CES,),
    "report": SCALE_KINDS,
    "comments": SCALE_KINDS,
    "export": SCALE_KINDS,
    "journey": SCALE_KINDS,
    "me": SCALE_KINDS,
}
FILTERS = ("survey", "channel", "team", "agent", "tag", "language", "touchpoint")
_ALIASES = {"lang": "language"}
# Stored lower-case (tags, languages, channels, survey ids), so matched lower-case.
_LOWERED = frozenset({"survey", "channel", "tag", "language"})
DEFAULT_DAYS = 30
MAX_DAYS = 3660  # ten years; past that a number of days is a typo

_DAYS = re.compile(r"(\d+)d", re.IGNORECASE)
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_DATES = re.compile(r"(\S+?)\.\.(\S+)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_PAGE = re.compile(r"\d+")
# Phones and Macs turn typed quotes into typographic ones.
_QUOTES = str.maketrans({"\u201c": '"', "\u201d": '"', "\u201e": '"', "\u2018": "'", "\u2019": "'"})

Span = Literal["days", "month", "dates"]


@dataclass(frozen=True)
class ReportQuery:
    """One report request: what kinds, which period [start, end) in naive UTC, which filters.

    `period` is the period as a command argument ("30d", "2026-10", "2026-09-01..2026-10-15"),
    None for a derived rolling period (the one before "last 30 days" cannot be typed).
    Months and dates start at midnight in `timezone` (the reporting zone, an IANA name), and
    rolling periods are whole days of its wall clock.
    """

    command: str
    kinds: tuple[QuestionKind, ...]
    start: datetime
    end: datetime
    label: str
    span: Span = "days"
    period: str | None = None
    survey: str | None = None
    channel: str | None = None
    team: str | None = None
    agent: str | None = None
    tag: str | None = None
    language: str | None = None
    touchpoint: str | None = None
    detractors_only: bool = False
    page: int = 1
    timezone: str = "UTC"

    @property
    def filters(self) -> dict[str, str]:
        """The filters given, in the canonical order: {"team": "billing", ...}."""
        values = {name: getattr(self, name) for name in FILTERS}
        return {name: value for name, value in values.items() if value is not None}

    @property
    def days(self) -> float:
        """The length of the period in days."""
        return (self.end - self.start) / timedelta(days=1)

    def previous(self) -> ReportQuery:
        """The same query over the period just before, of the same length.

        A month's previous period is the previous calendar month (so October compares with
        September, not with the 31 days before October 1st).
        """
        zone = self.timezone
        local_start = to_local(self.start, zone)
        if self.span == "month":
            first = (local_start.date() - timedelta(days=1)).replace(day=1)
            token = f"{first:%Y-%m}"
            start = _midnight(first, zone)
            return replace(self, start=start, end=self.start, label=token, period=token)
        # The same number of days on the zone's wall clock (a day across a change of the
        # clocks has 23 or 25 hours).
        length = to_local(self.end, zone) - local_start
        start = to_utc(local_start - length, zone)
        if self.span == "dates":
            first_day = (local_start - length).date()
            token = f"{first_day}..{(local_start - timedelta(days=1)).date()}"
            return replace(self, start=start, end=self.start, label=token, period=token)
        return replace(
            self, start=start, end=self.start, label=f"previous {_days(length)}", period=None
        )

    def describe(self) -> str:
        """The filters for people, e.g. 'team=billing, tag=vip, detractors'; '' when none."""
        parts = [f"{name}={_quoted(value)}" for name, value in self.filters.items()]
        if self.detractors_only:
            parts.append("detractors")
        return ", ".join(parts)

    def as_args(self, *, page: int | None = None) -> str:
        """Arguments that ask for this query again (optionally another page), e.g. for a hint."""
        parts = [self.period] if self.period else []
        parts += [f"{name}={_quoted(value)}" for name, value in self.filters.items()]
        if self.detractors_only:
            parts.append("detractors")
        if page is not None and page != 1:
            parts.append(f"page={page}")
        return " ".join(parts)


def parse_report_args(
    args: str,
    *,
    now: datetime,
    command: str,
    prefix: str = "/",
    surveys: Iterable[Survey] | None = None,
    channels: Collection[str] | None = None,
    timezone: str = "UTC",
) -> ReportQuery:
    """Read the arguments of a report command (`command` is one of COMMANDS).

    Tokens come in any order: one period (default: the last 30 days up to `now`, naive UTC;
    months and dates from midnight in the reporting zone `timezone`, an IANA name) and
    filters `key=value` (values with spaces in quotes). /comments also takes `detractors` and
    `page=N`. `prefix` is how commands are typed where the reply goes ("/" in Telegram,
    "/cx " in Slack), used in the examples of error messages.

    Given `surveys` (the catalog), `survey=` must name one of them (one that asks the
    command's scale, for /nps, /csat and /ces) and `language=` one of their languages; given
    `channels`, `channel=` must be one of those. A value nothing could match is a typo that
    would otherwise read as "no answers".
    """
    if command not in COMMANDS:
        raise ValueError(f"{command!r} is not a report command; known: {', '.join(COMMANDS)}")
    if now.tzinfo is not None:
        raise ValueError("now must be a naive UTC datetime")
    usage = _usage(command, prefix)
    try:
        tokens = shlex.split(args.translate(_QUOTES))
    except ValueError:
        raise ReportQueryError(
            f'A quote is not closed. Put a value with spaces in quotes, e.g. agent="Ana Pop". '
            f"{usage}"
        ) from None
    period: tuple[str, datetime, datetime, str, Span] | None = None
    filters: dict[str, str] = {}
    detractors = False
    page: int | None = None
    for token in tokens:
        key, equals, value = token.partition("=")
        key = key.lower()
        if equals:
            if key == "page":
                page = _page(command, value, page, usage, prefix)
                continue
            name = _ALIASES.get(key, key)
            if name not in FILTERS:
                raise ReportQueryError(f'"{key}=" is not a filter. {usage}')
            if not value.strip():
                raise ReportQueryError(f'"{key}=" needs a value, e.g. team=billing. {usage}')
            if name in filters:
                raise ReportQueryError(
                    f"{name}= is given twice; give each filter once "
                    f"(for several teams, ask once per team). {usage}"
                )
            value = value.strip()
            filters[name] = value.lower() if name in _LOWERED else value
        elif key == "detractors":
            if command != "comments":
                raise ReportQueryError(
                    f'"detractors" only works with comments, e.g. {prefix}comments 30d '
                    f"detractors. {usage}"
                )
            detractors = True
        else:
            found = _period(token, now, usage, timezone)
            if period is not None:
                raise ReportQueryError(
                    f'Two periods ("{period[0]}" and "{token}"); give one. {usage}'
                )
            period = found
    if surveys is not None:
        _check_survey_filters(filters, command, list(surveys), usage)
    if channels is not None and filters.get("channel") not in (None, *channels):
        raise ReportQueryError(
            f'"channel={filters["channel"]}": channels are {_listed(channels)}. {usage}'
        )
    if period is None:
        period = _rolling(DEFAULT_DAYS, now, timezone)
    token, start, end, label, span = period
    return ReportQuery(
        command=command,
        kinds=COMMANDS[command],
        start=start,
        end=end,
        label=label,
        span=span,
        period=token,
        detractors_only=detractors,
        page=page or 1,
        survey=filters.get("survey"),
        channel=filters.get("channel"),
        team=filters.get("team"),
        agent=filters.get("agent"),
        tag=filters.get("tag"),
        language=filters.get("language"),
        touchpoint=filters.get("touchpoint"),
        timezone=timezone,
    )


def surveys_asking(surveys: Iterable[Survey], kind: QuestionKind) -> tuple[str, ...]:
    """Ids of the surveys with a question of `kind`: whose invitations count as "sent" for it."""
    return tuple(sorted(s.id for s in surveys if any(q.kind is kind for q in s.questions)))


def _period(
    token: str, now: datetime, usage: str, zone: str
) -> tuple[str, datetime, datetime, str, Span]:
    if match := _DAYS.fullmatch(token):
        days = int(match[1])
        if not 1 <= days <= MAX_DAYS:
            raise ReportQueryError(
                f'"{token}": a period in days runs from 1d to {MAX_DAYS}d, e.g. 90d. {usage}'
            )
        return _rolling(days, now, zone)
    if match := _MONTH.fullmatch(token):
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12 or not 1900 <= year <= 2999:
            raise ReportQueryError(
                f'"{token}" is not a month; write a month as YYYY-MM, e.g. 2026-10. {usage}'
            )
        first = date(year, month, 1)
        following = date(year + month // 12, month % 12 + 1, 1)
        name = f"{first:%Y-%m}"
        return (name, _midnight(first, zone), _midnight(following, zone), name, "month")
    if match := _DATES.fullmatch(token):
        first, last = _date(match[1], usage), _date(match[2], usage)
        if last < first:
            raise ReportQueryError(
                f'"{token}" ends before it starts; put the earlier date first, '
                f"e.g. 2026-09-01..2026-10-15. {usage}"
            )
        if (last - first).days + 1 > MAX_DAYS:
            raise ReportQueryError(
                f'"{token}" is longer than {MAX_DAYS} days; ask for a shorter period. {usage}'
            )
        name = f"{first}..{last}"
        end = _midnight(last + timedelta(days=1), zone)
        return (name, _midnight(first, zone), end, name, "dates")
    if _DATE.fullmatch(token):
        raise ReportQueryError(
            f'"{token}" is a single date; give a range, e.g. {token}..{token}. {usage}'
        )
    raise ReportQueryError(f'"{token}" is not a period or a filter. {usage}')


def _check_survey_filters(
    filters: dict[str, str], command: str, surveys: list[Survey], usage: str
) -> None:
    if (survey_id := filters.get("survey")) is not None:
        known = {survey.id: survey for survey in surveys}
        if survey_id not in known:
            raise ReportQueryError(
                f'"survey={survey_id}" is not a survey here; surveys: {_listed(known)}. {usage}'
            )
        kinds = COMMANDS[command]
        if len(kinds) == 1 and not any(q.kind is kinds[0] for q in known[survey_id].questions):
            name = kinds[0].value.upper()
            asking = surveys_asking(surveys, kinds[0])
            which = f"surveys that do: {_listed(asking)}" if asking else "no survey here does"
            raise ReportQueryError(
                f'"survey={survey_id}" asks no {name} question; {which}. {usage}'
            )
    if (language := filters.get("language")) is not None:
        languages = {code for survey in surveys for code in survey.languages}
        if language not in languages:
            raise ReportQueryError(
                f'"language={language}": surveys here are in {_listed(languages)}. {usage}'
            )


def _listed(values: Iterable[str]) -> str:
    return ", ".join(sorted(values)) or "none"


def _rolling(days: int, now: datetime, zone: str) -> tuple[str, datetime, datetime, str, Span]:
    length = timedelta(days=days)
    start = to_utc(to_local(now, zone) - length, zone)
    return (f"{days}d", start, now, f"last {_days(length)}", "days")


def _date(text: str, usage: str) -> date:
    try:
        if not _DATE.fullmatch(text):
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise ReportQueryError(
            f'"{text}" is not a date; write dates as YYYY-MM-DD, '
            f"e.g. 2026-09-01..2026-10-15. {usage}"
        ) from None


def _page(command: str, value: str, seen: int | None, usage: str, prefix: str) -> int:
    if command != "comments":
        raise ReportQueryError(
            f'"page=" only works with comments, e.g. {prefix}comments 30d page=2. {usage}'
        )
    if seen is not None:
        raise ReportQueryError(f"page= is given twice; give it once. {usage}")
    if not _PAGE.fullmatch(value) or int(value) < 1:
        raise ReportQueryError(f'"page={value}": pages are numbered from 1, e.g. page=2. {usage}')
    return int(value)


def _usage(command: str, prefix: str) -> str:
    extra = ", and detractors or page=N" if command == "comments" else ""
    example = {
        "comments": "comments 30d team=billing detractors page=2",
        "export": "export 2026-10 channel=slack",
        "report": "report 90d survey=nps",
    }.get(command, f"{command} 30d team=billing")
    return (
        "Accepted: one period (7d, 30d, 90d or any number of days up to "
        f"{MAX_DAYS}d; a month like 2026-10; dates like 2026-09-01..2026-10-15; "
        "default: last 30 days) and filters survey=, channel=, team=, agent=, tag=, "
        f"language=, touchpoint={extra}. Example: {prefix}{example}"
    )


def _midnight(day: date, zone: str) -> datetime:
    """The naive UTC instant at which `day` starts in `zone`."""
    return to_utc(datetime(day.year, day.month, day.day), zone)


def _days(length: timedelta) -> str:
    days = round(length / timedelta(days=1))
    return "1 day" if days == 1 else f"{days} days"


def _quoted(value: str) -> str:
    return f'"{value}"' if any(char.isspace() for char in value) or not value else value
