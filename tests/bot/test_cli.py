"""The `cxbot` command as a support engineer uses it from a shell."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from bot.cli import main
from storage.db import Database
from tests.bot.telegram.botapi import TOKEN, BotAPI


def env_for(monkeypatch: pytest.MonkeyPatch, database: Database, botapi: BotAPI) -> None:
    monkeypatch.setenv("DATABASE_URL", database.url)
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("CXBOT_REDIS_PREFIX", f"cxtest-{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_URL", botapi.url)


async def run_cli(*argv: str) -> int:
    # main() runs its own event loop, as the console script does; a thread keeps this test's
    # loop free to serve the local Bot API meanwhile.
    return await asyncio.to_thread(main, list(argv))


async def test_send_invites_and_prints_the_invitation(
    sqlite_database: Database,
    botapi: BotAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env_for(monkeypatch, sqlite_database, botapi)
    code = await run_cli(
        "send",
        "--survey",
        "nps",
        "--channel",
        "telegram",
        "--to",
        "1001",
        "--case",
        "T-1",
        "--attr",
        "team=billing",
    )
    printed = json.loads(capsys.readouterr().out)
    assert code == 0
    assert printed["status"] == "sent" and printed["created"] is True
    assert printed["attributes"] == {"team": "billing"}
    assert "recommend" in botapi.sent()[0]["text"]
    # The same case again: the existing invitation, nothing sent.
    assert (
        await run_cli(
            "send", "--survey", "nps", "--channel", "telegram", "--to", "1001", "--case", "T-1"
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["created"] is False
    assert len(botapi.sent()) == 1


async def test_send_to_a_blocked_customer_exits_1(
    sqlite_database: Database,
    botapi: BotAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env_for(monkeypatch, sqlite_database, botapi)
    botapi.block(1001)
    assert (
        await run_cli(
            "send", "--survey", "csat", "--channel", "telegram", "--to", "1001", "--case", "T-2"
        )
        == 1
    )
    assert "blocked" in json.loads(capsys.readouterr().out)["failure_reason"]


async def test_bad_input_is_one_clear_line(
    sqlite_database: Database,
    botapi: BotAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env_for(monkeypatch, sqlite_database, botapi)
    assert (
        await run_cli(
            "send", "--survey", "nope", "--channel", "telegram", "--to", "1", "--case", "X"
        )
        == 2
    )
    assert "unknown survey 'nope'" in capsys.readouterr().err
    assert (
        await run_cli(
            "send", "--survey", "nps", "--channel", "telegram", "--to", "abc", "--case", "X"
        )
        == 2
    )
    assert "recipient" in capsys.readouterr().err


async def test_send_to_a_chat_id_telegram_cannot_have_says_so(
    sqlite_database: Database,
    botapi: BotAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env_for(monkeypatch, sqlite_database, botapi)
    to = "1" * 23
    argv = ("send", "--survey", "nps", "--channel", "telegram", "--to", to, "--case", "X")
    assert await run_cli(*argv) == 2
    assert capsys.readouterr().err == (
        f"cxbot: recipient: recipient {to} is not a Telegram id: Telegram's ids have at most 52 "
        "significant bits (1 to 4503599627370495, negative for groups)\n"
    )
    assert botapi.sent() == []


def test_demo_auto_prints_three_scores(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/demo.db")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert main(["demo", "--auto", "30", "--seed", "7"]) == 0
    out = capsys.readouterr().out
    assert "30 invitations" in out
    for line_start in ("NPS ", "CSAT ", "CES "):
        assert any(line.startswith(line_start) for line in out.splitlines()), out
    assert "(n=10" in out  # round-robin: ten customers per survey


ZERO_RATE = "Value error, '0/second' lets nothing through: give at least 1, e.g. 1/second"


@pytest.mark.parametrize(
    ("command", "setting", "value", "refusal"),
    [
        # Once a traceback from logging ("Unknown level: 'LOUD'").
        ("run", "CXBOT_LOG_LEVEL", "LOUD", "Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'"),
        (
            "surveys",
            "CXBOT_LOG_LEVEL",
            "LOUD",
            "Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'",
        ),
        # Once taken: cxbot ran, and every invitation stayed scheduled, nothing in the log.
        ("run", "CXBOT_TELEGRAM_RATE", "0/second", ZERO_RATE),
        ("run", "CXBOT_TELEGRAM_CHAT_RATE", "0/second", ZERO_RATE),
        ("run", "CXBOT_HELPDESK_WRITE_RATE", "0/second", ZERO_RATE),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    command: str,
    setting: str,
    value: str,
    refusal: str,
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cxbot.db'}")
    monkeypatch.setenv("CXBOT_HTTP_PORT", "0")
    monkeypatch.setenv(setting, value)
    assert main([command]) == 2
    assert capsys.readouterr().err == f"cxbot: bad setting {setting}: {refusal}\n"


def test_surveys_lists_each_with_its_questions(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "quick.yaml").write_text(
        "id: quick\nname: {en: Quick}\nlanguages: [en]\ndefault_language: en\n"
        "questions:\n  - id: score\n    kind: nps\n    text: {en: 'How likely?'}\n"
        "thanks: {en: Thanks}\n"
    )
    monkeypatch.setenv("CXBOT_SURVEYS_DIR", str(tmp_path))
    assert main(["surveys"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert "nps\tnps\ten, pl, ro\t2 questions" in listed
    assert "quick\tnps\ten\t1 question" in listed  # once "1 questions"


def test_a_log_level_in_lower_case_is_taken(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CXBOT_LOG_LEVEL", "warning")
    assert main(["surveys"]) == 0
    assert "nps\tnps" in capsys.readouterr().out


def test_unreachable_database_is_one_clear_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:1/none")
    assert main(["db", "upgrade"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "PostgreSQL" in err


@pytest.mark.parametrize("host", ["127.0.0.1", "cache.invalid"])
def test_unreachable_redis_is_one_line_naming_its_host_and_port(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    host: str,
) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cxbot.db'}")
    monkeypatch.setenv("REDIS_URL", f"redis://:s3cret@{host}:{port}/2")
    monkeypatch.setenv("CXBOT_HTTP_PORT", "0")
    assert main(["run"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"cxbot: Redis at redis://:***@{host}:{port}/2 is unreachable (")
    assert "s3cret" not in line and "--port 6379" not in line
    if host == "127.0.0.1":
        assert f"--bind 127.0.0.1 --port {port} " in line and f"-p {port}:6379" in line
    else:  # not this machine's to start
        assert line.endswith(
            f"check that Redis runs on cache.invalid port {port} and that this machine reaches it"
        )


class RefusingBotAPI(BaseHTTPRequestHandler):
    """Telegram's answer to a token it does not know, to every call."""

    def do_POST(self) -> None:
        body = b'{"ok": false, "error_code": 401, "description": "Unauthorized"}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.mark.parametrize("answer", ["nothing", "401"])
def test_a_bot_api_that_refuses_or_is_not_there_is_one_line(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    answer: str,
) -> None:
    # Once a traceback ("cxbot run stopped on an error") from deleteWebhook at start.
    server = ThreadingHTTPServer(("127.0.0.1", 0), RefusingBotAPI)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    if answer == "nothing":
        server.server_close()  # a port nothing listens on
    else:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cxbot.db'}")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_API_URL", url)
    monkeypatch.setenv("CXBOT_HTTP_PORT", "0")
    try:
        assert main(["run"]) == 2
    finally:
        if answer != "nothing":
            server.shutdown()
            server.server_close()
    err = capsys.readouterr().err
    assert "Traceback" not in err
    line = err.strip().splitlines()[-1]  # after the migrations' INFO lines
    if answer == "nothing":
        assert line.startswith(f"cxbot: the Telegram Bot API at {url} is unreachable (")
        assert line.endswith("check TELEGRAM_API_URL and that this machine reaches it")
    else:
        assert line == (
            f"cxbot: the Telegram Bot API at {url} refused the bot token (Unauthorized): "
            "check TELEGRAM_BOT_TOKEN (@BotFather gives it)"
        )


async def test_a_redis_url_at_something_else_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    async def not_redis(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(100)
        writer.write(b"HTTP/1.1 400 Bad Request\r\n\r\n")  # REDIS_URL names a web server's port
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(not_redis, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cxbot.db'}")
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{port}/0")
    argv = ("send", "--survey", "nps", "--channel", "telegram", "--to", "1001", "--case", "X")
    async with server:
        assert await run_cli(*argv) == 2  # `cxbot run` says the same (it needs the main thread)
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(
        f"cxbot: Redis at redis://127.0.0.1:{port}/0 is unreachable (it answered, but not as "
        "Redis does: Protocol Error: b'HTTP/1.1 400 Bad Request'; is that Redis's port? a "
        "Redis with TLS takes rediss://); "
    ), line


@pytest.mark.parametrize(
    ("argv", "heavy"),
    [
        (["--help"], ("aiogram", "slack_bolt", "sqlalchemy", "matplotlib", "pydantic")),
        (["worker", "--help"], ("aiogram", "slack_bolt", "sqlalchemy", "procrastinate")),
        (["surveys"], ("aiogram", "slack_bolt", "matplotlib", "procrastinate")),
    ],
)
def test_a_command_imports_only_what_it_needs(argv: list[str], heavy: tuple[str, ...]) -> None:
    # aiogram alone takes seconds to import: `cxbot --help` must not pay for it.
    probe = (
        "import sys\n"
        "from bot.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded = set(ran.stdout.split("\n")[-2].split())
    assert "bot" in loaded
    assert loaded.isdisjoint(heavy), loaded & set(heavy)
