"""Help desk webhook bodies shaped as the help desks' documentation shapes them."""

from __future__ import annotations

from typing import Any

# The trigger body the README asks Zendesk admins to paste, as Zendesk renders it
# ({{ticket.tags}} space-separated, {{ticket.status}} and {{ticket.priority}} capitalised).
ZENDESK_TRIGGER: dict[str, Any] = {
    "ticket": {
        "id": "35436",
        "status": "Solved",
        "priority": "High",
        "tags": "vip renewal",
        "group": "Billing",
        "assignee": "Ana Novak",
        "updated_at": "2026-11-22T12:00Z",
        "requester": {"external_id": "1001", "email": "jan@example.com"},
    }
}

# A webhook subscribed to Zendesk ticket events (developer docs: webhook event types).
ZENDESK_STATUS_CHANGED: dict[str, Any] = {
    "type": "zen:event-type:ticket.status_changed",
    "account_id": 12514403,
    "id": "2b24ef10-19d4-4740-93cf-8f98ec4776c0",
    "time": "2026-11-22T12:00:00Z",
    "zendesk_event_version": "2022-11-06",
    "subject": "zen:ticket:35437",
    "detail": {
        "actor_id": "8447388090494",
        "assignee_id": "8447388090494",
        "brand_id": "8447346621310",
        "created_at": "2026-11-20T09:00:00Z",
        "description": "Refund did not arrive",
        "external_id": "1001",
        "form_id": "8646151517822",
        "group_id": "8447320466078",
        "id": "35437",
        "is_public": True,
        "organization_id": "0",
        "priority": "LOW",
        "requester_id": "8447388090494",
        "status": "CLOSED",
        "subject": "Refund",
        "submitter_id": "8447388090494",
        "tags": ["refund", "eu"],
        "type": "INCIDENT",
        "updated_at": "2026-11-22T12:00:00Z",
        "via": {"channel": "web_service"},
    },
    "event": {"current": "CLOSED", "previous": "SOLVED"},
}

# The Freshdesk automation webhook body the README asks admins to write (Advanced, JSON),
# rendered: {{ticket.status}} and {{ticket.priority}} give names, {{ticket.tags}} commas.
FRESHDESK_ADVANCED: dict[str, Any] = {
    "ticket": {
        "id": "4711",
        "status": "Resolved",
        "priority": "Urgent",
        "tags": "vip, late delivery",
        "group": "Logistics",
        "agent": "Piotr Zieliński",
        "recipient": "1001",
        "requester": {"email": "jan@example.com"},
    }
}

# "Simple" webhook content: the ticked fields under freshdesk_webhook, ticket_* keys.
FRESHDESK_SIMPLE: dict[str, Any] = {
    "freshdesk_webhook": {
        "ticket_id": 4712,
        "ticket_status": "Closed",
        "ticket_priority": "Low",
        "ticket_tags": "",
        "ticket_group_name": "Billing",
        "ticket_agent_name": "Ana Novak",
        "ticket_contact_email": "jan@example.com",
    }
}

# A Chatwoot account webhook's conversation_status_changed, as Chatwoot builds it (the
# conversation's push data: Conversations::EventDataPresenter, plus event and changes), for a
# conversation in a Telegram inbox: the contact inbox's source id is the Telegram user id.
CHATWOOT_RESOLVED: dict[str, Any] = {
    "event": "conversation_status_changed",
    "id": 512,
    "inbox_id": 7,
    "account": {"id": 3, "name": "Acme"},
    "channel": "Channel::Telegram",
    "status": "resolved",
    "priority": "High",
    "labels": ["vip", "refund"],
    "can_reply": True,
    "additional_attributes": {"chat_id": 1001},
    "custom_attributes": {"plan": "pro"},
    "contact_inbox": {"id": 90, "contact_id": 44, "inbox_id": 7, "source_id": "1001"},
    "meta": {
        "sender": {
            "id": 44,
            "name": "Jan Kowalski",
            "email": "jan@example.com",
            "phone_number": None,
            "identifier": None,
            "type": "contact",
            "additional_attributes": {"username": "jank", "language_code": "pl"},
        },
        "assignee": {"id": 2, "name": "Ana Novak", "type": "user"},
        "assignee_type": "User",
        "team": {"id": 5, "name": "Billing"},
        "hmac_verified": False,
    },
    "messages": [],
    "unread_count": 0,
    "timestamp": 1795348800,  # 2026-11-22 12:00 UTC
    "created_at": 1795262400,
    "changed_attributes": [{"status": {"previous_value": "open", "current_value": "resolved"}}],
}

# The same event from an email inbox: the contact is known by email only.
CHATWOOT_EMAIL_RESOLVED: dict[str, Any] = {
    **CHATWOOT_RESOLVED,
    "id": 513,
    "inbox_id": 8,
    "channel": "Channel::Email",
    "additional_attributes": {},
    "contact_inbox": {"id": 91, "contact_id": 44, "inbox_id": 8, "source_id": "jan@example.com"},
}
