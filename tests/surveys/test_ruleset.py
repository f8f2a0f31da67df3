"""The trigger rules file: precise errors for its authors, loading, pausing and writing back."""

from __future__ import annotations

import pickle
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from surveys import SurveyError
from surveys.rules import InvalidRules, Match, Rule, RuleSet, Window, load_rules, parse_rules

KNOWN = ("nps", "csat", "ces")

# Line numbers below are those of this text; keep it in step with the assertions.
RULES = """\
rules:
  - id: billing-csat
    match:
      type: [case.closed, case.solved]
      channel: telegram
      team: [billing]
      tags: [vip, refund]
    survey: csat
    language: pl
    delay: 30m
    window: "09:00-20:00"
    timezone: Europe/Warsaw
    sample: 50
    quarantine_days: 30
    expiry_hours: 72
    reminder_after_hours: 24
  - id: all-nps
    survey: nps
    window: {start: "22:00", end: "06:00"}
    paused: true
"""


def rule(rule_id: str = "r", **fields: Any) -> Rule:
    return Rule.model_validate({"id": rule_id, "survey": "nps", **fields})


def rules(*items: Rule) -> RuleSet:
    return RuleSet(rules=items)


# --- the rules file -------------------------------------------------------------------------


def test_the_sample_file_parses() -> None:
    parsed = parse_rules(RULES, "rules.yaml", KNOWN)
    assert parsed.ids == ["billing-csat", "all-nps"]
    billing = parsed.get("billing-csat")
    assert billing.match == Match(
        types=("case.closed", "case.solved"),
        channels=("telegram",),
        teams=("billing",),
        tags=("vip", "refund"),
    )
    assert (billing.delay, billing.window, billing.timezone) == (
        timedelta(minutes=30),
        Window.model_validate("09:00-20:00"),
        "Europe/Warsaw",
    )
    assert (billing.sample, billing.quarantine_days, billing.language) == (50, 30, "pl")
    assert (billing.expiry_hours, billing.reminder_after_hours, billing.paused) == (72, 24, False)
    everyone = parsed.get("all-nps")
    assert (everyone.match, everyone.delay, everyone.paused) == (Match(), timedelta(0), True)
    assert str(everyone.window) == "22:00-06:00"


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("# no rules yet\n", id="comments-only"),
        pytest.param("rules:\n", id="null-list"),
        pytest.param("rules: []\n", id="empty-list"),
    ],
)
def test_a_file_without_rules_is_fine(text: str) -> None:
    assert parse_rules(text, "rules.yaml", KNOWN) == RuleSet()


# (old, new, line, message): `old` is replaced by `new` in RULES.
PARSE_ERRORS = [
    pytest.param(
        "delay: 30m",
        "delay: 30 minutes",
        10,
        "rules[0].delay: '30 minutes' is not a duration (use 90s, 30m, 2h, 1d)",
        id="bad-duration",
    ),
    pytest.param(
        "delay: 30m",
        "delay: -60",
        10,
        "rules[0].delay: -60 is negative; a survey cannot go before its event",
        id="negative-delay",
    ),
    pytest.param(
        'window: "09:00-20:00"',
        "window: 9-17",
        11,
        "rules[0].window: '9-17' is not a window (use 09:00-20:00)",
        id="bad-window",
    ),
    pytest.param(
        'window: "09:00-20:00"',
        'window: "09:00-25:00"',
        11,
        "rules[0].window.end: '25:00' is not a time of day (use 09:00)",
        id="bad-window-hour",
    ),
    pytest.param(
        'window: "09:00-20:00"',
        'window: "09:00-09:00"',
        11,
        "rules[0].window: the window starts and ends at 09:00; "
        "leave the window out to send at any hour",
        id="empty-window",
    ),
    pytest.param(
        '{start: "22:00", end: "06:00"}',
        '{start: 9:00, end: "06:00"}',
        19,
        'rules[1].window.start: 540 is not a time; write it in quotes, as "09:00"',
        id="unquoted-window-time",
    ),
    pytest.param(
        "timezone: Europe/Warsaw",
        "timezone: Europe/Warsow",
        12,
        "rules[0].timezone: 'Europe/Warsow' is not a time zone "
        "(use an IANA name such as Europe/Warsaw)",
        id="bad-zone",
    ),
    pytest.param(
        "survey: nps",
        "survey: pulse",
        18,
        "rules[1].survey: unknown survey 'pulse'; known: ces, csat, nps",
        id="unknown-survey",
    ),
    pytest.param(
        "id: all-nps",
        "id: billing-csat",
        17,
        "rules[1].id: duplicate rule id 'billing-csat' (also rules[0])",
        id="duplicate-id",
    ),
    pytest.param(
        "id: all-nps",
        "id: All NPS",
        17,
        "rules[1].id: 'All NPS' is not a rule id (use a-z, 0-9, - and _, at most 64 characters)",
        id="bad-id",
    ),
    pytest.param(
        "reminder_after_hours: 24",
        "reminder_after_hours: 72",
        16,
        "rules[0].reminder_after_hours: 72 must be less than expiry_hours (72): "
        "a reminder after the survey expired would lead nowhere",
        id="reminder-not-before-expiry",
    ),
    pytest.param(
        "language: pl",
        "language: Deutsch",
        9,
        "rules[0].language: 'Deutsch' is not a language code; use a lower-case ISO 639 code "
        "such as en, de, uk or es",
        id="bad-language",
    ),
    pytest.param(
        "sample: 50",
        "sample: 0",
        13,
        "rules[0].sample: Input should be greater than 0",
        id="sample-zero",
    ),
    pytest.param(
        "sample: 50",
        "sample: 150",
        13,
        "rules[0].sample: Input should be less than or equal to 100",
        id="sample-over-100",
    ),
    pytest.param(
        "quarantine_days: 30",
        "quarantine_days: -1",
        14,
        "rules[0].quarantine_days: Input should be greater than or equal to 0",
        id="negative-quarantine",
    ),
    pytest.param(
        "paused: true",
        "pasued: true",
        20,
        "rules[1].pasued: Extra inputs are not permitted",
        id="unknown-key",
    ),
    pytest.param(
        "channel: telegram",
        "chanel: telegram",
        5,
        "rules[0].match.chanel: Extra inputs are not permitted",
        id="unknown-match-key",
    ),
    pytest.param(
        "  - id: all-nps\n    survey: nps\n",
        "  - id: all-nps\n",
        17,
        "rules[1].survey: Field required",
        id="missing-survey",
    ),
    pytest.param(
        "    survey: nps\n",
        "    survey: nps\n    survey: csat\n",
        19,
        "duplicate key 'survey'",
        id="duplicate-key",
    ),
    pytest.param(
        "team: [billing]",
        "team: [billing",
        7,
        "invalid YAML: expected ',' or ']', but got ':' (while parsing a flow sequence on line 6)",
        id="yaml-syntax",
    ),
    pytest.param(
        "    survey: csat\n",
        "    survey: csat\n   language: en\n",
        9,
        "invalid YAML: expected <block end>, but found '<block mapping start>' "
        "(while parsing a block collection on line 2)",
        id="yaml-indentation",
    ),
]


@pytest.mark.parametrize(("old", "new", "line", "message"), PARSE_ERRORS)
def test_parse_errors_name_file_line_and_field(old: str, new: str, line: int, message: str) -> None:
    assert RULES.count(old) == 1
    with pytest.raises(InvalidRules) as caught:
        parse_rules(RULES.replace(old, new), "rules.yaml", KNOWN)
    error = caught.value
    assert (error.source, error.line, error.message) == ("rules.yaml", line, message)
    assert str(error) == f"rules.yaml:{line}: {message}"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            "- id: a\n", "rules.yaml:1: a rules file must be a mapping with a 'rules' list"
        ),
        pytest.param(
            "rules: 5\n",
            "rules.yaml:1: rules: write the rules as a list, each rule starting with '- id:'",
        ),
        pytest.param("rule: []\n", "rules.yaml:1: rule: Extra inputs are not permitted"),
    ],
    ids=["list-at-top", "rules-not-a-list", "misspelt-rules"],
)
def test_file_shape_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidRules) as caught:
        parse_rules(text, "rules.yaml")
    assert str(caught.value) == message


def test_a_language_the_survey_is_not_written_in_is_named_at_its_line() -> None:
    languages = {"csat": ["en", "ro"], "nps": ["en", "pl", "ro"], "ces": ["en"]}
    with pytest.raises(InvalidRules) as caught:
        parse_rules(RULES, "rules.yaml", languages)
    assert str(caught.value) == (
        "rules.yaml:9: rules[0].language: survey 'csat' is not written in 'pl' (it has: en, ro)"
    )
    languages["csat"].append("pl")
    assert parse_rules(RULES, "rules.yaml", languages) == parse_rules(RULES, "rules.yaml", KNOWN)


def test_survey_ids_are_not_checked_without_a_catalog() -> None:
    parsed = parse_rules(RULES.replace("survey: nps", "survey: pulse"), "rules.yaml")
    assert parsed.get("all-nps").survey == "pulse"


def test_invalid_rules_is_a_survey_error_and_pickles() -> None:
    error = InvalidRules("rules.yaml", 7, "rules[1].delay: bad")
    assert isinstance(error, SurveyError)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.source, copy.line, copy.message, str(copy)) == (
        "rules.yaml",
        7,
        "rules[1].delay: bad",
        "rules.yaml:7: rules[1].delay: bad",
    )
    assert str(InvalidRules("rules.yaml", None, "no such rules file")) == (
        "rules.yaml: no such rules file"
    )


def test_load_rules(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(RULES, encoding="utf-8")
    assert load_rules(path, KNOWN) == parse_rules(RULES, "rules.yaml", KNOWN)
    with pytest.raises(InvalidRules) as caught:
        load_rules(path, ["csat"])
    assert str(caught.value) == f"{path}:18: rules[1].survey: unknown survey 'nps'; known: csat"


def test_load_rules_from_a_missing_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(InvalidRules) as caught:
        load_rules(missing)
    assert (caught.value.source, caught.value.line, caught.value.message) == (
        str(missing),
        None,
        "no such rules file",
    )


def test_load_rules_that_are_not_text(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_bytes(b"rules:\n  - id: \xff\n")
    with pytest.raises(InvalidRules) as caught:
        load_rules(path)
    assert str(caught.value) == f"{path}: not UTF-8 text (invalid start byte)"


# --- rule sets ------------------------------------------------------------------------------


def test_get_ids_and_pausing() -> None:
    parsed = parse_rules(RULES, "rules.yaml", KNOWN)
    with pytest.raises(KeyError):
        parsed.get("nope")
    paused = parsed.with_paused("billing-csat", True)
    assert paused.get("billing-csat").paused is True
    assert parsed.get("billing-csat").paused is False  # the original is untouched
    assert paused.ids == parsed.ids
    resumed = paused.with_paused("all-nps", False)
    assert [rule.paused for rule in resumed.rules] == [True, False]
    with pytest.raises(KeyError):
        parsed.with_paused("nope", True)


@pytest.mark.parametrize(
    "rule_set",
    [
        pytest.param(parse_rules(RULES, "rules.yaml"), id="sample-file"),
        pytest.param(parse_rules(RULES, "rules.yaml").with_paused("all-nps", False), id="resumed"),
        pytest.param(RuleSet(), id="empty"),
        pytest.param(
            rules(
                Rule(
                    id="odd",
                    survey="ces",
                    match=Match(agents=("007",), priorities=("high",)),
                    delay=timedelta(seconds=90.5),
                    window=Window.model_validate("23:30-00:15"),
                    sample=12.5,
                    quarantine_days=0.5,
                    timezone="America/St_Johns",
                )
            ),
            id="fractions-and-odd-values",
        ),
    ],
)
def test_to_yaml_round_trips(rule_set: RuleSet) -> None:
    assert parse_rules(rule_set.to_yaml(), "rules.yaml") == rule_set


def test_to_yaml_writes_what_an_author_would() -> None:
    written = rules(
        rule("billing", match={"team": "billing"}, survey="csat", delay=5400, sample=50),
        rule("rest", window="09:00-20:00", paused=True),
    ).to_yaml()
    assert written == (
        "rules:\n"
        "- id: billing\n"
        "  match:\n"
        "    team:\n"
        "    - billing\n"
        "  survey: csat\n"
        "  delay: 1h30m\n"
        "  sample: 50\n"
        "- id: rest\n"
        "  survey: nps\n"
        "  window: 09:00-20:00\n"
        "  paused: true\n"
    )


def test_touchpoints_and_the_journey_order() -> None:
    text = (
        "journey: [signup, first-ticket, renewal]\n"
        "rules:\n"
        "  - id: welcome\n"
        "    match: {type: account.created}\n"
        "    survey: ces\n"
        "    touchpoint: signup\n"
    )
    parsed = parse_rules(text, "rules.yaml")
    assert parsed.journey == ("signup", "first-ticket", "renewal")
    assert parsed.get("welcome").touchpoint == "signup"
    assert parse_rules(parsed.to_yaml(), "rules.yaml") == parsed
    assert parsed.to_yaml().startswith("journey:\n- signup\n- first-ticket\n- renewal\nrules:\n")
    with pytest.raises(InvalidRules, match="touchpoint 'signup' is listed twice"):
        parse_rules("journey: [signup, signup]\nrules: []\n", "rules.yaml")
    with pytest.raises(InvalidRules, match="journey: write the journey as a list"):
        parse_rules("journey: signup\nrules: []\n", "rules.yaml")


def test_a_control_character_is_invalid_yaml_not_a_crash() -> None:
    # PyYAML refuses it while reading, before parsing: it used to escape as a ReaderError.
    with pytest.raises(InvalidRules, match="invalid YAML"):
        parse_rules("rules:\n  - id: a\x00b\n", "rules.yaml", KNOWN)
