"""A broken rules file stops `cxbot run` with file:line; `cxbot rules check` checks one."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from tests.surveys.samples import ONBOARDING_YAML


@pytest.fixture(autouse=True)
def quiet_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env from the working copy
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/cxbot.db")
    for name in ("REDIS_URL", "TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "CXBOT_RULES"):
        monkeypatch.delenv(name, raising=False)


def broken(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  - id: nps-closed\n    survey: nps\n    delay: soon\n")
    return path


def test_run_with_a_broken_rules_file_exits_2_with_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CXBOT_RULES", str(broken(tmp_path)))
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"cxbot: {tmp_path / 'rules.yaml'}:4: rules[0].delay: 'soon'")


def test_run_with_a_missing_rules_file_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CXBOT_RULES", str(tmp_path / "absent.yaml"))
    assert main(["run"]) == 2
    assert capsys.readouterr().err == f"cxbot: {tmp_path / 'absent.yaml'}: no such rules file\n"


def test_rules_check_reports_a_good_file_and_a_broken_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(
        "rules:\n  - id: a\n    survey: nps\n  - id: b\n    survey: csat\n    paused: true\n"
    )
    assert main(["rules", "check", str(good)]) == 0
    assert capsys.readouterr().out == f"{good}: 2 rules (1 paused): a, b\n"
    assert main(["rules", "check", str(broken(tmp_path))]) == 2
    assert ":4: rules[0].delay" in capsys.readouterr().err


def test_rules_check_without_a_file_says_what_to_give(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["rules", "check"]) == 2
    assert "CXBOT_RULES" in capsys.readouterr().err


def test_rules_check_knows_the_languages_of_custom_surveys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    surveys = tmp_path / "surveys"
    surveys.mkdir()
    (surveys / "onboarding.yaml").write_text(ONBOARDING_YAML)  # in en and pl only
    monkeypatch.setenv("CXBOT_SURVEYS_DIR", str(surveys))
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  - id: a\n    survey: onboarding\n    language: ro\n")
    assert main(["rules", "check", str(rules)]) == 2
    assert capsys.readouterr().err == (
        f"cxbot: {rules}:4: rules[0].language: survey 'onboarding' is not written in 'ro' "
        "(it has: en, pl)\n"
    )
    rules.write_text("rules:\n  - id: a\n    survey: onboarding\n    language: pl\n")
    assert main(["rules", "check", str(rules)]) == 0
