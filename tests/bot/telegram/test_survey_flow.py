"""A customer answers a survey in Telegram, end to end: API -> Bot API -> webhook -> SQL."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import select

from storage.clock import utcnow
from storage.tables import Respondent
from tests.bot.conftest import Harness
from tests.bot.telegram.botapi import callback_update, message_update

CUSTOMER = 1001


def buttons(params: dict[str, object]) -> list[list[dict[str, str]]]:
    markup = params.get("reply_markup")
    assert isinstance(markup, dict), params
    rows: list[list[dict[str, str]]] = markup["inline_keyboard"]
    return rows


def button_data(params: dict[str, object], text: str) -> str:
    for row in buttons(params):
        for button in row:
            if button["text"] == text or button["text"].startswith(f"{text} "):
                return button["callback_data"]
    raise AssertionError(f"no button {text!r} in {buttons(params)}")


async def tap(
    harness: Harness,
    prompt: dict[str, object],
    text: str,
    user_id: int = CUSTOMER,
    update_id: int | None = None,
) -> dict[str, object]:
    """Tap a button of a sent prompt; return the update delivered."""
    update = callback_update(
        update_id or harness.botapi.next_update_id(),
        user_id,
        button_data(prompt, text),
        message_id=int(str(prompt["_message_id"])),
        chat_id=int(str(prompt["chat_id"])),
    )
    assert await harness.update(update) == 200
    return update


async def say(harness: Harness, text: str, user_id: int = CUSTOMER, **kwargs: object) -> None:
    update = message_update(harness.botapi.next_update_id(), user_id, text, **kwargs)  # type: ignore[arg-type]
    assert await harness.update(update) == 200


async def test_customer_answers_nps_with_comment(harness: Harness) -> None:
    invitation_id = await harness.invite(attributes={"agent": "ana", "team": "billing"})
    question = harness.botapi.sent()[0]
    assert int(str(question["chat_id"])) == CUSTOMER
    assert "recommend" in str(question["text"])
    rows = buttons(question)
    assert [len(r) for r in rows[:2]] == [6, 5]  # 0-10 in two rows
    assert [b["text"] for b in rows[0] + rows[1]] == [str(i) for i in range(11)]

    await tap(harness, question, "9")

    edited = harness.botapi.sent("editMessageText")
    assert len(edited) == 1 and "9" in str(edited[0]["text"])
    assert "reply_markup" not in edited[0]  # the keyboard is gone
    assert len(harness.botapi.sent("answerCallbackQuery")) == 1
    follow_up = harness.botapi.sent()[1]
    assert button_data(follow_up, "Skip")  # the comment can be skipped
    rows_now = await harness.answers(invitation_id)
    assert [(a.question_id, a.score) for a in rows_now] == [("score", 9)]

    await say(harness, "Ana fixed my invoice in minutes")

    thanks = harness.botapi.texts(CUSTOMER)[-1]
    assert "thank" in thanks.lower()
    stored = await harness.answers(invitation_id)
    assert stored[0].score == 9
    assert stored[1].text == "Ana fixed my invoice in minutes"
    done = await harness.invitation(invitation_id)
    assert done.status == "completed"
    assert done.attributes == {"agent": "ana", "team": "billing"}


async def test_score_without_comment_still_counts(harness: Harness) -> None:
    invitation_id = await harness.invite()
    await tap(harness, harness.botapi.sent()[0], "3")
    follow_up = harness.botapi.sent()[1]
    await tap(harness, follow_up, "Skip")
    stored = await harness.answers(invitation_id)
    assert [(a.question_id, a.score, a.text) for a in stored] == [("score", 3, None)]
    assert (await harness.invitation(invitation_id)).status == "completed"
    assert "thank" in harness.botapi.texts(CUSTOMER)[-1].lower()


async def test_same_update_twice_records_once(harness: Harness) -> None:
    invitation_id = await harness.invite()
    update = await tap(harness, harness.botapi.sent()[0], "10")
    assert await harness.update(update) == 200  # Telegram delivers it again
    assert len(await harness.answers(invitation_id)) == 1
    assert len(harness.botapi.sent("editMessageText")) == 1
    assert len(harness.botapi.sent()) == 2  # the question and one follow-up, nothing more


async def test_the_same_update_twice_at_once_is_handled_once(harness: Harness) -> None:
    # A webhook call that timed out on Telegram's side is sent again while the first still
    # runs: the second waits for the survey's lock, then finds the first one's mark.
    invitation_id = await harness.invite()
    question = harness.botapi.sent()[0]
    update = callback_update(
        harness.botapi.next_update_id(),
        CUSTOMER,
        button_data(question, "10"),
        message_id=int(str(question["_message_id"])),
    )
    assert await asyncio.gather(harness.update(update), harness.update(update)) == [200, 200]
    comment = message_update(harness.botapi.next_update_id(), CUSTOMER, "quick and kind")
    assert await asyncio.gather(harness.update(comment), harness.update(comment)) == [200, 200]

    stored = await harness.answers(invitation_id)
    assert [(a.question_id, a.score, a.text) for a in stored] == [
        ("score", 10, None),
        ("why", None, "quick and kind"),
    ]
    assert len(harness.botapi.sent("answerCallbackQuery")) == 1
    texts = harness.botapi.texts(CUSTOMER)
    assert len(texts) == 3 and "thank" in texts[-1].lower()  # question, follow-up, thanks


async def test_a_command_sent_again_while_it_is_handled_is_answered_once(
    harness: Harness,
) -> None:
    # Commands are not the survey runner's: each copy once ran beside the first and answered.
    for text in ("/start", "/help"):
        update = message_update(harness.botapi.next_update_id(), 5006, text)
        assert await asyncio.gather(*(harness.update(update) for _ in range(5))) == [200] * 5
    replies = harness.botapi.texts(5006)  # a customer's /help is /start's greeting
    assert len(replies) == 2 and all("no survey" in reply.lower() for reply in replies)


async def test_a_button_that_does_not_read_is_answered_once(harness: Harness) -> None:
    update = callback_update(
        harness.botapi.next_update_id(), CUSTOMER, "cx:x:score:1", message_id=1
    )
    assert await harness.update(update) == 200
    assert await harness.update(update) == 200  # delivered again: seen, nothing more
    answers = harness.botapi.sent("answerCallbackQuery")
    assert len(answers) == 1 and answers[0].get("text")


async def test_an_update_that_failed_after_its_answer_is_handled_again(
    harness: Harness,
) -> None:
    invitation_id = await harness.invite()
    api = harness.botapi
    api.fail("answerCallbackQuery", 500, {"ok": False, "error_code": 500, "description": "oops"})
    question = api.sent()[0]
    update = callback_update(
        api.next_update_id(),
        CUSTOMER,
        button_data(question, "6"),
        message_id=int(str(question["_message_id"])),
    )
    assert await harness.update(update) == 500  # Telegram will deliver it again
    assert await harness.update(update) == 200  # not dropped as seen: answered this time
    assert "already" in str(api.sent("answerCallbackQuery")[-1]["text"]).lower()
    assert [a.score for a in await harness.answers(invitation_id)] == [6]
    assert await harness.update(update) == 200  # now it is seen: nothing more happens
    assert len(api.sent("answerCallbackQuery")) == 2


async def test_stale_tap_stores_nothing(harness: Harness) -> None:
    invitation_id = await harness.invite()
    question = harness.botapi.sent()[0]
    await tap(harness, question, "8")
    await tap(harness, question, "2")  # the old keyboard, tapped again
    notice = harness.botapi.sent("answerCallbackQuery")[-1]
    assert "already" in str(notice["text"]).lower()
    assert [a.score for a in await harness.answers(invitation_id)] == [8]


async def test_forged_or_foreign_callback_data_stores_nothing(harness: Harness) -> None:
    invitation_id = await harness.invite()
    api = harness.botapi
    for data in ["garbage", "cx:notanumber:score:5", "cx:999999:score:5"]:
        update = callback_update(api.next_update_id(), CUSTOMER, data, message_id=100)
        assert await harness.update(update) == 200
        assert "couldn't read" in str(api.sent("answerCallbackQuery")[-1]["text"])
    # Someone else's invitation, named in a crafted button:
    stranger = callback_update(
        api.next_update_id(), 2002, f"cx:{invitation_id}:score:0", message_id=100
    )
    assert await harness.update(stranger) == 200
    assert "someone else" in str(api.sent("answerCallbackQuery")[-1]["text"])
    assert await harness.answers(invitation_id) == []


async def test_text_instead_of_a_tap_is_explained_and_a_typed_number_accepted(
    harness: Harness,
) -> None:
    invitation_id = await harness.invite()
    await say(harness, "it was fine I guess")
    assert "0 to 10" in harness.botapi.texts(CUSTOMER)[-1]
    assert await harness.answers(invitation_id) == []
    await say(harness, "7")
    assert [a.score for a in await harness.answers(invitation_id)] == [7]


async def test_retry_after_429_is_honoured(harness: Harness) -> None:
    harness.botapi.rate_limit("sendMessage", retry_after=1, times=1)
    status, body = await harness.post_invitation(
        survey="csat", channel="telegram", recipient=CUSTOMER, case_id="T-429"
    )
    assert status == 202
    await harness.botapi.wait_for("sendMessage", 2)  # the refused call, then the retry
    await harness.wait_status(body["id"], "sent")
    assert len(harness.botapi.sent()) == 2


async def test_blocked_customer_marks_invitation_failed(harness: Harness) -> None:
    harness.botapi.block(CUSTOMER)
    status, body = await harness.post_invitation(
        survey="nps", channel="telegram", recipient=CUSTOMER, case_id="T-403"
    )
    assert status == 202
    found = await harness.wait_status(body["id"], "failed")
    assert "blocked" in (found["failure_reason"] or "")


async def test_text_with_no_survey_gets_help(harness: Harness) -> None:
    await say(harness, "hello?", user_id=5005)
    assert "no survey" in harness.botapi.texts(5005)[-1].lower()


async def test_wrong_webhook_secret_is_refused(harness: Harness) -> None:
    update = message_update(harness.botapi.next_update_id(), 5005, "hello?")
    assert await harness.update(update, secret="wrong") == 401
    assert harness.botapi.sent() == []


async def test_group_survey_refuses_a_tap_by_another_member(harness: Harness) -> None:
    group = -100500
    invitation_id = await harness.invite(chat_id=group, user=CUSTOMER)
    question = harness.botapi.sent()[0]
    await tap(harness, question, "6", user_id=2002)
    assert "someone else" in str(harness.botapi.sent("answerCallbackQuery")[-1]["text"])
    assert await harness.answers(invitation_id) == []
    await tap(harness, question, "6", user_id=CUSTOMER)
    assert [a.score for a in await harness.answers(invitation_id)] == [6]


async def test_expired_invitation_says_closed(harness: Harness) -> None:
    invitation_id = await harness.invite()
    harness.server.services.runner.clock = lambda: utcnow() + timedelta(hours=73)
    await tap(harness, harness.botapi.sent()[0], "9")
    assert "closed" in str(harness.botapi.sent("answerCallbackQuery")[-1]["text"]).lower()
    assert await harness.answers(invitation_id) == []
    assert (await harness.invitation(invitation_id)).status == "expired"


async def test_language_follows_invitation_then_customer(harness: Harness) -> None:
    await harness.invite(chat_id=3003, case_id="T-ro", language="ro")
    assert "recomanzi" in str(harness.botapi.texts(3003)[0])
    # A customer who wrote to the bot in Polish before gets Polish without being told.
    await say(harness, "/start", user_id=4004, language_code="pl")
    await harness.invite(chat_id=4004, case_id="T-pl")
    assert "polecisz" in harness.botapi.texts(4004)[-1]
    async with harness.database.session() as session:
        rows = await session.exec(select(Respondent).where(Respondent.external_id == "4004"))
        assert rows.one().language == "pl"


async def test_state_lost_is_rebuilt_from_sql(harness: Harness) -> None:
    invitation_id = await harness.invite()
    await tap(harness, harness.botapi.sent()[0], "9")
    from bot import conversations

    await harness.server.services.state.delete(conversations.conversation_key(invitation_id))
    await say(harness, "still here")  # the active pointer survives; the state is rebuilt
    stored = await harness.answers(invitation_id)
    assert [(a.score, a.text) for a in stored] == [(9, None), (None, "still here")]


async def test_group_comment_is_taken_from_the_customer_only(harness: Harness) -> None:
    # What reaches cxbot in a group with privacy mode off, or as a Reply with it on.
    group = -100600
    invitation_id = await harness.invite(chat_id=group, user=CUSTOMER)
    await tap(harness, harness.botapi.sent()[0], "6", user_id=CUSTOMER)
    await say(harness, "unrelated chatter", user_id=2002, chat_id=group)
    await say(harness, "it took too long", user_id=CUSTOMER, chat_id=group)
    stored = await harness.answers(invitation_id)
    assert [(a.score, a.text) for a in stored] == [(6, None), (None, "it took too long")]
