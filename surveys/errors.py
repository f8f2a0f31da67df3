"""Errors raised by the survey core; every one derives from SurveyError."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "InvalidRules",
    "InvalidSurveyDefinition",
    "ReportQueryError",
    "SurveyError",
    "UnknownSurvey",
]


class SurveyError(Exception):
    """Root of every error the survey core raises on purpose."""


class _LocatedError(SurveyError):
    """A file that cannot be used, with the place of the first problem in it.

    The error carries its location as data so a CLI or a log line can point the
    author at the exact line without parsing the message.
    """

    def __init__(self, source: str, line: int | None, message: str) -> None:
        self.source = source
        self.line = line
        self.message = message
        super().__init__(self.__str__())

    def __str__(self) -> str:
        if self.line is None:
            return f"{self.source}: {self.message}"
        return f"{self.source}:{self.line}: {self.message}"

    def __reduce__(self) -> tuple[type[_LocatedError], tuple[str, int | None, str]]:
        # Exceptions with a custom __init__ do not pickle by default; multiprocessing
        # and some test runners pickle errors, so spell the constructor out.
        return (type(self), (self.source, self.line, self.message))


class InvalidSurveyDefinition(_LocatedError):
    """A survey file that cannot be used (source, line, message)."""


class InvalidRules(_LocatedError):
    """A trigger rules file that cannot be used (source, line, message)."""


class UnknownSurvey(SurveyError):
    """A survey id that is not in the catalog; `known` lists what would have worked."""

    def __init__(self, survey_id: str, known: Sequence[str]) -> None:
        self.survey_id = survey_id
        self.known = sorted(known)
        listed = ", ".join(self.known) if self.known else "none"
        super().__init__(f"unknown survey {survey_id!r}; known surveys: {listed}")

    def __reduce__(self) -> tuple[type[UnknownSurvey], tuple[str, list[str]]]:
        return (type(self), (self.survey_id, self.known))


class ReportQueryError(SurveyError):
    """Report arguments that cannot be read; `message` says what is accepted, with an example.

    The message is written for the admin who typed the command and is sent back verbatim.
    """

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)

    def __reduce__(self) -> tuple[type[ReportQueryError], tuple[str]]:
        return (type(self), (self.message,))
