"""CXBOT_LOG_FORMAT=json: every log line a log collector reads is one JSON object."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.logs import configure_logging


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_an_error_with_its_traceback_is_one_json_line(
    root_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "json")
    log = logging.getLogger("bot.test")
    log.debug("below the level")
    try:
        raise ValueError("bad\nvalue")
    except ValueError:
        log.exception("sending %s failed", "T-1")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert set(record) == {"ts", "level", "logger", "message", "exc"}
    assert record["level"] == "ERROR" and record["logger"] == "bot.test"
    assert record["message"] == "sending T-1 failed"
    assert record["ts"].endswith("Z") and "T" in record["ts"]
    assert "Traceback" in record["exc"] and "ValueError: bad\nvalue" in record["exc"]


def test_text_stays_the_default(root_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("INFO", "text")
    logging.getLogger("bot.test").info("hello")
    assert capsys.readouterr().err.rstrip().endswith("INFO bot.test: hello")


def test_the_cli_logs_json_when_told(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cx.db'}",
        "CXBOT_LOG_FORMAT": "json",
        "CXBOT_LOG_LEVEL": "INFO",
    }
    env.pop("REDIS_URL", None)
    ran = subprocess.run(
        [sys.executable, "-m", "bot.cli", "db", "upgrade"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    lines = ran.stderr.splitlines()
    assert lines  # the migrations log at INFO
    records = [json.loads(line) for line in lines]
    assert {"ts", "level", "logger", "message"} <= set(records[0])
    assert any(r["logger"].startswith("alembic") for r in records)


def test_a_bad_format_is_a_clear_setting_error(tmp_path: Path) -> None:
    env = {**os.environ, "CXBOT_LOG_FORMAT": "yaml"}
    ran = subprocess.run(
        [sys.executable, "-m", "bot.cli", "surveys"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode == 2
    assert ran.stderr.startswith("cxbot: bad setting CXBOT_LOG_FORMAT")
