"""Admin commands under Slack's ``/cx`` (``/cx nps 30d team=billing``): translate the slash
command for AdminCommands, answer ephemerally in that channel, upload charts and exports."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.admin.commands import AdminCommands
from bot.admin.replies import Actor, AdminReply, Attachment
from bot.errors import DeliveryFailed

log = logging.getLogger(__name__)

CHANNEL = "slack"
# Where cxbot cannot post (a channel it was not added to), the reply goes to a DM instead.
NOT_THERE = frozenset({"channel_not_found", "not_in_channel", "is_archived"})


class SlackAdmin:
    """Answers the ``/cx`` commands meant for AdminCommands; the rest stay with the surveys."""

    def __init__(self, client: AsyncWebClient, commands: AdminCommands) -> None:
        self.client = client
        self.commands = commands

    async def answer(self, command: dict[str, Any]) -> bool:
        """Handle this slash command if it is an admin command (or /cx forget); False if not:
        a customer's bare ``/cx`` shows their waiting question again."""
        text = str(command.get("text") or "").strip()
        actor = Actor(CHANNEL, str(command["user_id"]), str(command.get("user_name") or ""))
        if not text or not self.commands.routes_here(actor, text):
            return False
        reply = await self.commands.handle(actor, text)
        await self.send(str(command.get("channel_id") or ""), actor.user_id, reply)
        return True

    async def send(self, channel: str, user: str, reply: AdminReply) -> None:
        """The text only ``user`` sees, then each file into the same conversation; where cxbot
        cannot post (it was not added to that channel) all of it goes to a DM instead."""
        try:
            target = channel
            if reply.text.strip():
                target = await self._say(target, user, reply.text)
            for attachment in reply.attachments:
                target = await self._upload_anywhere(target, user, attachment)
        finally:
            reply.discard()

    async def _say(self, channel: str, user: str, text: str) -> str:
        try:
            await self.client.chat_postEphemeral(channel=channel, user=user, text=text)
            return channel
        except SlackApiError as error:
            if _code(error) not in NOT_THERE:
                raise
        direct = await self._direct(user)
        await self.client.chat_postMessage(channel=direct, text=text)
        return direct

    async def _upload_anywhere(self, channel: str, user: str, attachment: Attachment) -> str:
        try:
            await self._upload(channel, attachment)
            return channel
        except SlackApiError as error:
            if _code(error) not in NOT_THERE:
                raise
        direct = await self._direct(user)
        await self._upload(direct, attachment)
        return direct

    async def _direct(self, user: str) -> str:
        opened = await self.client.conversations_open(users=user)
        return str(opened["channel"]["id"])

    async def _upload(self, channel: str, attachment: Attachment) -> None:
        if attachment.path is None:
            assert attachment.data is not None
            await self.client.files_upload_v2(
                channel=channel,
                file=attachment.data,
                filename=attachment.filename,
                title=attachment.filename,
                initial_comment=attachment.caption or None,
            )
            return
        # files_upload_v2 reads a whole file into memory; an export is streamed instead, with
        # the same three steps: get an upload URL, POST the bytes to it, complete the upload.
        path = attachment.path
        ticket = await self.client.files_getUploadURLExternal(
            filename=attachment.filename, length=path.stat().st_size
        )
        await _post_file(str(ticket["upload_url"]), path, self.client)
        await self.client.files_completeUploadExternal(
            files=[{"id": str(ticket["file_id"]), "title": attachment.filename}],
            channel_id=channel,
            initial_comment=attachment.caption or None,
        )


async def _post_file(url: str, path: Path, client: AsyncWebClient) -> None:
    timeout = aiohttp.ClientTimeout(total=None, sock_read=client.timeout)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        with path.open("rb") as body:  # aiohttp sends a file object in chunks
            ssl = client.ssl if client.ssl is not None else True
            async with http.post(url, data=body, proxy=client.proxy, ssl=ssl) as response:
                if response.status != 200:
                    raise DeliveryFailed(
                        f"slack file upload answered {response.status}", permanent=False
                    )


def _code(error: SlackApiError) -> str:
    return str(error.response.get("error", "")) if error.response is not None else ""
