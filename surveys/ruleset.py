"""The trigger rules file: rules, what each matches, and precise errors for its authors."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

from surveys.definitions import LANGUAGE_CODE, DefinitionProblem
from surveys.errors import InvalidRules
from surveys.schedule import Window, check_zone, format_duration, parse_duration
from surveys.yamlloc import compose, read_text, validate

__all__ = ["Match", "Rule", "RuleSet", "load_rules", "parse_rules"]

# Survey ids, or survey ids with the languages each is written in (then a rule's language is
# checked against its survey's too).
KnownSurveys = Collection[str] | Mapping[str, Collection[str]]
_RULE_ID = re.compile(r"[a-z0-9_-]{1,64}")  # rule ids are stored in 64-character columns


def _any_of(singular: str, plural: str) -> Any:
    # Authors write `team: billing`; code and the plural field name are accepted too.
    return Field(
        default=(), validation_alias=AliasChoices(singular, plural), serialization_alias=singular
    )


class Match(BaseModel):
    """Which events a rule is for: every field that is set must match, a list meaning any-of."""

    model_config = ConfigDict(
        frozen=True, extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True
    )

    types: tuple[str, ...] = _any_of("type", "types")
    channels: tuple[str, ...] = _any_of("channel", "channels")
    teams: tuple[str, ...] = _any_of("team", "teams")
    agents: tuple[str, ...] = _any_of("agent", "agents")
    tags: tuple[str, ...] = _any_of("tags", "tag")
    priorities: tuple[str, ...] = _any_of("priority", "priorities")

    @field_validator("*", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if value is None:
            return ()
        return (value,) if isinstance(value, str | int | float) else value


class Rule(BaseModel):
    """One trigger: events it matches get `survey`, after `delay`, inside `window`."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    id: str
    match: Match = Match()
    survey: str
    language: str | None = None
    delay: timedelta = timedelta(0)
    window: Window | None = None
    timezone: str = "UTC"
    sample: float = Field(100.0, gt=0, le=100)
    quarantine_days: float = Field(0.0, ge=0, le=3650)  # past ten years it is a typo
    expiry_hours: float | None = Field(None, gt=0, le=2160)
    reminder_after_hours: float | None = Field(None, gt=0)
    # How the survey reaches the customer: cxbot sends it in their chat ("chat"), or the help
    # desk the case came from posts its link as its reply to them ("helpdesk_reply").
    deliver: Literal["chat", "helpdesk_reply"] = "chat"
    paused: bool = False
    # The customer journey's step this rule surveys (/journey); None: the event's type.
    touchpoint: str | None = Field(None, min_length=1, max_length=64)

    @field_validator("id")
    @classmethod
    def _id(cls, value: str) -> str:
        if _RULE_ID.fullmatch(value) is None:
            raise DefinitionProblem(
                f"{value!r} is not a rule id (use a-z, 0-9, - and _, at most 64 characters)"
            )
        return value

    @field_validator("survey")
    @classmethod
    def _known_survey(cls, value: str, info: ValidationInfo) -> str:
        known = (info.context or {}).get("known_surveys")
        if known is not None and value not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise DefinitionProblem(f"unknown survey {value!r}; known: {listed}")
        return value

    @field_validator("language")
    @classmethod
    def _supported(cls, value: str | None) -> str | None:
        if value is not None and not LANGUAGE_CODE.fullmatch(value):
            raise DefinitionProblem(
                f"{value!r} is not a language code; use a lower-case ISO 639 code such as "
                "en, de, uk or es"
            )
        return value

    @field_validator("delay", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return parse_duration(value)

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return check_zone(value)

    @field_validator("sample", mode="before")
    @classmethod
    def _percent(cls, value: Any) -> Any:
        return value.strip().removesuffix("%") if isinstance(value, str) else value

    @model_validator(mode="after")
    def _survey_speaks_it(self, info: ValidationInfo) -> Rule:
        languages = (info.context or {}).get("survey_languages", {}).get(self.survey)
        if self.language is not None and languages is not None and self.language not in languages:
            raise DefinitionProblem(
                f"survey {self.survey!r} is not written in {self.language!r} "
                f"(it has: {', '.join(languages)})",
                "language",
            )
        return self

    @model_validator(mode="after")
    def _reminder_before_expiry(self) -> Rule:
        reminder, expiry = self.reminder_after_hours, self.expiry_hours
        if reminder is not None and expiry is not None and reminder >= expiry:
            raise DefinitionProblem(
                f"{reminder:g} must be less than expiry_hours ({expiry:g}): "
                "a reminder after the survey expired would lead nowhere",
                "reminder_after_hours",
            )
        return self

    @field_serializer("delay", when_used="json")
    def _delay_text(self, delay: timedelta) -> str:
        return format_duration(delay)


class RuleSet(BaseModel):
    """The rules of one file, in order: the first that matches an event decides it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: tuple[Rule, ...] = ()
    # The customer journey's touchpoints in the order customers meet them (for /journey).
    journey: tuple[str, ...] = ()

    @field_validator("journey", mode="before")
    @classmethod
    def _journey_list(cls, value: Any) -> Any:
        if value is None:
            return ()
        if not isinstance(value, list | tuple):
            raise DefinitionProblem("write the journey as a list of touchpoints, in order")
        return value

    @field_validator("journey")
    @classmethod
    def _journey_steps(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        seen: set[str] = set()
        for step in value:
            if not step.strip() or len(step) > 64:
                raise DefinitionProblem(f"{step!r}: a touchpoint is 1 to 64 characters")
            if step in seen:
                raise DefinitionProblem(f"touchpoint {step!r} is listed twice")
            seen.add(step)
        return value

    @field_validator("rules", mode="before")
    @classmethod
    def _a_list(cls, value: Any) -> Any:
        if value is None:
            return ()
        if not isinstance(value, list | tuple):
            raise DefinitionProblem("write the rules as a list, each rule starting with '- id:'")
        return value

    @model_validator(mode="after")
    def _unique_ids(self) -> RuleSet:
        first: dict[str, int] = {}
        for index, rule in enumerate(self.rules):
            if rule.id in first:
                raise DefinitionProblem(
                    f"duplicate rule id {rule.id!r} (also rules[{first[rule.id]}])",
                    "rules",
                    index,
                    "id",
                )
            first[rule.id] = index
        return self

    def get(self, rule_id: str) -> Rule:
        for rule in self.rules:
            if rule.id == rule_id:
                return rule
        raise KeyError(rule_id)

    @property
    def ids(self) -> list[str]:
        return [rule.id for rule in self.rules]

    def with_paused(self, rule_id: str, paused: bool) -> RuleSet:
        """A copy with one rule paused or resumed, as ordered from chat or the API."""
        changed = self.get(rule_id).model_copy(update={"paused": paused})
        rules = tuple(changed if rule.id == rule_id else rule for rule in self.rules)
        return self.model_copy(update={"rules": rules})

    def to_yaml(self) -> str:
        """The rules as a file `parse_rules` reads back equal, leaving out defaults."""
        rules = [{key: _plain(value) for key, value in _dump(rule).items()} for rule in self.rules]
        document: dict[str, Any] = {"journey": list(self.journey)} if self.journey else {}
        document["rules"] = rules
        return yaml.safe_dump(document, sort_keys=False, allow_unicode=True)


def _dump(rule: Rule) -> dict[str, Any]:
    # exclude_defaults alone keeps a field that has a serializer, such as `delay`.
    defaults = {
        name for name, field in Rule.model_fields.items() if getattr(rule, name) == field.default
    }
    return rule.model_dump(mode="json", by_alias=True, exclude_defaults=True, exclude=defaults)


def _plain(value: Any) -> Any:
    # 30 rather than 30.0 in the file a person will read.
    return int(value) if isinstance(value, float) and value.is_integer() else value


def parse_rules(
    text: str,
    source: str,
    known_surveys: KnownSurveys | None = None,
    *,
    require_list: bool = False,
) -> RuleSet:
    """Rules from YAML text; `source` names it in errors, `known_surveys` checks survey ids
    (and, given their languages, each rule's language).

    An empty file has no rules; with `require_list` (a replacement sent through the API) the
    text must say so with ``rules: []``, so that an empty or mistaken body removes nothing.
    """
    root, data = compose(text, source, InvalidRules)
    if root is None:
        if require_list:
            raise InvalidRules(source, None, f"it is empty: {_WHOLE_FILE}")
        return RuleSet()
    if not isinstance(data, dict):
        raise InvalidRules(
            source, root.start_mark.line + 1, "a rules file must be a mapping with a 'rules' list"
        )
    if require_list and "rules" not in data:
        raise InvalidRules(source, root.start_mark.line + 1, f"'rules' is missing: {_WHOLE_FILE}")
    return validate(RuleSet, data, root, source, InvalidRules, _context(known_surveys))


def _context(known_surveys: KnownSurveys | None) -> dict[str, Any] | None:
    if known_surveys is None:
        return None
    context: dict[str, Any] = {"known_surveys": frozenset(known_surveys)}
    if isinstance(known_surveys, Mapping):
        context["survey_languages"] = {
            survey: list(languages) for survey, languages in known_surveys.items()
        }
    return context


_WHOLE_FILE = "send the whole rules file, 'rules:' and its list (to remove every rule: 'rules: []')"


def load_rules(path: Path, known_surveys: KnownSurveys | None = None) -> RuleSet:
    try:
        text = read_text(path, InvalidRules)
    except FileNotFoundError:
        raise InvalidRules(str(path), None, "no such rules file") from None
    except OSError as error:
        raise InvalidRules(str(path), None, f"cannot read the file ({error.strerror})") from None
    return parse_rules(text, str(path), known_surveys)
