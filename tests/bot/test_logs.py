"""CXBOT_LOG_FORMAT=json: every log line a log collector reads is one JSON object."""

from __future__ import annotations

import json
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
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


def test_the_cli_logs_json_when_told(
    root_logging: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cx.db'}")
    monkeypatch.setenv("CXBOT_LOG_FORMAT", "json")
    monkeypatch.setenv("CXBOT_LOG_LEVEL", "INFO")
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    assert main(["db", "upgrade"]) == 0
    lines = capsys.readouterr().err.splitlines()
    assert lines  # the migrations log at INFO
    records = [json.loads(line) for line in lines]
    assert {"ts", "level", "logger", "message"} <= set(records[0])
    assert any(r["logger"].startswith("alembic") for r in records)


def test_a_bad_format_is_a_clear_setting_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CXBOT_LOG_FORMAT", "yaml")
    assert main(["surveys"]) == 2
    assert capsys.readouterr().err.startswith("cxbot: bad setting CXBOT_LOG_FORMAT")


def test_a_text_record_is_one_line_whatever_its_message_holds(
    root_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # A case id is the sender's text: a line break in it must not forge a second log line.
    configure_logging("INFO", "text")
    forged = "T-1\n2026-12-03 19:00:00,000 ERROR bot.main: forged\r\x00\u2028"
    logging.getLogger("bot.test").info("event %s refused", forged)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith("\n")
    assert err.rstrip("\n").endswith(
        "INFO bot.test: event T-1\\n2026-12-03 19:00:00,000 ERROR bot.main: forged\\r\\x00\\u2028"
        " refused"
    )


def test_a_text_traceback_keeps_its_lines(
    root_logging: None, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("INFO", "text")
    try:
        raise ValueError("bad")
    except ValueError:
        logging.getLogger("bot.test").exception("sending failed")
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].endswith("ERROR bot.test: sending failed")
    assert lines[1] == "Traceback (most recent call last):" and lines[-1] == "ValueError: bad"


def service_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, log_format: str) -> None:
    """`cxbot run` on embedded defaults in an empty folder, no channel, logging ``log_format``."""
    monkeypatch.chdir(tmp_path)  # no .env of the developer's
    for name in ("REDIS_URL", "TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "CXBOT_RULES"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cx.db'}")
    monkeypatch.setenv("CXBOT_LOG_FORMAT", log_format)
    monkeypatch.setenv("CXBOT_HTTP_HOST", "127.0.0.1")


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_run_on_a_taken_port_says_so_in_its_log_format(
    root_logging: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    taken_port: int,
    log_format: str,
) -> None:
    service_env(monkeypatch, tmp_path, log_format)
    monkeypatch.setenv("CXBOT_HTTP_PORT", str(taken_port))
    assert main(["run"]) == 2
    lines = capsys.readouterr().err.splitlines()
    said = (
        f"cannot listen on 127.0.0.1:{taken_port} (CXBOT_HTTP_HOST, CXBOT_HTTP_PORT): "
        "Address already in use"
    )
    if log_format == "text":
        assert lines[-1] == f"cxbot: {said}"
        assert not any(line.startswith("Traceback") for line in lines)
    else:
        records = [json.loads(line) for line in lines]  # every line, the migrations' too
        assert records[-1]["level"] == "ERROR" and records[-1]["message"] == said


def test_a_bad_setting_of_run_is_a_json_record(
    root_logging: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    service_env(monkeypatch, tmp_path, "json")
    monkeypatch.setenv("CXBOT_HTTP_PORT", "eighty")
    assert main(["run"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    record = json.loads(line)
    assert record["level"] == "ERROR"
    assert record["message"].startswith("bad setting CXBOT_HTTP_PORT: ")


def test_a_bad_setting_of_a_one_shot_command_stays_a_line_for_people(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    service_env(monkeypatch, tmp_path, "json")
    monkeypatch.setenv("CXBOT_HTTP_PORT", "eighty")
    assert main(["surveys"]) == 2
    assert capsys.readouterr().err.startswith("cxbot: bad setting CXBOT_HTTP_PORT: ")


def test_run_stopped_by_an_unexpected_error_logs_its_traceback_as_json(
    root_logging: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    service_env(monkeypatch, tmp_path, "json")

    async def broken(settings: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr("bot.main.serve", broken)
    assert main(["run"]) == 1
    (line,) = capsys.readouterr().err.splitlines()
    record = json.loads(line)
    assert record["level"] == "ERROR" and record["message"] == "cxbot run stopped on an error"
    assert "RuntimeError: disk on fire" in record["exc"]
