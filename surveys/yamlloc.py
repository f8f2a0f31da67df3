"""Reading YAML so that every problem, syntax or validation, names its file and line."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from surveys.definitions import DefinitionProblem

__all__ = ["Loc", "Raise", "compose", "line_of", "path_of", "read_text", "validate"]

Loc = tuple[int | str, ...]
# The located error to raise: InvalidSurveyDefinition, InvalidRules (source, line, message).
Raise = Callable[[str, int | None, str], Exception]
M = TypeVar("M", bound=BaseModel)


def read_text(path: Path, error: Raise) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as problem:
        raise error(str(path), None, f"not UTF-8 text ({problem.reason})") from None


def compose(text: str, source: str, error: Raise) -> tuple[yaml.Node | None, Any]:
    """The node tree, which knows every line, and the data; (None, None) for an empty text."""
    try:
        loader = yaml.SafeLoader(text)  # refuses a NUL or another control character at once
    except yaml.YAMLError as problem:
        raise error(source, None, f"invalid YAML: {problem}") from None
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        _reject_duplicate_keys(root, source, error)
        return root, loader.construct_document(root)
    except yaml.MarkedYAMLError as problem:
        mark = problem.problem_mark or problem.context_mark
        line = mark.line + 1 if mark is not None else None
        reason = problem.problem or problem.context or "unreadable"
        opened = problem.context_mark
        # An unclosed bracket is noticed lines later; say where the bracket was opened.
        if problem.context and opened is not None and mark is not None and opened.line != mark.line:
            reason += f" ({problem.context} on line {opened.line + 1})"
        raise error(source, line, f"invalid YAML: {reason}") from None
    except yaml.YAMLError as problem:
        raise error(source, None, f"invalid YAML: {problem}") from None
    except RecursionError:
        raise error(source, None, "invalid YAML: nested too deeply") from None
    except ValueError:  # int() refuses more than 4,300 digits
        raise error(source, None, "invalid YAML: a number with too many digits") from None
    finally:
        loader.dispose()


def validate(
    model: type[M],
    data: object,
    root: yaml.Node,
    source: str,
    error: Raise,
    context: Mapping[str, object] | None = None,
) -> M:
    """`data` as a `model`; the first problem in the file (by line) becomes `error`."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as problem:
        located = [
            _locate(root, tuple(detail["loc"]), detail["msg"], detail.get("ctx"))
            for detail in problem.errors()
        ]
        line, message = min(located, key=lambda pair: pair[0])
        raise error(source, line, message) from None


def _reject_duplicate_keys(node: yaml.Node, source: str, error: Raise) -> None:
    # PyYAML keeps the last of two equal keys without a word, which hides a typo'd copy.
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    raise error(source, key.start_mark.line + 1, f"duplicate key {key.value!r}")
                seen.add(key.value)
            _reject_duplicate_keys(value, source, error)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _reject_duplicate_keys(item, source, error)


def _locate(
    root: yaml.Node, loc: Loc, text: str, ctx: Mapping[str, object] | None
) -> tuple[int, str]:
    """The line and the message for one pydantic error."""
    problem = (ctx or {}).get("error")
    if isinstance(problem, DefinitionProblem):
        loc += problem.path
        text = str(problem)
    return line_of(root, loc), f"{path_of(loc)}: {text}" if loc else text


def path_of(loc: Loc) -> str:
    """`questions[1].kind` from ("questions", 1, "kind")."""
    out = ""
    for step in loc:
        if isinstance(step, int):
            out += f"[{step}]"
        elif step != "[key]":  # pydantic's marker for an invalid mapping key
            out += f".{step}" if out else step
    return out


def line_of(root: yaml.Node, loc: Loc) -> int:
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
