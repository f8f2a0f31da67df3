"""The channel-neutral survey flow: lock, load state, advance, persist the answer, render.

`SurveyRunner` is the one door to it; its parts live beside it, one module per thing the
flow does: `answering` (taps, text, /start), `sending` (an invitation's first question),
`reminding`, `expiring`, `links` (an invitation's link opened), and `recovery` (a
conversation rebuilt from SQL).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from bot import conversations
from bot.channel import Channel, Receipt
from bot.conversations import Conversation
from bot.runner import answering, expiring, links, recovery, reminding, sending
from bot.runner.outcomes import (
    Acknowledge,
    AnswerGiven,
    AnswerListener,
    Outcome,
    Turn,
    notice_language,
    supported_language,
)
from bot.runner.sending import INTERRUPTED_SEND, sleep_until
from bot.runner.wiring import Wiring
from storage.clock import utcnow
from storage.db import Database
from storage.state import BaseStateStore
from storage.tables import InvitationStatus
from surveys.catalog import Catalog
from surveys.conversation import Skip, Tap, Text

__all__ = [
    "INTERRUPTED_SEND",
    "Acknowledge",
    "AnswerGiven",
    "AnswerListener",
    "Outcome",
    "SurveyRunner",
    "Turn",
    "notice_language",
    "sleep_until",
    "supported_language",
]


class SurveyRunner:
    """Runs every survey conversation, whatever the channel; the one place that decides."""

    def __init__(
        self,
        catalog: Catalog,
        database: Database,
        state: BaseStateStore,
        channels: Mapping[str, Channel],
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.wiring = Wiring(catalog, database, state, channels, clock)

    @property
    def catalog(self) -> Catalog:
        return self.wiring.catalog

    @property
    def database(self) -> Database:
        return self.wiring.database

    @property
    def state(self) -> BaseStateStore:
        return self.wiring.state

    @property
    def channels(self) -> Mapping[str, Channel]:
        return self.wiring.channels

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.wiring.clock

    @clock.setter
    def clock(self, clock: Callable[[], datetime]) -> None:
        self.wiring.clock = clock

    @property
    def listeners(self) -> list[AnswerListener]:
        """Called after each stored answer; a failing listener is logged, never the customer's
        problem."""
        return self.wiring.listeners

    async def deliver(self, invitation_id: int, *, turn: Turn | None = None) -> InvitationStatus:
        """Send a scheduled invitation's first question, once; harmless to call twice.

        The row is claimed (scheduled -> sending, committed) right before the platform call,
        and only the caller whose claim changed it sends. A permanent refusal marks it failed;
        a temporary one (5xx, network, 429 beyond the retry budget) puts it back to scheduled
        and raises DeliveryFailed for the caller to try again later. A row found `sending`
        was claimed by a sender that died mid-call: the platform may have shown the message
        already, so it is marked failed, not sent a second time. ``turn`` is awaited just
        before the claim; what it raises goes up with nothing claimed.
        """
        return await sending.deliver(self.wiring, invitation_id, turn=turn)

    async def handle_button(
        self,
        channel: str,
        invitation_id: int,
        actor: str,
        reply: Tap | Skip,
        hint: str | None,
        *,
        acknowledge: Acknowledge | None = None,
        receipt: Receipt | None = None,
    ) -> Outcome:
        """A tap on a button that names its invitation (a score, an option, Skip).

        ``acknowledge``, if given, is awaited alongside the answer's messages once the tap is
        accepted (Telegram's callback answer stops the button's spinner); when it was not
        called the channel shows the returned notice instead. An error it raises counts as a
        failed message (the answer stays stored, the listeners are not told). ``receipt``, if
        given, is written with the conversation's new state when the tap is handled without
        an error (and marked written).
        """
        return await answering.handle_button(
            self.wiring,
            channel,
            invitation_id,
            actor,
            reply,
            hint,
            acknowledge=acknowledge,
            receipt=receipt,
        )

    async def handle_text(
        self,
        channel: str,
        actor: str,
        text: str,
        hint: str | None,
        *,
        receipt: Receipt | None = None,
    ) -> Outcome:
        """A free-text message: it answers the actor's active survey, if there is one.

        ``receipt`` as in `handle_button`: written with the survey's state, if there is one.
        """
        return await answering.handle_text(self.wiring, channel, actor, text, hint, receipt=receipt)

    async def handle_comment(
        self, channel: str, invitation_id: int, actor: str, text: str, hint: str | None
    ) -> Outcome:
        """A text written for one invitation (Slack's comment modal): unlike `handle_text` it
        answers that survey, not whichever one the actor's next message would."""
        return await answering.handle_button(
            self.wiring, channel, invitation_id, actor, Text(text), hint
        )

    async def conversation(self, invitation_id: int) -> Conversation | None:
        """The invitation's conversation as it stands: the state store's, else rebuilt from
        SQL when the store lost it (nothing is cached here; the next answer does that). None
        when no survey is under way for it (completed, expired, unknown)."""
        found = await conversations.load(self.wiring.state, invitation_id)
        if found is None:
            rebuilt = await recovery.recover(self.wiring, invitation_id, "en")
            found = rebuilt if isinstance(rebuilt, Conversation) else None
        return found

    async def remember_language(self, channel: str, actor: str, hint: str | None) -> None:
        """Keep the language a person's client reports, for the invitations that come later."""
        await answering.remember_language(self.wiring, channel, actor, hint)

    async def remind(self, channel: str, actor: str, hint: str | None) -> Outcome:
        """Show the actor's waiting question again (after /start, say), or the help text."""
        return await answering.show_again(self.wiring, channel, actor, hint)

    async def open_link(
        self, channel: str, token: str, actor: str, address: str, hint: str | None
    ) -> Outcome:
        """``actor`` opened the invitation link carrying ``token`` (Telegram's /start <token>)
        in the chat ``address``: its survey's current question, at once.

        A link awaiting its person binds to this chat (one of two accounts racing wins) and
        the first question is sent, in the language their client reports; opened again it
        shows the question again, sending nothing twice. Another account, a completed, an
        expired or an unknown link get a short notice instead.
        """
        return await links.open_link(self.wiring, channel, token, actor, address, hint)

    async def remind_invitation(self, invitation_id: int, *, turn: Turn | None = None) -> bool:
        """Ask a sent, still unanswered invitation's first question again, once.

        The reminder is a fresh message with a short reminder line above the question; the
        first message loses its buttons. Returns False, sending nothing, when the customer
        answered, the survey closed or the reminder went already. The reminder is claimed
        in SQL before the platform call, like a send: a crash mid-call costs the reminder,
        never doubles it. A temporary DeliveryFailed releases the claim and goes up.
        ``turn`` is awaited just before the claim, as in `deliver`.
        """
        return await reminding.remind_invitation(self.wiring, invitation_id, turn=turn)

    async def expire_invitation(self, invitation_id: int) -> bool:
        """Close a sent or started survey whose time ran out: status, state and message.

        The question message loses its buttons and says the survey has closed; a later tap
        gets the closed notice. False when the survey was finished, failed or closed already.
        """
        return await expiring.expire_invitation(self.wiring, invitation_id)
