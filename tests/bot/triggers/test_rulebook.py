"""The rule book: reloads a changed file at most once a second, keeps the last good rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.triggers.errors import RulesNotConfigured
from bot.triggers.rulebook import RuleBook
from surveys.errors import InvalidRules

SURVEYS = ["ces", "csat", "nps"]
ONE = "rules:\n  - id: one\n    survey: nps\n"
TWO = "rules:\n  - id: two\n    survey: csat\n"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def path(tmp_path: Path) -> Path:
    found = tmp_path / "rules.yaml"
    found.write_text(ONE)
    return found


def book_of(path: Path | None, clock: Clock) -> RuleBook:
    book = RuleBook(path, SURVEYS, clock=clock)
    book.reload(force=True)
    return book


def test_a_change_is_seen_at_the_next_check_not_before(path: Path) -> None:
    clock = Clock()
    book = book_of(path, clock)
    assert book.rules().ids == ["one"]
    path.write_text(TWO)
    clock.now += 0.5
    assert book.rules().ids == ["one"]  # looked at less than a second ago
    clock.now += 0.5
    assert book.rules().ids == ["two"]
    assert book.error is None


def test_a_broken_edit_keeps_the_last_good_rules_until_fixed(path: Path) -> None:
    clock = Clock()
    book = book_of(path, clock)
    path.write_text("rules:\n  - id: Bad Id\n    survey: nps\n")
    clock.now += 1
    assert book.rules().ids == ["one"]
    assert book.error is not None and book.error.startswith(f"{path}:2: rules[0].id")
    path.unlink()
    clock.now += 1
    assert book.rules().ids == ["one"]
    assert book.error is not None and "cannot read the rules file" in book.error
    path.write_text(TWO)
    clock.now += 1
    assert book.rules().ids == ["two"] and book.error is None


def test_load_refuses_a_broken_file(path: Path) -> None:
    path.write_text("rules:\n  - id: one\n    survey: nope\n")
    with pytest.raises(InvalidRules) as raised:
        RuleBook.load(path, SURVEYS)
    assert (raised.value.source, raised.value.line) == (str(path), 3)


def test_replace_writes_atomically_and_uses_the_new_rules_at_once(path: Path) -> None:
    clock = Clock()
    book = book_of(path, clock)
    assert book.replace(TWO).ids == ["two"]
    assert path.read_text() == TWO
    assert book.rules().ids == ["two"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["rules.yaml"]  # no temporary left


def test_replace_with_json_writes_yaml(path: Path) -> None:
    book = book_of(path, Clock())
    book.replace(json.dumps({"rules": [{"id": "j", "survey": "ces", "delay": "30m"}]}))
    assert path.read_text() == "rules:\n- id: j\n  survey: ces\n  delay: 30m\n"


def test_a_bad_replacement_changes_nothing(path: Path) -> None:
    book = book_of(path, Clock())
    with pytest.raises(InvalidRules) as raised:
        book.replace("rules:\n  - id: x\n    survey: nps\n    sample: 0\n")
    assert str(raised.value).startswith("request body:4: rules[0].sample")
    assert path.read_text() == ONE and book.rules().ids == ["one"]


def test_without_a_file_there_are_no_rules_and_nothing_to_replace() -> None:
    book = book_of(None, Clock())
    assert book.rules().ids == []
    with pytest.raises(RulesNotConfigured):
        book.replace(ONE)
