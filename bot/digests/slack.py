"""Digests in a Slack channel: the text as a message, then each chart uploaded there."""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.admin.replies import AdminReply
from bot.digests.errors import DigestNotPosted
from bot.digests.turns import DigestTurn
from bot.slack.markup import escaped

# The channel will not take it until someone changes something there.
PERMANENT = frozenset({"channel_not_found", "not_in_channel", "is_archived", "invalid_auth"})


class SlackDigests:
    """The DigestPoster of Slack: the app must be a member of the channel. Each message goes
    after its ``turn`` (bot/digests/turns.py) when given."""

    channel = "slack"

    def __init__(self, client: AsyncWebClient, turn: DigestTurn | None = None) -> None:
        self.client = client
        self.turn = turn

    async def post(self, address: str, reply: AdminReply) -> None:
        try:
            if reply.text.strip():
                await self._turn(address)
                await self.client.chat_postMessage(channel=address, text=escaped(reply.text))
            for attachment in reply.attachments:
                if attachment.data is None:
                    continue  # digests carry charts only, never exports
                await self._turn(address)
                await self.client.files_upload_v2(
                    channel=address,
                    file=attachment.data,
                    filename=attachment.filename,
                    title=attachment.filename,
                )
        except SlackApiError as error:
            code = str(error.response.get("error", "")) if error.response is not None else ""
            raise DigestNotPosted(f"slack: {code}", permanent=code in PERMANENT) from error
        finally:
            reply.discard()

    async def _turn(self, address: str) -> None:
        if self.turn is not None:
            await self.turn(address)
