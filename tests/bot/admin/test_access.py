"""CXBOT_ADMINS: who is an admin, who is a team lead of which teams, and bad entries."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.admin.access import ADMIN, Access, Role
from bot.admin.errors import InvalidAdmins
from bot.cli import EXIT_BAD_INPUT, main


def test_admins_and_leads_separated_by_commas_or_whitespace() -> None:
    access = Access.parse(
        "telegram:123456, slack:U012ABC\n telegram:777@billing  slack:U9ABC@billing|support"
    )
    assert access.role("telegram", "123456") == ADMIN
    assert access.role("slack", "U012ABC") == ADMIN
    assert access.role("telegram", "777") == Role(frozenset({"billing"}))
    assert access.role("slack", "U9ABC") == Role(frozenset({"billing", "support"}))
    assert len(access) == 4


def test_anyone_else_has_no_role() -> None:
    access = Access.parse("telegram:123456,slack:U012ABC")
    assert access.role("telegram", "654321") is None
    # An id is an admin on its own channel only.
    assert access.role("slack", "123456") is None
    assert access.role("telegram", "U012ABC") is None


def test_unset_means_nobody() -> None:
    assert len(Access.parse("")) == 0
    assert len(Access.parse("  ,, ")) == 0
    assert Access.parse("").role("telegram", "1") is None


def test_a_lead_sees_only_their_teams() -> None:
    lead = Role(frozenset({"billing", "support"}))
    assert not lead.is_admin
    assert lead.allows("billing") and lead.allows("support")
    assert not lead.allows("sales")
    assert not lead.allows(None)  # data of no team or of every team is not theirs
    assert ADMIN.is_admin and ADMIN.allows("sales") and ADMIN.allows(None)
    assert lead.describe() == "team lead of billing, support"


def test_an_id_listed_twice_gets_the_wider_role() -> None:
    leads = Access.parse("telegram:777@billing telegram:777@support")
    assert leads.role("telegram", "777") == Role(frozenset({"billing", "support"}))
    admin = Access.parse("telegram:777@billing, telegram:777")
    assert admin.role("telegram", "777") == ADMIN


def test_channel_name_is_not_case_sensitive() -> None:
    assert Access.parse("Telegram:42").role("telegram", "42") == ADMIN


@pytest.mark.parametrize(
    ("value", "entry", "says"),
    [
        ("123456", "123456", "write CHANNEL:USER_ID"),
        ("telegram:", "telegram:", "write CHANNEL:USER_ID"),
        ("whatsapp:123", "whatsapp:123", "unknown channel 'whatsapp'"),
        ("telegram:abc", "telegram:abc", "a telegram user id is a number"),
        ("telegram:-5", "telegram:-5", "a telegram user id is a number"),
        ("telegram:" + "1" * 20, "telegram:" + "1" * 20, "a number from 1 to 4503599627370495"),
        ("slack:u012abc", "slack:u012abc", "a member id like U012ABC"),
        ("telegram:1, slack:C0CHANNEL", "slack:C0CHANNEL", "a member id like U012ABC"),
        ("telegram:777@", "telegram:777@", "teams after @ are names separated by |"),
        ("slack:U9ABC@billing||x", "slack:U9ABC@billing||x", "teams after @"),
    ],
)
def test_a_bad_entry_is_named_in_one_line(value: str, entry: str, says: str) -> None:
    with pytest.raises(InvalidAdmins) as failure:
        Access.parse(value)
    message = str(failure.value)
    assert failure.value.entry == entry
    assert message.startswith(f"CXBOT_ADMINS: bad entry {entry!r}: ")
    assert says in message
    assert "\n" not in message
    assert isinstance(failure.value, ValueError)


def test_a_bad_entry_stops_cxbot_run_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'cxbot.db'}")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.setenv("CXBOT_ADMINS", "telegram:123, telegram:@billing")
    assert main(["run"]) == EXIT_BAD_INPUT
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == [
        "cxbot: CXBOT_ADMINS: bad entry 'telegram:@billing': a telegram user id is a number "
        "from 1 to 4503599627370495 (e.g. telegram:123456, slack:U012ABC, telegram:777@billing, "
        "slack:U9ABC@billing|support)"
    ]
    assert not (tmp_path / "cxbot.db").exists()  # stopped before touching the database
