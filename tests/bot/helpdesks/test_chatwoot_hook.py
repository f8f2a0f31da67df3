"""Chatwoot's webhook: the payload mapped to an event, and Chatwoot's signature checked."""

from __future__ import annotations

import copy
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from bot.helpdesks.chatwoot import ChatwootSignature, chatwoot_event, chatwoot_signature
from bot.triggers.auth import Credentials, authenticate
from bot.triggers.errors import InvalidEvent
from tests.bot.triggers.payloads import CHATWOOT_EMAIL_RESOLVED, CHATWOOT_RESOLVED

NOW = datetime(2026, 11, 22, 12, 0, 0)
BODY = b'{"event": "conversation_status_changed"}'


def signed(body: bytes, at: datetime, secret: str = "cw-secret") -> dict[str, str]:
    stamp = str(int(at.replace(tzinfo=UTC).timestamp()))
    return {
        "X-Chatwoot-Signature": chatwoot_signature(body, stamp, secret),
        "X-Chatwoot-Timestamp": stamp,
    }


class TestEvent:
    def test_a_resolved_telegram_conversation_maps_contact_team_assignee_and_labels(
        self,
    ) -> None:
        event = chatwoot_event(CHATWOOT_RESOLVED, {})
        assert (event.type, event.case_id, event.channel, event.recipient) == (
            "case.solved",
            "512",
            "telegram",
            "1001",
        )
        assert (event.team, event.agent, event.tags, event.priority) == (
            "Billing",
            "Ana Novak",
            ("vip", "refund"),
            "high",
        )
        assert event.occurred_at == datetime(2026, 11, 22, 12, 0)
        assert event.attributes == {
            "helpdesk": "chatwoot",
            "event": "conversation_status_changed",
            "status": "resolved",
            "account_id": "3",
            "inbox_id": "7",
            "inbox_channel": "Channel::Telegram",
            "requester_id": "44",
        }

    def test_a_telegram_inbox_is_telegram_whatever_the_url_says(self) -> None:
        assert chatwoot_event(CHATWOOT_RESOLVED, {"channel": "slack"}).channel == "telegram"

    def test_the_chat_id_stands_in_when_the_source_id_is_missing(self) -> None:
        body = copy.deepcopy(CHATWOOT_RESOLVED)
        del body["contact_inbox"]
        assert chatwoot_event(body, {}).recipient == "1001"

    def test_an_email_inbox_reaches_slack_by_the_contacts_email(self) -> None:
        event = chatwoot_event(CHATWOOT_EMAIL_RESOLVED, {"channel": "slack"})
        assert (event.channel, event.recipient, event.case_id) == (
            "slack",
            "jan@example.com",
            "513",
        )

    def test_an_email_inbox_to_telegram_names_the_person(self) -> None:
        event = chatwoot_event(CHATWOOT_EMAIL_RESOLVED, {"channel": "telegram"})
        assert event.recipient is None and event.person is not None
        assert (event.person.email, event.person.requester) == ("jan@example.com", "chatwoot:44")

    def test_a_contact_nobody_knows_anything_of_says_what_is_missing(self) -> None:
        body = copy.deepcopy(CHATWOOT_EMAIL_RESOLVED)
        body["meta"]["sender"] = {"type": "contact"}
        with pytest.raises(InvalidEvent) as raised:
            chatwoot_event(body, {"channel": "telegram"})
        assert raised.value.code == "missing_identity"
        assert raised.value.known == {
            "case_id": "513",
            "type": "case.solved",
            "channel": "telegram",
            "team": "Billing",
        }

    def test_an_email_inbox_without_a_channel_in_the_url_asks_for_one(self) -> None:
        with pytest.raises(InvalidEvent, match=r"\?channel=telegram"):
            chatwoot_event(CHATWOOT_EMAIL_RESOLVED, {})

    def test_the_older_conversation_resolved_event_is_taken(self) -> None:
        body = {**CHATWOOT_RESOLVED, "event": "conversation_resolved"}
        assert chatwoot_event(body, {}).type == "case.solved"

    def test_a_reopened_conversation_is_its_own_event_type(self) -> None:
        assert chatwoot_event({**CHATWOOT_RESOLVED, "status": "open"}, {}).type == "case.open"

    def test_other_events_are_refused_saying_what_to_subscribe(self) -> None:
        with pytest.raises(InvalidEvent) as raised:
            chatwoot_event({**CHATWOOT_RESOLVED, "event": "message_created"}, {})
        assert "Conversation Status Changed" in raised.value.message
        assert raised.value.known["case_id"] == "512"

    def test_nothing_filled_in_is_absent(self) -> None:
        body = {**CHATWOOT_RESOLVED, "labels": [], "priority": None, "meta": {}}
        body["contact_inbox"] = CHATWOOT_RESOLVED["contact_inbox"]
        event = chatwoot_event(body, {})
        assert (event.team, event.agent, event.tags, event.priority) == (None, None, (), None)


class TestSignature:
    def test_the_signed_string_is_the_timestamp_a_dot_and_the_body(self) -> None:
        # Computed here with hmac directly, as a receiver following Chatwoot's docs would.
        expected = hmac.new(b"cw-secret", b"1795348800." + BODY, hashlib.sha256).hexdigest()
        assert chatwoot_signature(BODY, "1795348800", "cw-secret") == f"sha256={expected}"

    def test_a_fresh_signature_lets_the_request_in(self) -> None:
        accepted = Credentials(None, None, ChatwootSignature("cw-secret"))
        assert (
            authenticate(signed(BODY, NOW - timedelta(minutes=4)), BODY, accepted, now=NOW) is None
        )

    @pytest.mark.parametrize(
        ("headers", "expected"),
        [
            (signed(BODY, NOW - timedelta(minutes=6)), "more than 5 minutes"),
            (signed(BODY, NOW, "other"), "does not match"),
            (signed(b"{}", NOW), "does not match"),
            ({"X-Chatwoot-Signature": "sha256=00"}, "unix seconds"),
        ],
        ids=["stale", "other-secret", "other-body", "no-timestamp"],
    )
    def test_a_wrong_signature_is_401_saying_why(
        self, headers: dict[str, str], expected: str
    ) -> None:
        accepted = Credentials("token", None, ChatwootSignature("cw-secret"))
        denied = authenticate(headers, BODY, accepted, now=NOW)
        assert denied is not None and denied.status == 401
        assert expected in denied.message
