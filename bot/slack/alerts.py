"""Detractor alerts in a Slack channel: Block Kit message, button actions, chat.update."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerts import (
    AlertNotDelivered,
    AlertView,
    DetractorAlerts,
    FollowupAction,
    Posted,
    Staff,
    pack_button,
    unpack_button,
)
from bot.alerts.service import BAD_BUTTON
from bot.slack.markup import escaped

log = logging.getLogger(__name__)

CHANNEL = "slack"
ACTION_IDS = {FollowupAction.CLAIM: "cx_fu_claim", FollowupAction.RESOLVE: "cx_fu_resolve"}
# plain_text in a section block holds at most 3000 characters.
MAX_SECTION = 3000


def _code(error: SlackApiError) -> str:
    return str(error.response.get("error") or "unknown_error")


def alert_blocks(view: AlertView) -> list[dict[str, Any]]:
    # plain_text needs no escaping of the customer's comment (mrkdwn would read <, >, &).
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "plain_text", "text": view.text[:MAX_SECTION], "emoji": True},
        }
    ]
    if view.actions:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"cx_fu_{view.followup_id}",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": action.label},
                        "action_id": ACTION_IDS[action],
                        "value": pack_button(view.followup_id, action),
                        **({"style": "primary"} if action is FollowupAction.CLAIM else {}),
                    }
                    for action in view.actions
                ],
            }
        )
    return blocks


class SlackAlerts:
    """The AlertBoard of a Slack channel (the app must be a member of it)."""

    channel = CHANNEL

    def __init__(self, client: AsyncWebClient, address: str) -> None:
        self.client = client
        self.address = address.strip()

    async def post(self, view: AlertView) -> Posted:
        try:
            sent = await self.client.chat_postMessage(
                channel=self.address, text=escaped(view.text), blocks=alert_blocks(view)
            )
        except SlackApiError as error:
            raise AlertNotDelivered(f"slack: {_code(error)}") from error
        # Slack answers with the channel id even when the setting names the channel otherwise.
        return Posted(CHANNEL, str(sent["channel"]), str(sent["ts"]))

    async def edit(self, posted: Posted, view: AlertView) -> None:
        try:
            await self.client.chat_update(
                channel=posted.address,
                ts=posted.ref,
                text=escaped(view.text),
                blocks=alert_blocks(view),
            )
        except SlackApiError as error:
            raise AlertNotDelivered(f"slack: {_code(error)}") from error


def register_alerts(app: AsyncApp, alerts: DetractorAlerts) -> None:
    """Button presses on alerts. Register before the survey listeners: their ``^cx_`` pattern
    would take these actions too, and bolt runs only the first listener that matches."""
    client = app.client

    @app.action(re.compile(f"^({'|'.join(ACTION_IDS.values())})$"))
    async def on_press(ack: AsyncAck, body: dict[str, Any], action: dict[str, Any]) -> None:
        await ack()
        person = body.get("user") or {}
        user = str(person.get("id", ""))
        channel = str(
            (body.get("channel") or {}).get("id")
            or (body.get("container") or {}).get("channel_id")
            or ""
        )
        button = unpack_button(str(action.get("value", "")))
        if button is None:
            notice = BAD_BUTTON
        else:
            followup_id, pressed = button
            name = str(person.get("name") or person.get("username") or user)
            staff = Staff(CHANNEL, user, name)
            notice = await alerts.press(followup_id, pressed, staff, address=channel)
        if channel and user:
            await client.chat_postEphemeral(channel=channel, user=user, text=notice)
