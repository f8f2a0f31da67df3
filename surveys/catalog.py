"""Loading surveys from YAML (built-in templates and a custom directory) into a catalog."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from functools import cache
from importlib.resources import files
from pathlib import Path

import yaml
from pydantic import ValidationError

from surveys.definitions import DefinitionProblem, Survey
from surveys.errors import InvalidSurveyDefinition, UnknownSurvey

__all__ = ["Catalog", "builtin_surveys", "load_survey_file", "parse_survey"]

Loc = tuple[int | str, ...]


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
                    _line_of(root, ("id",)),
                    f"id: survey {survey.id!r} is already defined in {custom[survey.id]}",
                )
            custom[survey.id] = path
            surveys[survey.id] = survey
        return cls(surveys)

    def get(self, survey_id: str) -> Survey:
        try:
            return self._surveys[survey_id]
        except KeyError:
            raise UnknownSurvey(survey_id, self.ids()) from None

    def ids(self) -> list[str]:
        return sorted(self._surveys)

    def __contains__(self, survey_id: object) -> bool:
        return survey_id in self._surveys

    def __iter__(self) -> Iterator[Survey]:
        return (self._surveys[survey_id] for survey_id in self.ids())

    def __len__(self) -> int:
        return len(self._surveys)

    def __repr__(self) -> str:
        return f"Catalog({self.ids()!r})"


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise InvalidSurveyDefinition(str(path), None, f"not UTF-8 text ({error.reason})") from None


def _parse(text: str, source: str) -> tuple[Survey, yaml.Node]:
    """The survey and the YAML node tree it came from, which knows every line."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise InvalidSurveyDefinition(source, None, "the file is empty")
        _reject_duplicate_keys(root, source)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = error.problem or error.context or "unreadable"
        opened = error.context_mark
        # An unclosed bracket is noticed lines later; say where the bracket was opened.
        if error.context and opened is not None and mark is not None and opened.line != mark.line:
            problem += f" ({error.context} on line {opened.line + 1})"
        raise InvalidSurveyDefinition(source, line, f"invalid YAML: {problem}") from None
    except yaml.YAMLError as error:
        raise InvalidSurveyDefinition(source, None, f"invalid YAML: {error}") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise InvalidSurveyDefinition(
            source, root.start_mark.line + 1, "a survey must be a mapping of fields"
        )
    try:
        return Survey.model_validate(data), root
    except ValidationError as error:
        located = [
            _locate(root, tuple(detail["loc"]), detail["msg"], detail.get("ctx"))
            for detail in error.errors()
        ]
        line, message = min(located, key=lambda pair: pair[0])
        raise InvalidSurveyDefinition(source, line, message) from None


def _reject_duplicate_keys(node: yaml.Node, source: str) -> None:
    # PyYAML keeps the last of two equal keys without a word, which hides a typo'd copy.
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    line = key.start_mark.line + 1
                    raise InvalidSurveyDefinition(source, line, f"duplicate key {key.value!r}")
                seen.add(key.value)
            _reject_duplicate_keys(value, source)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _reject_duplicate_keys(item, source)


def _locate(
    root: yaml.Node, loc: Loc, text: str, ctx: Mapping[str, object] | None
) -> tuple[int, str]:
    """The line and the message for one pydantic error."""
    problem = (ctx or {}).get("error")
    if isinstance(problem, DefinitionProblem):
        loc += problem.path
        text = str(problem)
    return _line_of(root, loc), f"{_path(loc)}: {text}" if loc else text


def _path(loc: Loc) -> str:
    """`questions[1].kind` from ("questions", 1, "kind")."""
    out = ""
    for step in loc:
        if isinstance(step, int):
            out += f"[{step}]"
        elif step != "[key]":  # pydantic's marker for an invalid mapping key
            out += f".{step}" if out else step
    return out


def _line_of(root: yaml.Node, loc: Loc) -> int:
    """The 1-based line of the deepest node on `loc` that exists in the file.

    Steps into a mapping report the key's line (for `text:` followed by an indented
    block that is the line naming the field); a step that is missing from the file, as
    for a missing field, stops at its parent.
    """
    node = root
    line = root.start_mark.line
    for step in loc:
        if isinstance(node, yaml.MappingNode):
            found = next(
                (
                    (key, value)
                    for key, value in node.value
                    if isinstance(key, yaml.ScalarNode) and key.value == str(step)
                ),
                None,
            )
            if found is None:
                break
            line = found[0].start_mark.line
            node = found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(step, int):
            if not 0 <= step < len(node.value):
                break
            node = node.value[step]
            line = node.start_mark.line
        else:
            break
    return line + 1
