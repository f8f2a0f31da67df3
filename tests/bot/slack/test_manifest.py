"""The Slack app manifest grants every scope the Web API methods cxbot calls need."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[3]
MANIFEST = ROOT / "bot" / "slack" / "manifest.yaml"
# The scope each Web API method needs (api.slack.com/methods/<method>, "Required scopes");
# None: the method needs none (views.open takes the trigger_id of the user's own tap).
SCOPES: dict[str, str | None] = {
    "chat_postMessage": "chat:write",
    "chat_postEphemeral": "chat:write",
    "chat_update": "chat:write",
    "conversations_open": "im:write",
    "files_upload_v2": "files:write",
    "files_getUploadURLExternal": "files:write",
    "files_completeUploadExternal": "files:write",
    "users_info": "users:read",
    "users_lookupByEmail": "users:read.email",
    "views_open": None,
}
# Calls on a Slack client (``client.chat_postMessage(``), not any name that looks like one.
CALL = re.compile(
    r"client\.((?:auth|chat|conversations|files|users|views|reactions)_[A-Za-z0-9_]+)\("
)


def methods_called() -> set[str]:
    found: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        found |= set(CALL.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_method_called_has_its_scope_in_the_manifest() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    granted = set(manifest["oauth_config"]["scopes"]["bot"])
    called = methods_called()
    unknown = called - set(SCOPES)
    assert not unknown, f"add the scope of {sorted(unknown)} to SCOPES (and the manifest)"
    missing = {
        method: needed
        for method in called
        if (needed := SCOPES[method]) is not None and needed not in granted
    }
    assert not missing, f"manifest.yaml lacks scopes: {missing}"
    # Charts and exports are uploaded: without files:write Slack answers missing_scope.
    assert {"files_getUploadURLExternal", "files_upload_v2"} <= called
    assert "commands" in granted
    # The comment modal of a survey in a channel.
    assert "views_open" in called


def test_channel_messages_are_not_subscribed() -> None:
    # Answers in a channel come from buttons and the comment modal, never from what anyone
    # types there: cxbot neither asks for channel messages nor has the scopes to read them.
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["message.im"]
    granted = set(manifest["oauth_config"]["scopes"]["bot"])
    assert not granted & {"channels:history", "groups:history", "mpim:history"}
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
