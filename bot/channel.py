"""The port every chat channel implements, in channel-neutral terms."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from storage.state import StateKey
from surveys.conversation import Prompt


@dataclass(frozen=True)
class Recipient:
    """Where an invitation goes (``address``) and who may answer it (``external_id``)."""

    address: str
    external_id: str
    language: str | None = None


@dataclass
class Receipt:
    """The mark that an incoming event (a Telegram update, say) was handled, for whoever
    dedupes such events: the runner looks for it as it takes the survey's lock and writes it
    together with the survey state the event changed (no round trip of its own), and sets
    ``seen`` (the mark was there: the event was handled before, nothing was done) or
    ``written``. Left unwritten, the deduper writes it itself."""

    key: StateKey
    ttl: float
    written: bool = False
    seen: bool = False


class Channel(Protocol):
    """A chat platform that can show prompts and texts to a customer.

    Implementations translate these calls into their platform's API and turn platform errors
    into ``DeliveryFailed``; they hold no survey logic.
    """

    name: str

    async def resolve_recipient(self, recipient: str, user: str | None) -> Recipient:
        """Check and normalise an invitation's recipient; raise InvalidRecipient if unusable."""
        ...

    async def send_prompt(self, address: str, invitation_id: int, prompt: Prompt) -> str:
        """Show a question with its buttons; return the platform's reference to the message."""
        ...

    async def close_prompt(
        self, address: str, message_ref: str, prompt: Prompt, answer: str | None
    ) -> None:
        """Replace a question's buttons with the answer given (``None``: it was skipped)."""
        ...

    async def send_text(self, address: str, text: str) -> None:
        """Send a plain message (a thank-you, a notice)."""
        ...
