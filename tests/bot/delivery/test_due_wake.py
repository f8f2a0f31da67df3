"""A send deferred for later goes when it falls due, not at the worker's next poll."""

from __future__ import annotations

from datetime import timedelta

from storage.clock import utcnow
from storage.tables import Invitation, InvitationStatus
from tests.bot.delivery.conftest import CourierFactory

CHAT = 1001
# Far longer than the test may take: a send it sees went because the worker was woken.
POLL_S = 120
# A woken worker sends within a fraction of a second; this much leaves room for a loaded
# machine, and little for a chance wake (the catch-up job is deferred at every minute's turn,
# which wakes every worker too).
WITHIN_S = 8.0


def sent(invitation: Invitation) -> bool:
    return invitation.status == InvitationStatus.SENT


async def test_a_send_due_soon_goes_when_due_not_at_the_next_poll(
    start_cxbot: CourierFactory,
) -> None:
    async with start_cxbot(CXBOT_DELIVERY_POLL_SECONDS=str(POLL_S)) as courier:
        due = utcnow() + timedelta(seconds=1.0)
        first = await courier.store(CHAT, scheduled_at=due)
        await courier.delivery.schedule(first, due)

        row = await courier.wait_row(first, sent, within=WITHIN_S)

        [call] = courier.botapi.delivered(CHAT)
        assert call.at >= due.timestamp()  # not early either
        assert row.sent_at is not None and row.sent_at >= due
