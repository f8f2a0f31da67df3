"""Loading surveys from YAML (built-in templates and a custom directory) into a catalog."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from importlib.resources import files
from pathlib import Path

import yaml

from surveys.definitions import Survey
from surveys.errors import InvalidSurveyDefinition, UnknownSurvey
from surveys.messages import install_survey_messages
from surveys.yamlloc import compose, line_of, read_text, validate

__all__ = ["Catalog", "builtin_surveys", "load_survey_file", "parse_survey"]


def parse_survey(text: str, source: str) -> Survey:
    """A survey from YAML text; `source` names the text in errors (usually its path)."""
    return _parse(text, source)[0]


def load_survey_file(path: Path) -> Survey:
    return parse_survey(_read(path), str(path))


def builtin_surveys() -> dict[str, Survey]:
    """The templates shipped in surveys/templates, by id."""
    # A copy, so a caller adding to it cannot change what the next caller gets.
    return dict(_builtin_surveys())


@cache
def _builtin_surveys() -> dict[str, Survey]:
    surveys: dict[str, Survey] = {}
    templates = files("surveys") / "templates"
    for entry in sorted(templates.iterdir(), key=lambda entry: entry.name):
        if entry.name.endswith(".yaml"):
            source = f"surveys/templates/{entry.name}"
            survey, _ = _parse(entry.read_text(encoding="utf-8"), source)
            surveys[survey.id] = survey
    return surveys


class Catalog:
    """The surveys this installation can send, by id."""

    def __init__(self, surveys: Mapping[str, Survey]) -> None:
        self._surveys = dict(surveys)

    @classmethod
    def load(cls, directory: Path | None) -> Catalog:
        """The built-in templates, replaced or extended by every YAML file in `directory`."""
        surveys = builtin_surveys()
        if directory is None:
            install_survey_messages(surveys.values())
            return cls(surveys)
        if not directory.is_dir():
            raise InvalidSurveyDefinition(str(directory), None, "no such survey directory")
        custom: dict[str, Path] = {}
        paths = sorted(p for p in directory.iterdir() if p.suffix in {".yaml", ".yml"})
        for path in paths:
            if not path.is_file():
                continue
            survey, root = _parse(_read(path), str(path))
            if survey.id in custom:
                raise InvalidSurveyDefinition(
                    str(path),
                    line_of(root, ("id",)),
                    f"id: survey {survey.id!r} is already defined in {custom[survey.id]}",
                )
            custom[survey.id] = path
            surveys[survey.id] = survey
        try:
            install_survey_messages(surveys.values())
        except ValueError as error:
            raise InvalidSurveyDefinition(str(directory), None, f"messages: {error}") from None
        return cls(surveys)

    def get(self, survey_id: str) -> Survey:
        try:
            return self._surveys[survey_id]
        except KeyError:
            raise UnknownSurvey(survey_id, self.ids()) from None

    def ids(self) -> list[str]:
        return sorted(self._surveys)

    def languages(self) -> dict[str, list[str]]:
        """Each survey's id with the languages it is written in (what rules may ask for)."""
        return {survey.id: list(survey.languages) for survey in self}

    def __contains__(self, survey_id: object) -> bool:
        return survey_id in self._surveys

    def __iter__(self) -> Iterator[Survey]:
        return (self._surveys[survey_id] for survey_id in self.ids())

    def __len__(self) -> int:
        return len(self._surveys)

    def __repr__(self) -> str:
        return f"Catalog({self.ids()!r})"


def _read(path: Path) -> str:
    return read_text(path, InvalidSurveyDefinition)


def _parse(text: str, source: str) -> tuple[Survey, yaml.Node]:
    """The survey and the YAML node tree it came from, which knows every line."""
    root, data = compose(text, source, InvalidSurveyDefinition)
    if root is None:
        raise InvalidSurveyDefinition(source, None, "the file is empty")
    if not isinstance(data, dict):
        raise InvalidSurveyDefinition(
            source, root.start_mark.line + 1, "a survey must be a mapping of fields"
        )
    return validate(Survey, data, root, source, InvalidSurveyDefinition), root
