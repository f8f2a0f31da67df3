"""SlackChannel: the Channel port spoken through the Slack Web API, in direct messages."""

from __future__ import annotations

import logging
import re

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.channel import Recipient
from bot.errors import DeliveryFailed, InvalidRecipient
from bot.runner import supported_language
from bot.slack.blocks import answered_blocks, prompt_blocks, prompt_text
from surveys.conversation import Prompt

log = logging.getLogger(__name__)

USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
# Errors that will not go away by trying again later.
PERMANENT = frozenset(
    {"not_in_channel", "user_not_found", "account_inactive", "channel_not_found", "is_archived"}
)
# chat.update refusals for a message we can no longer edit: the answer is saved anyway.
UNEDITABLE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})


def _code(error: SlackApiError) -> str:
    return str(error.response.get("error") or "unknown_error")


class SlackChannel:
    """Sends prompts as Block Kit messages in the customer's DM with the app.

    An invitation's address is the Slack user id; message refs are ``<channel id>:<ts>``.
    """

    name = "slack"

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def resolve_recipient(self, recipient: str, user: str | None) -> Recipient:
        value = recipient.strip()
        if "@" in value:
            user_id = await self._lookup_email(value)
        elif USER_ID.match(value):
            user_id = value
        else:
            raise InvalidRecipient(
                f"recipient must be a Slack user id such as U012AB3CD or an email, not {value!r}"
            )
        if user is not None and user.strip() != user_id:
            raise InvalidRecipient(
                "Slack invitations go to the customer's DM: leave out user, or give the same id"
            )
        return Recipient(address=user_id, external_id=user_id, language=await self._locale(user_id))

    async def _lookup_email(self, email: str) -> str:
        try:
            found = await self.client.users_lookupByEmail(email=email)
        except SlackApiError as error:
            if _code(error) in ("users_not_found", "invalid_email"):
                raise InvalidRecipient(
                    f"no Slack user in this workspace has the email {email!r}"
                ) from None
            raise _delivery_failed(error) from error
        return str(found["user"]["id"])

    async def _locale(self, user_id: str) -> str | None:
        try:
            info = await self.client.users_info(user=user_id, include_locale=True)
        except SlackApiError as error:
            # The language is a nicety: the survey's default serves if Slack will not say.
            log.info("slack: no locale for %s: %s", user_id, _code(error))
            return None
        return supported_language(info["user"].get("locale"))

    async def _dm(self, user_id: str) -> str:
        opened = await self.client.conversations_open(users=user_id)
        return str(opened["channel"]["id"])

    async def send_prompt(self, address: str, invitation_id: int, prompt: Prompt) -> str:
        try:
            channel = await self._dm(address)
            sent = await self.client.chat_postMessage(
                channel=channel,
                text=prompt_text(prompt),
                blocks=prompt_blocks(invitation_id, prompt),
            )
        except SlackApiError as error:
            raise _delivery_failed(error) from error
        return f"{sent['channel']}:{sent['ts']}"

    async def close_prompt(
        self, address: str, message_ref: str, prompt: Prompt, answer: str | None
    ) -> None:
        channel, _, ts = message_ref.partition(":")
        try:
            await self.client.chat_update(
                channel=channel,
                ts=ts,
                text=f"{prompt.text}\n\n{answer}" if answer else prompt.text,
                blocks=answered_blocks(prompt, answer),
            )
        except SlackApiError as error:
            if _code(error) in UNEDITABLE:
                log.info("slack: could not update %s: %s", message_ref, _code(error))
                return
            raise _delivery_failed(error) from error

    async def send_text(self, address: str, text: str) -> None:
        try:
            await self.client.chat_postMessage(channel=await self._dm(address), text=text)
        except SlackApiError as error:
            raise _delivery_failed(error) from error


def _delivery_failed(error: SlackApiError) -> DeliveryFailed:
    code = _code(error)
    return DeliveryFailed(f"slack: {code}", permanent=code in PERMANENT)
