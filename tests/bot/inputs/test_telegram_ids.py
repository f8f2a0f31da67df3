"""Telegram chat and user ids out of Telegram's range (at most 52 significant bits) are refused
where they come in, naming the field; ids at the edge of the range are taken."""

from __future__ import annotations

from typing import Any

import pytest

from tests.bot.inputs.conftest import InputHarness
from tests.bot.triggers.conftest import event

LARGEST = 2**52 - 1  # 4503599627370495: Telegram's ids have at most 52 significant bits
RANGE = f"at most 52 significant bits (1 to {LARGEST}, negative for groups)"
NUMBER = "must be a Telegram id, a whole number such as 123456789"
OUT_OF_RANGE: list[tuple[dict[str, Any], str, str]] = [
    ({"recipient": "1" * 23}, "recipient", RANGE),
    ({"recipient": 10**22}, "recipient", RANGE),  # as a JSON number
    ({"recipient": str(LARGEST + 1)}, "recipient", RANGE),
    ({"recipient": "-100" + "1" * 20, "user": "1001"}, "recipient", RANGE),
    ({"recipient": "-1001234567890", "user": "9" * 17}, "user", RANGE),
    ({"recipient": "0"}, "recipient", RANGE),
    ({"recipient": "1_001"}, "recipient", NUMBER),  # Python's int() would read it as 1001
    ({"recipient": "\u0661\u0660\u0660\u0661"}, "recipient", NUMBER),  # Arabic-Indic digits, ditto
]
INVITATION = {"survey": "nps", "channel": "telegram", "recipient": "1001", "case_id": "T-1"}


def refusal(status: int, answer: dict[str, Any], field: str) -> str:
    assert status == 422, answer
    messages = {f["field"]: f["message"] for f in answer["fields"]}
    assert field in messages, answer
    return messages[field]


async def test_an_invitation_to_an_id_telegram_cannot_have_is_a_422(inputs: InputHarness) -> None:
    for fields, field, says in OUT_OF_RANGE:
        status, answer = await inputs.post_invitation(**(INVITATION | fields))
        assert says in refusal(status, answer, field), fields
    assert await inputs.invitations() == []
    assert inputs.botapi.sent() == []


async def test_an_event_to_an_id_telegram_cannot_have_is_a_422(inputs: InputHarness) -> None:
    for fields, field, says in OUT_OF_RANGE:
        status, answer = await inputs.event(event(**fields))
        assert says in refusal(status, answer, field), fields
    assert await inputs.invitations() == []


@pytest.mark.parametrize(
    "fields",
    [
        {"recipient": str(LARGEST)},
        {"recipient": LARGEST},
        {"recipient": str(-LARGEST), "user": str(LARGEST)},
        {"recipient": "-1001234567890", "user": "1001"},
    ],
)
async def test_ids_at_the_edge_of_the_range_are_taken(
    inputs: InputHarness, fields: dict[str, Any]
) -> None:
    status, answer = await inputs.post_invitation(**(INVITATION | fields))
    assert status == 202, answer
    (sent,) = await inputs.botapi.wait_for("sendMessage", 1)
    assert int(sent["chat_id"]) == int(fields["recipient"])
