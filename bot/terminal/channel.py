"""TerminalChannel: prints prompts to a stream and remembers the question each chat shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TextIO

from bot.channel import Recipient
from surveys.conversation import Prompt
from surveys.messages import Message, message


@dataclass
class TerminalChannel:
    """Plays the chat app: a 'message' is a block of text; buttons are listed under it.

    The runner sends the next question before it edits the answered one ("-> Your answer"),
    as a chat app shows both at once. A terminal prints in order, so questions and texts wait
    in `pending` until `flush()` (after each reply is handled) and the echo goes first.
    """

    out: TextIO | None
    name: str = "demo"
    waiting: dict[str, Prompt] = field(default_factory=dict)
    finished: dict[str, str] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)
    _sent: int = 0

    async def resolve_recipient(self, recipient: str, user: str | None) -> Recipient:
        return Recipient(address=recipient, external_id=user or recipient)

    async def send_prompt(self, address: str, invitation_id: int, prompt: Prompt) -> str:
        self._sent += 1
        self.waiting[address] = prompt
        if self.out is not None:
            self.pending.append(f"\n{prompt.text}")
            if prompt.hint:
                self.pending.append(f"  ({prompt.hint})")
            buttons = [
                f"[{c.value}]"
                + (f" {c.label}" if c.label != c.value else "")
                + (f" {c.caption}" if c.caption else "")
                for c in prompt.choices
            ]
            if prompt.skippable:
                buttons.append(f"[{skip_word(prompt.language)}]")
            if buttons:
                self.pending.append("  " + "  ".join(buttons))
        return str(self._sent)

    async def close_prompt(
        self, address: str, message_ref: str, prompt: Prompt, answer: str | None
    ) -> None:
        if self.out is not None and answer:
            self._print(f"  -> {answer}")

    async def send_text(self, address: str, text: str) -> None:
        self.waiting.pop(address, None)
        self.finished[address] = text
        if self.out is not None:
            self.pending.append(f"\n{text}")

    def flush(self) -> None:
        """Print what waits: the next question, or the thank-you."""
        for line in self.pending:
            self._print(line)
        self.pending.clear()

    def _print(self, line: str) -> None:
        assert self.out is not None
        self.out.write(line + "\n")
        self.out.flush()


def skip_word(language: str) -> str:
    """What the Skip button says in `language` (typed, it skips too, as does `skip`)."""
    return message(Message.SKIP_BUTTON, language)
