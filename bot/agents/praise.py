"""PromoterComments: a promoter's comment goes to the agent who handled the case.

A runner answer listener. "Promoter" is the good band of the invitation's score: NPS 9-10,
CSAT 4-5, CES 5-7. Sent in the background, so the customer's conversation never waits.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from bot.agents.directory import AgentDirectory
from bot.background import Background
from bot.channel import Channel
from bot.errors import DeliveryFailed
from bot.runner import AnswerGiven
from storage.answers import answers_for
from storage.db import Database
from storage.tables import Invitation
from surveys.definitions import BANDS, QuestionKind, band_of

log = logging.getLogger(__name__)

__all__ = ["PromoterComments", "is_promoter"]

MAX_QUOTE = 1000
CLOSE_TIMEOUT_S = 10.0


def is_promoter(kind: QuestionKind, score: int) -> bool:
    """The score is in its scale's best band."""
    return band_of(kind, score) == BANDS[kind][0]


class PromoterComments:
    """Forward a comment to the case's agent when the customer's score was a promoter's."""

    def __init__(
        self, database: Database, agents: AgentDirectory, channels: Mapping[str, Channel]
    ) -> None:
        self.database = database
        self.agents = agents
        self.channels = channels
        self._background = Background(CLOSE_TIMEOUT_S)

    async def __call__(self, given: AnswerGiven) -> None:
        if given.kind != QuestionKind.TEXT.value or not (given.text or "").strip():
            return
        self._background.spawn(self._guarded(given), f"praise for {given.invitation_id}")

    async def drain(self) -> None:
        await self._background.drain()

    async def close(self) -> None:
        await self._background.close()

    async def _guarded(self, given: AnswerGiven) -> None:
        try:
            await self.forward(given)
        except DeliveryFailed as failure:
            log.warning("praise for invitation %s not sent: %s", given.invitation_id, failure)
        except Exception:
            log.exception("praise for invitation %s failed", given.invitation_id)

    async def forward(self, given: AnswerGiven) -> bool:
        """Send the comment to the agent; False when it is not a promoter's or nobody to tell."""
        async with self.database.session() as session:
            invitation = await session.get(Invitation, given.invitation_id)
            answers = await answers_for(session, given.invitation_id)
        if invitation is None:
            return False
        chat = self.agents.address_of(invitation.agent)
        scored = next(
            (a for a in answers if a.score is not None and QuestionKind(a.kind).is_scale), None
        )
        if chat is None or scored is None or scored.score is None:
            return False
        kind = QuestionKind(scored.kind)
        if not is_promoter(kind, scored.score):
            return False
        channel = self.channels.get(chat[0])
        if channel is None:
            log.warning("praise for %s: channel %s is not configured", invitation.agent, chat[0])
            return False
        comment = " ".join((given.text or "").split())[:MAX_QUOTE]
        text = (
            f"A customer liked your help on case {invitation.case_id} "
            f"({kind.value.upper()} {scored.score}):\n“{comment}”"
        )
        address = await channel.resolve_recipient(chat[1], None)
        await channel.send_text(address.address, text)
        return True
