"""Zendesk and Freshdesk payloads, as documented, become the right events (or a clear 422)."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import pytest

from bot.helpdesks.fields import status_type
from bot.helpdesks.freshdesk import freshdesk_event
from bot.helpdesks.zendesk import zendesk_event
from bot.triggers.errors import InvalidEvent
from tests.bot.triggers.payloads import (
    FRESHDESK_ADVANCED,
    FRESHDESK_SIMPLE,
    ZENDESK_STATUS_CHANGED,
    ZENDESK_TRIGGER,
)

TELEGRAM = {"channel": "telegram"}


def changed(payload: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of `payload` with the dotted `path` set to `value` (None: removed)."""
    copied = copy.deepcopy(payload)
    *parents, last = path.split(".")
    node = copied
    for part in parents:
        node = node[part]
    if value is None:
        node.pop(last, None)
    else:
        node[last] = value
    return copied


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("Solved", "case.solved"),
        ("solved", "case.solved"),
        ("CLOSED", "case.closed"),
        ("Resolved", "case.solved"),
        ("Closed", "case.closed"),
        ("Pending", "case.pending"),
        ("On-hold", "case.on_hold"),
        ("Waiting on Customer", "case.waiting_on_customer"),
    ],
)
def test_help_desk_statuses_become_event_types(status: str, expected: str) -> None:
    assert status_type(status) == expected


class TestZendesk:
    def test_a_trigger_body_maps_requester_assignee_group_and_tags(self) -> None:
        event = zendesk_event(ZENDESK_TRIGGER, {**TELEGRAM, "timezone": "Europe/Warsaw"})
        assert (event.type, event.case_id, event.channel, event.recipient) == (
            "case.solved",
            "35436",
            "telegram",
            "1001",
        )
        assert (event.team, event.agent, event.tags, event.priority) == (
            "Billing",
            "Ana Novak",
            ("vip", "renewal"),
            "high",
        )
        assert event.occurred_at == datetime(2026, 11, 22, 12, 0)
        assert event.timezone == "Europe/Warsaw"
        assert event.attributes == {"helpdesk": "zendesk", "status": "Solved"}

    def test_fields_nobody_filled_in_are_absent_not_text(self) -> None:
        # A ticket with no group, assignee, tags or priority: Zendesk renders "" and "-".
        body = copy.deepcopy(ZENDESK_TRIGGER)
        body["ticket"].update(group="", assignee="", tags="", priority="-")
        event = zendesk_event(body, TELEGRAM)
        assert (event.team, event.agent, event.tags, event.priority) == (None, None, (), None)

    def test_a_refused_payload_still_names_its_case_for_why(self) -> None:
        body = changed(ZENDESK_TRIGGER, "ticket.requester", {"external_id": ""})
        with pytest.raises(InvalidEvent) as raised:
            zendesk_event(body, TELEGRAM)
        assert raised.value.known == {
            "case_id": "35436",
            "type": "case.solved",
            "channel": "telegram",
            "team": "Billing",
        }
        subscribed = changed(ZENDESK_STATUS_CHANGED, "detail.external_id", "")
        subscribed["detail"]["requester_id"] = "0"
        with pytest.raises(InvalidEvent) as raised:
            zendesk_event(subscribed, TELEGRAM)
        assert raised.value.known["case_id"] == "35437"
        assert raised.value.known["type"] == "case.closed"

    def test_a_custom_field_in_recipient_wins_over_the_external_id(self) -> None:
        body = changed(ZENDESK_TRIGGER, "ticket.recipient", "2002")
        assert zendesk_event(body, TELEGRAM).recipient == "2002"

    def test_slack_falls_back_to_the_requester_email(self) -> None:
        body = changed(ZENDESK_TRIGGER, "ticket.requester.external_id", "")
        event = zendesk_event(body, {"channel": "slack"})
        assert (event.channel, event.recipient) == ("slack", "jan@example.com")

    @pytest.mark.parametrize(
        "blank", ["", "{{ticket.requester.external_id}}"], ids=["empty", "unrendered"]
    )
    def test_no_chat_id_for_telegram_is_a_clear_422(self, blank: str) -> None:
        body = changed(ZENDESK_TRIGGER, "ticket.requester", {"external_id": blank})
        with pytest.raises(InvalidEvent) as raised:
            zendesk_event(body, TELEGRAM)
        assert raised.value.code == "missing_identity"
        assert raised.value.problems[0].field == "ticket.requester.external_id"
        assert "telegram id" in raised.value.message

    def test_without_a_chat_id_the_person_is_named_by_email_and_requester(self) -> None:
        body = changed(ZENDESK_TRIGGER, "ticket.requester.external_id", "")
        body["ticket"]["requester"]["id"] = "8447388090494"
        event = zendesk_event(body, TELEGRAM)
        assert event.recipient is None and event.person is not None
        assert (event.person.email, event.person.requester) == (
            "jan@example.com",
            "zendesk:8447388090494",
        )

    def test_no_channel_says_to_add_it_to_the_url(self) -> None:
        with pytest.raises(InvalidEvent) as raised:
            zendesk_event(ZENDESK_TRIGGER, {})
        assert raised.value.problems[0].field == "channel"
        assert "?channel=telegram" in raised.value.message

    def test_a_missing_ticket_id_is_named_as_the_body_names_it(self) -> None:
        with pytest.raises(InvalidEvent) as raised:
            zendesk_event(changed(ZENDESK_TRIGGER, "ticket.id", None), TELEGRAM)
        assert [p.field for p in raised.value.problems] == ["ticket.id"]

    def test_a_status_changed_event_maps_its_detail(self) -> None:
        event = zendesk_event(ZENDESK_STATUS_CHANGED, TELEGRAM)
        assert (event.type, event.case_id, event.recipient) == ("case.closed", "35437", "1001")
        assert (event.team, event.agent, event.tags, event.priority) == (
            "8447320466078",
            "8447388090494",
            ("refund", "eu"),
            "low",
        )
        assert event.occurred_at == datetime(2026, 11, 22, 12, 0)
        assert event.attributes["requester_id"] == "8447388090494"

    def test_a_status_changed_event_with_a_current_object(self) -> None:
        body = changed(ZENDESK_STATUS_CHANGED, "event.current", {"status": "Solved"})
        assert zendesk_event(body, TELEGRAM).type == "case.solved"

    def test_an_event_without_external_id_names_the_requester(self) -> None:
        body = changed(ZENDESK_STATUS_CHANGED, "detail.external_id", "")
        event = zendesk_event(body, TELEGRAM)
        assert event.recipient is None and event.person is not None
        assert event.person.requester == "zendesk:8447388090494"

    def test_an_event_without_external_id_or_requester_says_what_to_do(self) -> None:
        body = changed(ZENDESK_STATUS_CHANGED, "detail.external_id", "")
        body["detail"]["requester_id"] = "0"
        with pytest.raises(InvalidEvent) as raised:
            zendesk_event(body, TELEGRAM)
        assert raised.value.problems[0].field == "detail.external_id"

    def test_user_events_are_refused(self) -> None:
        body = {**ZENDESK_STATUS_CHANGED, "type": "zen:event-type:user.active_changed"}
        with pytest.raises(InvalidEvent) as raised:
            zendesk_event(body, TELEGRAM)
        assert "ticket events" in raised.value.message

    def test_a_body_of_another_shape_is_refused(self) -> None:
        with pytest.raises(InvalidEvent) as raised:
            zendesk_event({"id": 1}, TELEGRAM)
        assert raised.value.problems[0].field == "ticket"


class TestFreshdesk:
    def test_the_documented_body_maps_group_agent_tags_and_priority(self) -> None:
        event = freshdesk_event(FRESHDESK_ADVANCED, TELEGRAM)
        assert (event.type, event.case_id, event.recipient) == ("case.solved", "4711", "1001")
        assert (event.team, event.agent, event.tags, event.priority) == (
            "Logistics",
            "Piotr Zieliński",
            ("vip", "late delivery"),
            "urgent",
        )

    @pytest.mark.parametrize(
        ("status", "priority", "expected"),
        [("4", "1", ("case.solved", "low")), ("5", "4", ("case.closed", "urgent"))],
    )
    def test_numeric_codes_are_read(self, status: str, priority: str, expected: Any) -> None:
        body = changed(FRESHDESK_ADVANCED, "ticket.status", status)
        body["ticket"]["priority"] = priority
        event = freshdesk_event(body, TELEGRAM)
        assert (event.type, event.priority) == expected

    def test_simple_content_works_for_slack_by_email(self) -> None:
        event = freshdesk_event(FRESHDESK_SIMPLE, {"channel": "slack"})
        assert (event.type, event.case_id, event.recipient) == (
            "case.closed",
            "4712",
            "jan@example.com",
        )
        assert (event.team, event.agent, event.tags) == ("Billing", "Ana Novak", ())

    def test_simple_content_names_the_person_by_email_for_telegram(self) -> None:
        event = freshdesk_event(FRESHDESK_SIMPLE, TELEGRAM)
        assert event.recipient is None and event.person is not None
        assert event.person.email == "jan@example.com"

    def test_simple_content_without_email_has_no_identity_and_says_so(self) -> None:
        body = changed(FRESHDESK_SIMPLE, "freshdesk_webhook.ticket_contact_email", None)
        with pytest.raises(InvalidEvent) as raised:
            freshdesk_event(body, TELEGRAM)
        assert raised.value.code == "missing_identity"
        assert raised.value.problems[0].field == "ticket.recipient"

    def test_a_missing_status_names_the_placeholder(self) -> None:
        with pytest.raises(InvalidEvent) as raised:
            freshdesk_event(changed(FRESHDESK_ADVANCED, "ticket.status", None), TELEGRAM)
        assert "{{ticket.status}}" in raised.value.message
