"""`cxbot send` for a person known by email, and `cxbot link ID [--qr FILE]`."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image
import pytest
import segno

from storage.db import Database
from tests.bot.telegram.botapi import BotAPI
from tests.bot.telegram.test_links import LINK_PREFIX
from tests.bot.test_cli import env_for, run_cli

SCALE, BORDER = 8, 4


async def send_by_email(capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    code = await run_cli(
        "send", "--survey", "nps", "--channel", "telegram", "--email", "ana@example.com",
        "--case", "T-1",
    )  # fmt: skip
    assert code == 0
    printed: dict[str, object] = json.loads(capsys.readouterr().out)
    return printed


async def test_send_by_email_prints_the_link_and_sends_nothing(
    sqlite_database: Database,
    botapi: BotAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env_for(monkeypatch, sqlite_database, botapi)
    printed = await send_by_email(capsys)
    assert printed["status"] == "awaiting_link" and printed["recipient"] is None
    assert str(printed["link"]).startswith(LINK_PREFIX)
    assert botapi.sent() == []


async def test_link_prints_the_link_and_writes_its_qr_code(
    sqlite_database: Database,
    botapi: BotAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    env_for(monkeypatch, sqlite_database, botapi)
    link = str((await send_by_email(capsys))["link"])
    png = tmp_path / "survey.png"

    assert await run_cli("link", "1", "--qr", str(png)) == 0

    assert capsys.readouterr().out.strip() == link
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Each module of the image is the module of the link's QR code (dark = 1).
    pixels = matplotlib.image.imread(png)
    expected = [list(row) for row in segno.make(link, error="m").matrix]
    size = len(expected)
    assert pixels.shape[0] == pixels.shape[1] == (size + 2 * BORDER) * SCALE
    shown = [
        [
            int(pixels[(BORDER + y) * SCALE + 1, (BORDER + x) * SCALE + 1].mean() < 0.5)
            for x in range(size)
        ]
        for y in range(size)
    ]
    assert shown == expected


async def test_link_of_an_unknown_invitation_is_one_clear_line(
    sqlite_database: Database,
    botapi: BotAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    env_for(monkeypatch, sqlite_database, botapi)
    assert await run_cli("link", "42") == 2
    assert capsys.readouterr().err.strip() == "cxbot: no invitation 42"


@pytest.mark.parametrize("given", ["99999999999999999999", "2147483648", "0", "-5"])
async def test_link_to_an_id_out_of_range_says_so(
    database: Database,
    botapi: BotAPI,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    given: str,
) -> None:
    env_for(monkeypatch, database, botapi)
    assert await run_cli("link", "--", given) == 2
    assert capsys.readouterr().err == (
        f"cxbot: no invitation {given}: invitation ids are 1 to 2147483647\n"
    )
