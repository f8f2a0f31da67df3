"""Ids holding a control character (a line break, an escape, DEL, C1) are a 422 naming the field,
alike on the events and invitations APIs and the help desks' hooks; trimmed ones are taken."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.bot.inputs.conftest import InputHarness
from tests.bot.triggers.conftest import event
from tests.bot.triggers.payloads import ZENDESK_TRIGGER

# One of each kind: C0 (tab, line feed, escape), DEL and C1 (NEL, CSI).
CONTROLS = ["\t", "\n", "\x1b", "\x7f", "\x85", "\x9b"]


def refused(status: int, answer: dict[str, Any], field: str) -> str:
    """The message of the 422 that names `field`."""
    assert status == 422, answer
    messages = {f["field"]: f["message"] for f in answer["fields"]}
    assert field in messages, answer
    return messages[field]


@pytest.mark.parametrize(
    "field", ["case_id", "recipient", "user", "team", "agent", "priority", "type"]
)
async def test_an_event_id_with_a_control_character_is_a_422_naming_it(
    inputs: InputHarness, field: str
) -> None:
    for control in CONTROLS:
        status, answer = await inputs.event(event(**{field: f"ab{control}12"}))
        message = refused(status, answer, field)
        assert "control character" in message, message
        assert f"U+{ord(control):04X}" in message, message
    assert await inputs.invitations() == []


@pytest.mark.parametrize("field", ["case_id", "recipient", "user", "survey"])
async def test_an_invitation_id_with_a_control_character_is_a_422_as_for_events(
    inputs: InputHarness, field: str
) -> None:
    body = {"survey": "nps", "channel": "telegram", "recipient": "1001", "case_id": "T-1"}
    for control in CONTROLS:
        status, answer = await inputs.post_invitation(**(body | {field: f"ab{control}12"}))
        assert "control character" in refused(status, answer, field)
    status, answer = await inputs.post_invitation(**(body | {"attributes": {"team": "a\x1bb"}}))
    assert "control character" in refused(status, answer, "attributes.team")
    assert await inputs.invitations() == []


async def test_a_zendesk_ticket_id_with_a_control_character_is_a_422_naming_its_placeholder(
    inputs: InputHarness,
) -> None:
    body = json.loads(json.dumps(ZENDESK_TRIGGER))
    body["ticket"]["id"] = "354\x1b[2J36"
    status, answer = await inputs.hook("zendesk", body)
    assert "control character" in refused(status, answer, "ticket.id")
    body["ticket"]["id"] = "35436"
    body["ticket"]["requester"]["external_id"] = "10\n01"
    status, answer = await inputs.hook("zendesk", body)
    assert "control character" in refused(status, answer, "ticket.requester.external_id")
    assert await inputs.invitations() == []


async def test_a_line_break_around_an_id_is_trimmed_and_taken(inputs: InputHarness) -> None:
    status, answer = await inputs.event(event(case_id="\tT-5\r\n", team="billing\n"))
    assert status == 202, answer
    (invitation,) = await inputs.invitations()
    assert (invitation.case_id, invitation.team) == ("T-5", "billing")
