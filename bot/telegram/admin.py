"""Admin commands in Telegram (/nps, /report, /export, /forget, ...): translate the message
for AdminCommands and send its reply: text, charts as photos, exports as documents."""

from __future__ import annotations

import asyncio
import gzip
import re
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject, Filter
from aiogram.types import BufferedInputFile, FSInputFile, InputFile, Message

from bot.admin.commands import COMMANDS, AdminCommands
from bot.admin.replies import Actor, AdminReply, Attachment

CHANNEL = "telegram"
ANY_COMMAND = re.compile(r"^[A-Za-z0-9_]{1,32}$")
MAX_TEXT = 4096
MAX_CAPTION = 1024
# Bots may upload files of up to 50 MB; a bigger export goes gzipped.
MAX_UPLOAD = 50 * 1024 * 1024
# Awaited before each message of a reply (see send_reply).
Before = Callable[[], Awaitable[None]]
PRIVATE_ONLY = (
    "Send /forget in a private chat with me: it deletes your comments and identity "
    "without telling this group."
)


def actor_of(message: Message) -> Actor | None:
    user = message.from_user
    if user is None or user.is_bot:
        return None
    return Actor(CHANNEL, str(user.id), user.full_name, chat=str(message.chat.id))


class RoutesToAdmin(Filter):
    """Lets a command through to the admin router, or lets it fall to the survey router (a
    stranger's /help is the customer's help)."""

    def __init__(self, commands: AdminCommands) -> None:
        self.commands = commands

    async def __call__(self, message: Message) -> bool:
        actor = actor_of(message)
        return actor is not None and self.commands.routes_here(actor, message.text or "")


def build_admin_router(commands: AdminCommands) -> Router:
    """Include BEFORE the survey router: its /help and its catch-all would answer first."""
    router = Router(name="admin")

    @router.message(Command(*COMMANDS, "whoami", ignore_case=True), RoutesToAdmin(commands))
    async def on_command(message: Message, command: CommandObject, bot: Bot) -> None:
        actor = actor_of(message)
        assert actor is not None  # RoutesToAdmin let it through
        name = command.command.lower()
        if name == "forget" and not command.args and message.chat.type != "private":
            await message.answer(PRIVATE_ONLY)
            return
        reply = await commands.handle(actor, f"{name} {command.args or ''}")
        if name == "whoami":  # the chat's id too: CXBOT_ALERT_TELEGRAM_CHAT names a chat
            reply = AdminReply(f"{reply.text}\nThis chat's id: {message.chat.id}")
        await send_reply(bot, message.chat.id, reply)

    @router.message(Command(ANY_COMMAND), AddressedToMe(), RoutesToAdmin(commands))
    async def on_unknown(message: Message, command: CommandObject, bot: Bot) -> None:
        actor = actor_of(message)
        assert actor is not None  # RoutesToAdmin let it through
        reply = await commands.handle(actor, f"{command.command} {command.args or ''}")
        await send_reply(bot, message.chat.id, reply)

    return router


class AddressedToMe(Filter):
    """A command in a private chat, or one that names this bot (``/nsp@cxbot``): in a group
    a bare unknown command may be another bot's."""

    async def __call__(self, message: Message, command: CommandObject) -> bool:
        return message.chat.type == "private" or command.mention is not None


def chunks(text: str, limit: int = MAX_TEXT) -> list[str]:
    """``text`` as messages Telegram accepts: split at line ends, an over-long line cut."""
    parts: list[str] = []
    current: list[str] = []
    size = 0  # len("\n".join(current))
    for line in text.split("\n"):
        for piece in [line[i : i + limit] for i in range(0, len(line), limit)] or [""]:
            if current and size + 1 + len(piece) > limit:
                parts.append("\n".join(current))
                current = []
            size = size + 1 + len(piece) if current else len(piece)
            current.append(piece)
    parts.append("\n".join(current))
    return [part for part in parts if part.strip()]


async def send_reply(
    bot: Bot, chat_id: int, reply: AdminReply, *, before: Before | None = None
) -> None:
    """Send the text, then each attachment; temporary files are deleted whatever happens.
    ``before`` is awaited before each message (a digest's turn in the rate limits)."""
    try:
        for part in chunks(reply.text):
            if before is not None:
                await before()
            await bot.send_message(chat_id, part)
        for attachment in reply.attachments:
            if before is not None:
                await before()
            await _send_attachment(bot, chat_id, attachment)
    finally:
        reply.discard()


async def _send_attachment(bot: Bot, chat_id: int, attachment: Attachment) -> None:
    caption = attachment.caption[:MAX_CAPTION] or None
    if attachment.kind == "photo" and attachment.data is not None:
        photo = BufferedInputFile(attachment.data, attachment.filename)
        await bot.send_photo(chat_id, photo, caption=caption)
        return
    if attachment.path is None:
        assert attachment.data is not None
        await bot.send_document(
            chat_id, BufferedInputFile(attachment.data, attachment.filename), caption=caption
        )
        return
    path, filename = attachment.path, attachment.filename
    packed: Path | None = None
    try:
        if path.stat().st_size > MAX_UPLOAD:
            packed = await asyncio.to_thread(_gzip, path)
            path, filename = packed, f"{filename}.gz"
        if path.stat().st_size > MAX_UPLOAD:
            megabytes = path.stat().st_size / 1024 / 1024
            await bot.send_message(
                chat_id,
                f"The export is {megabytes:.0f} MB even gzipped, above Telegram's 50 MB limit "
                "for bots: ask for a shorter period or more filters.",
            )
            return
        # FSInputFile streams the file from disk in chunks: the export is never all in memory.
        document: InputFile = FSInputFile(path, filename=filename)
        await bot.send_document(chat_id, document, caption=caption)
    finally:
        if packed is not None:
            packed.unlink(missing_ok=True)


def _gzip(path: Path) -> Path:
    target = path.with_name(path.name + ".gz")
    with path.open("rb") as source, gzip.open(target, "wb") as sink:
        shutil.copyfileobj(source, sink)
    return target
