"""After a send: one reminder if nobody answered, and the survey closing at its expiry."""

from __future__ import annotations

from datetime import timedelta

from storage.clock import utcnow
from storage.tables import Invitation, InvitationStatus
from surveys.messages import Message, message
from tests.bot.delivery.conftest import Courier
from tests.bot.telegram.test_survey_flow import buttons, tap

CHAT = 1001
ONE_SECOND = 1 / 3600  # in hours, as rules give them
REMINDER_LINE = message(Message.REMINDER, "en")
CLOSED = message(Message.CLOSED, "en")


def sent_status(invitation: Invitation) -> bool:
    return invitation.status == InvitationStatus.SENT


async def test_an_unanswered_survey_gets_one_reminder(courier: Courier) -> None:
    invitation_id = await courier.store(CHAT, remind_after_hours=ONE_SECOND)
    await courier.delivery.submit(invitation_id)
    sent = await courier.wait_row(invitation_id, sent_status)
    assert sent.reminder_at is not None and sent.sent_at is not None

    await courier.wait_row(invitation_id, lambda i: i.reminded_at is not None)
    await courier.wait_idle("cxbot.remind")
    # Read once the job is done: the reminder is claimed (reminded_at) before it is sent, and
    # the row points at the new message only after the send.
    reminded = await courier.row(invitation_id)
    # Running the reminder again (a retried job, a catch-up) sends nothing more.
    assert await courier.delivery.jobs.remind(invitation_id) == "not needed"

    first, reminder = courier.botapi.sent("sendMessage", CHAT)
    assert reminder["text"].startswith(REMINDER_LINE)
    assert "recommend" in reminder["text"]
    assert buttons(reminder) == buttons(first)  # the same question, answerable
    [closed_first] = courier.botapi.sent("editMessageText")
    assert closed_first["message_id"] == str(first["_message_id"])
    assert "reply_markup" not in closed_first  # only the reminder keeps buttons
    assert reminded.message_ref == str(reminder["_message_id"])
    assert reminded.reminded_at is not None and reminded.reminded_at >= sent.reminder_at


async def test_an_answered_survey_gets_no_reminder(courier: Courier) -> None:
    invitation_id = await courier.store(CHAT, remind_after_hours=3 * ONE_SECOND)
    await courier.delivery.submit(invitation_id)
    await courier.wait_row(invitation_id, sent_status)
    await courier.wait_until(lambda: courier.queued("cxbot.remind"))  # the reminder is planned
    question = courier.botapi.sent("sendMessage", CHAT)[0]

    await tap(courier, question, "9")
    started = await courier.wait_row(invitation_id, lambda i: i.status == InvitationStatus.STARTED)
    assert started.reminder_at is not None
    await courier.wait_row(invitation_id, lambda i: i.reminder_at is not None)
    await courier.wait_idle("cxbot.remind", within=20)

    texts = [p["text"] for p in courier.botapi.sent("sendMessage", CHAT)]
    assert not any(REMINDER_LINE in text for text in texts)
    assert (await courier.row(invitation_id)).reminded_at is None


async def test_no_reminder_is_planned_past_the_expiry(courier: Courier) -> None:
    invitation_id = await courier.store(CHAT, remind_after_hours=100, expiry_hours=24)
    await courier.delivery.submit(invitation_id)

    sent = await courier.wait_row(invitation_id, sent_status)

    assert sent.reminder_at is None
    assert await courier.queued("cxbot.remind") == []


async def test_expiry_closes_the_question_and_a_later_tap_is_told(courier: Courier) -> None:
    invitation_id = await courier.store(CHAT, expiry_hours=ONE_SECOND)
    await courier.delivery.submit(invitation_id)
    await courier.wait_row(invitation_id, sent_status)
    question = courier.botapi.sent("sendMessage", CHAT)[0]

    expired = await courier.wait_row(invitation_id, lambda i: i.status == InvitationStatus.EXPIRED)
    await courier.wait_idle("cxbot.expire")

    [edit] = courier.botapi.sent("editMessageText")
    assert edit["message_id"] == str(question["_message_id"])
    assert edit["text"].endswith(CLOSED)
    assert "recommend" in edit["text"]
    assert "reply_markup" not in edit  # the buttons are gone
    assert expired.expires_at is not None

    await tap(courier, question, "9")
    [notice] = courier.botapi.sent("answerCallbackQuery")
    assert notice["text"] == CLOSED
    assert await courier.answers(invitation_id) == []


async def test_a_finished_survey_does_not_expire(courier: Courier) -> None:
    invitation_id = await courier.store(CHAT, survey="csat", expiry_hours=ONE_SECOND * 3)
    await courier.delivery.submit(invitation_id)
    await courier.wait_row(invitation_id, sent_status)
    await courier.wait_until(lambda: courier.queued("cxbot.expire"))  # the expiry is planned
    question = courier.botapi.sent("sendMessage", CHAT)[0]
    await tap(courier, question, "5")
    follow_up = courier.botapi.sent("sendMessage", CHAT)[-1]
    await tap(courier, follow_up, "Skip")
    await courier.wait_row(invitation_id, lambda i: i.status == InvitationStatus.COMPLETED)

    await courier.wait_idle("cxbot.expire", within=20)

    assert (await courier.row(invitation_id)).status == InvitationStatus.COMPLETED
    assert not any(CLOSED in str(e["text"]) for e in courier.botapi.sent("editMessageText"))


async def test_a_reminder_due_outside_the_send_window_waits_for_it(courier: Courier) -> None:
    # The rule sends between an hour that starts two to three hours from now and the next
    # hour; the reminder, due an hour after the send, waits for that window's start.
    now = utcnow()
    start = (now + timedelta(hours=3)).replace(minute=0, second=0, microsecond=0)
    window = f"{start:%H}:00-{(start + timedelta(hours=1)):%H}:00"
    invitation_id = await courier.store(
        CHAT, remind_after_hours=1, expiry_hours=48, send_window=window, timezone="UTC"
    )
    await courier.delivery.submit(invitation_id)

    sent = await courier.wait_row(invitation_id, sent_status)

    assert sent.sent_at is not None and sent.sent_at < now + timedelta(minutes=1)
    assert sent.reminder_at == start
    # The job is queued just after the row says sent.
    await courier.wait_until(lambda: courier.queued("cxbot.remind"))
    [reminder] = await courier.queued("cxbot.remind")
    assert reminder.scheduled_at is not None
    assert reminder.scheduled_at.replace(tzinfo=None) == start
