"""Each message of a digest takes a turn in the shared rate limits, as an invitation does.

A digest (its text, then a message per chart) goes to one group or channel, often at the hour
on the dot, when a backlog of invitations may be going out at the bot's (or workspace's) limit.
Posted as replies are (ahead of the invitations, counted in the bot's stream only), its
messages would follow each other faster than the platform lets one chat take them; a turn in
both streams, the bot's and the chat's, keeps it within both.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from bot.delivery.limits import SendLimits
from bot.paced import mark_paced

log = logging.getLogger(__name__)

# Awaited before each message a digest sends to its chat (the address).
DigestTurn = Callable[[str], Awaitable[None]]


def shared_turns(limits: SendLimits, channel: str) -> DigestTurn:
    """Turns on ``channel``'s limits; with the limits unreachable, the message goes unmetered
    (a digest half posted would be posted whole again at the next look)."""

    async def turn(address: str) -> None:
        try:
            await limits.wait_for_turn(channel, address)
        except Exception as error:
            log.warning("digest to %s:%s goes without a turn: %r", channel, address, error)
            return
        mark_paced(time.time(), "")  # the message that follows took its turn: no reply to count

    return turn
