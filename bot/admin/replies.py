"""What an admin command gets and gives: the actor, and a reply of text and files."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

# The whole answer to anyone not allowed: it says nothing about whether data exists.
NOT_ALLOWED = "not allowed"


@dataclass(frozen=True)
class Actor:
    """Who sent a command: their channel, their id there, and a name to show and log."""

    channel: str
    user_id: str
    name: str = ""
    chat: str = ""  # the chat (Telegram) or channel (Slack) the command was typed in

    @property
    def label(self) -> str:
        """``telegram:123 Ana`` — how the audit log and rule changes name the actor."""
        return f"{self.channel}:{self.user_id} {self.name}".strip()


@dataclass(frozen=True)
class Attachment:
    """A file sent with a reply: a chart (``photo``, bytes) or an export (``document``, a path
    to a temporary file, streamed to the platform and deleted once sent)."""

    filename: str
    kind: Literal["photo", "document"]
    data: bytes | None = None
    path: Path | None = None
    caption: str = ""

    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        return self.path.stat().st_size if self.path is not None else 0


@dataclass
class AdminReply:
    """What to show the actor: text, then the attachments in order. Call ``discard()`` once
    sent (or on failure) to delete temporary files."""

    text: str
    attachments: list[Attachment] = field(default_factory=list)

    def discard(self) -> None:
        for attachment in self.attachments:
            if attachment.path is not None:
                with contextlib.suppress(FileNotFoundError):
                    attachment.path.unlink()
