"""TerminalChannel: prints prompts to a stream and remembers the question each chat shows."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TextIO

from bot.channel import Recipient
from surveys.conversation import Prompt


@dataclass
class TerminalChannel:
    """Plays the chat app: a 'message' is a block of text; buttons are listed under it."""

    out: TextIO | None
    name: str = "demo"
    waiting: dict[str, Prompt] = field(default_factory=dict)
    finished: dict[str, str] = field(default_factory=dict)
    _sent: int = 0

    async def resolve_recipient(self, recipient: str, user: str | None) -> Recipient:
        return Recipient(address=recipient, external_id=user or recipient)

    async def send_prompt(self, address: str, invitation_id: int, prompt: Prompt) -> str:
        self._sent += 1
        self.waiting[address] = prompt
        if self.out is not None:
            self._print(f"\n{prompt.text}")
            if prompt.hint:
                self._print(f"  ({prompt.hint})")
            buttons = [
                f"[{c.value}]"
                + (f" {c.label}" if c.label != c.value else "")
                + (f" {c.caption}" if c.caption else "")
                for c in prompt.choices
            ]
            if prompt.skippable:
                buttons.append("[skip]")
            if buttons:
                self._print("  " + "  ".join(buttons))
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
            self._print(f"\n{text}")

    def _print(self, line: str) -> None:
        assert self.out is not None
        self.out.write(line + "\n")
        self.out.flush()
