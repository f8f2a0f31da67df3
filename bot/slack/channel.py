"""SlackChannel: the Channel port spoken through the Slack Web API, in DMs and channels."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.channel import Recipient
from bot.errors import DeliveryFailed, InvalidRecipient
from bot.runner import supported_language
from bot.slack.address import FORMS, USER_ID, SlackAddress, channel_place
from bot.slack.blocks import answered_blocks, prompt_blocks, prompt_text
from surveys.conversation import Prompt
from surveys.messages import Message, message

log = logging.getLogger(__name__)

# Errors that will not go away by trying again later.
PERMANENT = frozenset(
    {
        "not_in_channel",
        "user_not_found",
        "user_not_in_channel",
        "account_inactive",
        "channel_not_found",
        "is_archived",
        "no_permission",
        "ekm_access_denied",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
    }
)
# chat.update refusals for a message we can no longer edit: the answer is saved anyway.
UNEDITABLE = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})


def _code(error: SlackApiError) -> str:
    return str(error.response.get("error") or "unknown_error")


class SlackChannel:
    """Sends prompts as Block Kit messages: in the customer's DM with the app, or in a channel
    (or a thread of it) for one named user, shared Slack Connect channels included.

    An invitation's address is a packed `SlackAddress`; message refs are ``<channel id>:<ts>``.
    In a channel the question mentions its user, and everything said to them alone (the
    answer they gave, thanks, refusals) is ephemeral: the channel sees the questions only.
    """

    name = "slack"

    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client

    async def resolve_recipient(self, recipient: str, user: str | None) -> Recipient:
        value = recipient.strip()
        place = channel_place(value)
        if place is None:
            user_id = await self._user_id(value, "recipient")
            if user is not None and user.strip() != user_id:
                raise InvalidRecipient(
                    "a Slack user id or email as recipient is a DM: leave out user, give the "
                    "same id, or make recipient the channel (C012AB3CD) to post there",
                    field="user",
                )
            address = SlackAddress(user_id)
        else:
            if user is None or not user.strip():
                raise InvalidRecipient(
                    f'recipient {value!r} is a Slack channel: add "user" with the customer\'s '
                    "Slack user id (U012AB3CD, also from a Slack Connect organisation) or "
                    "email, so that only they can answer",
                    field="user",
                )
            user_id = await self._user_id(user.strip(), "user")
            address = SlackAddress(user_id, place.channel, place.thread)
        return Recipient(
            address=address.pack(), external_id=user_id, language=await self._locale(user_id)
        )

    async def _user_id(self, value: str, field: str) -> str:
        if "@" in value:
            return await self._lookup_email(value, field)
        if USER_ID.match(value):
            return value
        if field == "user":
            raise InvalidRecipient(
                f"user must be a Slack user id such as U012AB3CD or an email, not {value!r}",
                field="user",
            )
        raise InvalidRecipient(f"recipient must be {FORMS}, not {value!r}")

    async def _lookup_email(self, email: str, field: str) -> str:
        try:
            found = await self.client.users_lookupByEmail(email=email)
        except SlackApiError as error:
            if _code(error) in ("users_not_found", "invalid_email"):
                raise InvalidRecipient(
                    f"no Slack user in this workspace has the email {email!r}", field=field
                ) from None
            raise _delivery_failed(error) from error
        return str(found["user"]["id"])

    async def _locale(self, user_id: str) -> str | None:
        try:
            info = await self.client.users_info(user=user_id, include_locale=True)
        except SlackApiError as error:
            # The language is a nicety: the survey's default serves if Slack will not say
            # (nor does it for every Slack Connect user).
            log.info("slack: no locale for %s: %s", user_id, _code(error))
            return None
        return supported_language(info["user"].get("locale"))

    async def _dm(self, user_id: str) -> str:
        opened = await self.client.conversations_open(users=user_id)
        return str(opened["channel"]["id"])

    async def send_prompt(self, address: str, invitation_id: int, prompt: Prompt) -> str:
        to = SlackAddress.parse(address)
        try:
            if to.channel is None:
                sent = await self.client.chat_postMessage(
                    channel=await self._dm(to.user),
                    text=prompt_text(prompt),
                    blocks=prompt_blocks(invitation_id, prompt),
                )
            else:
                sent = await self.client.chat_postMessage(
                    channel=to.channel,
                    thread_ts=to.thread,
                    text=prompt_text(prompt, for_user=to.user),
                    blocks=prompt_blocks(invitation_id, prompt, for_user=to.user),
                )
        except SlackApiError as error:
            raise _delivery_failed(error) from error
        return f"{sent['channel']}:{sent['ts']}"

    async def close_prompt(
        self, address: str, message_ref: str, prompt: Prompt, answer: str | None
    ) -> None:
        to = SlackAddress.parse(address)
        shown = answer
        if to.channel is not None and answer is not None:
            # The channel sees that the question was answered, never the answer; only the
            # survey's closing (the runner's one other line) is said to everyone.
            closed = answer == message(Message.CLOSED, prompt.language)
            shown = answer if closed else message(Message.ANSWERED, prompt.language)
        channel, _, ts = message_ref.partition(":")
        try:
            await self.client.chat_update(
                channel=channel,
                ts=ts,
                text=f"{prompt.text}\n\n{shown}" if shown else prompt.text,
                blocks=answered_blocks(prompt, shown),
            )
        except SlackApiError as error:
            if _code(error) not in UNEDITABLE:
                raise _delivery_failed(error) from error
            log.info("slack: could not update %s: %s", message_ref, _code(error))
        if answer is not None and shown != answer:
            await self._tell(to, answer)

    async def send_text(self, address: str, text: str) -> None:
        await self._tell(SlackAddress.parse(address), text)

    async def _tell(self, to: SlackAddress, text: str) -> None:
        """A message for the customer alone: in their DM, or ephemeral where they answer."""
        try:
            if to.channel is None:
                await self.client.chat_postMessage(channel=await self._dm(to.user), text=text)
            else:
                await self.client.chat_postEphemeral(
                    channel=to.channel, user=to.user, thread_ts=to.thread, text=text
                )
        except SlackApiError as error:
            raise _delivery_failed(error) from error


def _delivery_failed(error: SlackApiError) -> DeliveryFailed:
    code = _code(error)
    return DeliveryFailed(f"slack: {code}", permanent=code in PERMANENT)
