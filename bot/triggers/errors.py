"""Errors of the triggers package; every one derives from TriggerError (a BotError)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.errors import BotError


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with an event: where (`field`, dotted) and what."""

    field: str
    message: str


class TriggerError(BotError):
    """Root of the errors raised while taking in events and managing rules."""


class InvalidEvent(TriggerError):
    """An event that cannot be decided; `code` names the kind, `problems` list the fields.

    `known` holds what could still be read of it (case_id, type, channel, recipient, team),
    so that `/why CASE` can tell the event came and why it was refused.
    """

    def __init__(self, code: str, message: str, problems: Sequence[FieldProblem] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.problems = tuple(problems)
        self.known: dict[str, str] = {}

    @classmethod
    def at(cls, field: str, message: str, code: str = "invalid_event") -> InvalidEvent:
        return cls(code, message, [FieldProblem(field, message)])

    def renamed(self, names: Mapping[str, str]) -> InvalidEvent:
        """This error with each problem's field as the event's source names it; its code,
        message and what it knows unchanged."""
        problems = [FieldProblem(names.get(p.field, p.field), p.message) for p in self.problems]
        renamed = InvalidEvent(self.code, self.message, problems)
        renamed.known = dict(self.known)
        return renamed

    def about(self, known: Mapping[str, object]) -> InvalidEvent:
        """This error, also knowing the readable text values of `known` (first come stay)."""
        for name in KNOWN_FIELDS:
            value = known.get(name)
            readable = isinstance(value, str | int) and not isinstance(value, bool)
            if name not in self.known and readable and str(value).strip():
                self.known[name] = str(value).strip()
        return self


# What a refused event keeps for `/why`: enough to find it, nothing more of the payload.
KNOWN_FIELDS = ("case_id", "type", "channel", "recipient", "team")


class RulesNotConfigured(TriggerError):
    """Rules cannot be changed through the API: CXBOT_RULES names no file."""

    def __init__(self) -> None:
        super().__init__(
            "no rules file: set CXBOT_RULES to the path of a rules file "
            "(it may start empty) to edit rules through the API"
        )


class UnknownRule(TriggerError):
    """A rule id that is not in the rules; `known` lists those that are."""

    def __init__(self, rule_id: str, known: Sequence[str]) -> None:
        self.rule_id = rule_id
        self.known = list(known)
        listed = ", ".join(self.known) if self.known else "none"
        super().__init__(f"no rule '{rule_id}'; rules: {listed}")
