"""Admin commands under Slack's ``/cx`` (``/cx nps 30d team=billing``): translate the slash
command for AdminCommands, answer ephemerally in that channel, upload charts and exports to the
admin's direct messages with the app."""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.admin.commands import AdminCommands, prefix, split_command
from bot.admin.replies import Actor, AdminReply, Attachment
from bot.background import Background
from bot.errors import DeliveryFailed
from bot.slack.markup import escaped

log = logging.getLogger(__name__)

CHANNEL = "slack"
# Where cxbot cannot post (a channel it was not added to), the reply goes to a DM instead.
NOT_THERE = frozenset({"channel_not_found", "not_in_channel", "is_archived"})
# How long shutting down waits for commands still being answered (an export, say).
CLOSE_TIMEOUT_S = 30.0
FAILED = "cxbot could not answer {typed}{text}: something went wrong on its side (logged)."


class SlackAdmin:
    """Answers the ``/cx`` commands meant for AdminCommands; the rest stay with the surveys.

    A command is answered in the background once Slack has its acknowledgement: Slack shows
    the admin an error after 3 seconds without one, and an export can take longer.
    """

    def __init__(self, client: AsyncWebClient, commands: AdminCommands) -> None:
        self.client = client
        self.commands = commands
        self._background = Background(CLOSE_TIMEOUT_S)

    async def answer(self, command: dict[str, Any]) -> bool:
        """Take this slash command if it is an admin command (or /cx forget); False if not:
        a customer's bare ``/cx`` shows their waiting question again."""
        text = str(command.get("text") or "").strip()
        channel = str(command.get("channel_id") or "")
        name = str(command.get("user_name") or "")
        actor = Actor(CHANNEL, str(command["user_id"]), name, chat=channel)
        if not text or not self.commands.routes_here(actor, text):
            return False
        self._background.spawn(self._run(actor, channel, text), f"/cx {text[:40]}")
        return True

    async def _run(self, actor: Actor, channel: str, text: str) -> None:
        try:
            reply = await self.commands.handle(actor, text)
            if split_command(text)[0] == "whoami" and channel:
                # The channel's id too: CXBOT_ALERT_SLACK_CHANNEL names a channel.
                reply = AdminReply(f"{reply.text}\nThis channel's id: {channel}")
            await self.send(channel, actor.user_id, reply)
        except Exception:
            log.exception("slack command /cx %s of %s failed", text, actor.label)
            failed = FAILED.format(typed=prefix(CHANNEL), text=text)
            with contextlib.suppress(Exception):
                await self._say(channel, actor.user_id, failed)

    async def drain(self) -> None:
        """Wait until every command taken so far is answered (or has failed)."""
        await self._background.drain()

    async def close(self) -> None:
        """Let commands being answered finish, for a while; then cancel the rest."""
        await self._background.close()

    async def send(self, channel: str, user: str, reply: AdminReply) -> None:
        """The text only ``user`` sees, in ``channel``; then each file in the user's direct
        messages with the app, since a file in a channel is seen by all of its members. Where
        cxbot cannot post (it was not added to that channel) the text goes there too."""
        try:
            direct: str | None = None
            if reply.attachments:
                direct = await self._direct(user)
            text = reply.text.strip()
            if direct is not None and channel != direct:
                note = "The files are in your direct messages with cxbot."
                text = f"{text}\n{note}" if text else note
            if text:
                await self._say(channel, user, text)
            for attachment in reply.attachments:
                assert direct is not None
                await self._upload(direct, attachment)
        finally:
            reply.discard()

    async def _say(self, channel: str, user: str, text: str) -> str:
        try:
            await self.client.chat_postEphemeral(channel=channel, user=user, text=escaped(text))
            return channel
        except SlackApiError as error:
            if _code(error) not in NOT_THERE:
                raise
        direct = await self._direct(user)
        await self.client.chat_postMessage(channel=direct, text=escaped(text))
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
                initial_comment=escaped(attachment.caption) or None,
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
            initial_comment=escaped(attachment.caption) or None,
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
