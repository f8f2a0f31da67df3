"""`cxbot demo` in the terminal: Skip in the survey's words, the echo before the next question,
the summary in the survey's language, and a database file of its own."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from sqlmodel import col, select

from bot.cli import main
from bot.settings import Settings
from bot.terminal import demo
from storage.db import Database
from storage.tables import Answer


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/demo.db")
    for name in ("REDIS_URL", "TELEGRAM_BOT_TOKEN", "SLACK_BOT_TOKEN", "CXBOT_SURVEYS_DIR"):
        monkeypatch.delenv(name, raising=False)
    return Settings(_env_file=None)  # type: ignore[call-arg]


async def stored(url: str) -> list[tuple[str, int | None, str | None]]:
    database = Database(url)
    try:
        async with database.session() as session:
            rows = (await session.exec(select(Answer).order_by(col(Answer.id)))).all()
            return [(row.question_id, row.score, row.text) for row in rows]
    finally:
        await database.dispose()


async def run(settings: Settings, lines: str, survey: str, language: str) -> tuple[str, str]:
    out = io.StringIO()
    summary = await demo.interactive(
        settings, survey, language, stdin=io.StringIO(lines), stdout=out
    )
    return out.getvalue(), summary


async def test_skip_typed_in_polish_skips_and_the_summary_is_polish(settings: Settings) -> None:
    printed, summary = await run(settings, "9\npomiń\n", "nps", "pl")
    # The answer's echo comes before the next question, whose Skip is Polish too.
    echo = printed.index("  -> Twoja odpowiedź: 9")
    assert echo < printed.index("Co jest głównym powodem Twojej oceny?")
    assert "  [Pomiń]\n" in printed and "[skip]" not in printed
    assert summary.strip() == (
        f"NPS z Twojej odpowiedzi: +100 (n=1). Zapisano w {settings.database_url}."
    )
    # "Pomiń" skipped the comment: it is not stored as one.
    assert await stored(settings.database_url) == [("score", 9, None)]


@pytest.mark.parametrize("typed", ["skip", "SARI PESTE", "Sari peste"])
async def test_skip_in_english_or_romanian(settings: Settings, typed: str) -> None:
    _, summary = await run(settings, f"3\n{typed}\n", "ces", "ro")
    assert summary.strip().startswith("CES din răspunsul tău: 3,0 / 7 (n=1).")
    assert await stored(settings.database_url) == [("score", 3, None)]


async def test_a_comment_is_stored_and_english_stays_english(settings: Settings) -> None:
    printed, summary = await run(settings, "5\nVery quick\n", "csat", "en")
    assert printed.index("  -> Your answer: 5") < printed.index("What's the main reason")
    assert summary.strip().startswith("CSAT from your answer: 100% (n=1).")
    assert await stored(settings.database_url) == [
        ("score", 5, None),
        ("why", None, "Very quick"),
    ]


def test_the_demo_writes_its_own_file_unless_database_url_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("DATABASE_URL", "REDIS_URL", "TELEGRAM_BOT_TOKEN", "CXBOT_SURVEYS_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--auto", "3", "--seed", "1"]) == 0
    assert "(sqlite+aiosqlite:///cxbot-demo.db)" in capsys.readouterr().out
    assert sorted(os.listdir(tmp_path)) == ["cxbot-demo.db"]  # cxbot run's cxbot.db untouched
