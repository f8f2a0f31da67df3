"""Invitation links end to end: the API hands out t.me links, a customer opens one
(`/start <token>`) and gets the survey's first question at once, in their language."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlmodel import update

from storage.clock import utcnow
from storage.links import TOKEN_PATTERN
from storage.tables import Invitation
from surveys.messages import Message, message
from tests.bot.conftest import Harness
from tests.bot.telegram.test_survey_flow import say, tap

LINK_PREFIX = "https://t.me/cxbot_test_bot?start="
EMAIL = "Ana@Example.com"


def token_of(body: dict[str, Any]) -> str:
    link = body["link"]
    assert isinstance(link, str) and link.startswith(LINK_PREFIX), body
    token = link.removeprefix(LINK_PREFIX)
    assert TOKEN_PATTERN.fullmatch(token) and len(token) <= 64
    return token


async def invite_person(harness: Harness, case_id: str = "T-1", **extra: Any) -> dict[str, Any]:
    status, body = await harness.post_invitation(
        survey="nps", channel="telegram", case_id=case_id, person={"email": EMAIL}, **extra
    )
    assert status == 202, body
    return dict(body)


async def open_link(harness: Harness, token: str, user_id: int, language: str = "en") -> None:
    await say(harness, f"/start {token}", user_id, language_code=language)


class TestLinks:
    async def test_every_telegram_invitation_has_its_link(self, harness: Harness) -> None:
        invitation_id = await harness.invite(chat_id=1001)
        shown = await harness.status(invitation_id)
        token = token_of(shown)
        stored = await harness.invitation(invitation_id)
        assert stored.link_token == token
        again = await harness.status(invitation_id)
        assert again["link"] == shown["link"]
        assert len(harness.botapi.sent("getMe")) <= 1  # asked once, then remembered

    async def test_an_invitation_by_email_waits_for_its_link(self, harness: Harness) -> None:
        body = await invite_person(harness)
        assert body["status"] == "awaiting_link" and body["recipient"] is None
        token = token_of(body)
        await asyncio.sleep(0.5)  # more than two delivery sweeps
        assert harness.botapi.sent() == []  # never sent blind
        assert (await harness.status(body["id"]))["status"] == "awaiting_link"

        await open_link(harness, token, 2002, language="pl")

        [question] = harness.botapi.sent()
        assert int(question["chat_id"]) == 2002
        assert "poleci" in str(question["text"]).lower()  # Polish, the customer's language
        shown = await harness.status(body["id"])
        assert (shown["status"], shown["recipient"]) == ("sent", "2002")

    async def test_the_next_case_for_that_email_goes_straight_to_the_chat(
        self, harness: Harness
    ) -> None:
        token = token_of(await invite_person(harness))
        await open_link(harness, token, 2002)
        await harness.botapi.wait_for("sendMessage", 1)

        second = await invite_person(harness, case_id="T-2")
        assert second["recipient"] == "2002" and second["status"] == "scheduled"
        await harness.botapi.wait_for("sendMessage", 2)
        assert int(harness.botapi.sent()[1]["chat_id"]) == 2002
        await harness.wait_status(second["id"], "sent")

    async def test_a_customer_who_forgets_themselves_leaves_their_email_too(
        self, harness: Harness
    ) -> None:
        await open_link(harness, token_of(await invite_person(harness)), 2002)
        await say(harness, "/forget", 2002)
        assert "deleted" in harness.botapi.texts(2002)[-1].lower()

        again = await invite_person(harness, case_id="T-2")

        assert again["status"] == "awaiting_link"  # the email no longer leads to the chat
        assert len(harness.botapi.sent(chat_id=2002)) == 2

    async def test_opening_a_link_twice_shows_the_same_question(self, harness: Harness) -> None:
        body = await invite_person(harness)
        token = token_of(body)
        await open_link(harness, token, 2002)
        sent_at = (await harness.status(body["id"]))["sent_at"]
        await open_link(harness, token, 2002)

        first, again = harness.botapi.sent()
        assert again["text"] == first["text"] and int(again["chat_id"]) == 2002
        shown = await harness.status(body["id"])
        assert (shown["status"], shown["sent_at"]) == ("sent", sent_at)

    async def test_a_second_account_is_refused_politely(self, harness: Harness) -> None:
        body = await invite_person(harness)
        token = token_of(body)
        await open_link(harness, token, 2002)
        await tap(harness, harness.botapi.sent()[0], "9", user_id=2002)

        await open_link(harness, token, 3003, language="ro")

        assert harness.botapi.texts(3003) == [message(Message.LINK_TAKEN, "ro")]
        stored = await harness.invitation(body["id"])
        assert (stored.address, stored.status) == ("2002", "started")

    async def test_a_known_chats_link_opened_elsewhere_says_whose_it_is(
        self, harness: Harness
    ) -> None:
        # Made for the chat 1001, never opened from anywhere: nobody "used" it.
        invitation_id = await harness.invite(chat_id=1001)
        token = token_of(await harness.status(invitation_id))

        await open_link(harness, token, 3003)

        assert harness.botapi.texts(3003) == [
            "This survey link belongs to another Telegram account, so it can't be answered "
            "here. If the survey is meant for you, please open the link from that account. "
            "Thank you all the same!"
        ]
        stored = await harness.invitation(invitation_id)
        assert (stored.address, stored.status) == ("1001", "sent")

    async def test_two_accounts_opening_at_once_bind_it_once(self, harness: Harness) -> None:
        token = token_of(await invite_person(harness))

        await asyncio.gather(open_link(harness, token, 2002), open_link(harness, token, 3003))

        questions = [p for p in harness.botapi.sent() if "reply_markup" in p]
        refused = harness.botapi.texts(2002) + harness.botapi.texts(3003)
        assert len(questions) == 1
        assert message(Message.LINK_TAKEN, "en") in refused

    async def test_a_completed_link_says_already_done(self, harness: Harness) -> None:
        invitation_id = await harness.invite(chat_id=1001)
        token = token_of(await harness.status(invitation_id))
        await tap(harness, harness.botapi.sent()[0], "10", user_id=1001)
        await say(harness, "all good", 1001)
        await harness.wait_status(invitation_id, "completed")

        await open_link(harness, token, 1001)

        assert harness.botapi.texts(1001)[-1] == message(Message.ALREADY_DONE, "en")

    async def test_an_expired_link_says_the_survey_has_closed(self, harness: Harness) -> None:
        body = await invite_person(harness)
        async with harness.database.session() as session:
            await session.exec(
                update(Invitation)
                .where(Invitation.id == body["id"])  # type: ignore[arg-type]
                .values(expires_at=utcnow() - timedelta(minutes=1))
            )
            await session.commit()

        await open_link(harness, token_of(body), 2002)

        assert harness.botapi.texts(2002) == [message(Message.CLOSED, "en")]
        assert (await harness.status(body["id"]))["status"] == "expired"

    async def test_an_unopened_link_expires_on_its_own(self, harness: Harness) -> None:
        body = await invite_person(harness)
        async with harness.database.session() as session:
            await session.exec(
                update(Invitation)
                .where(Invitation.id == body["id"])  # type: ignore[arg-type]
                .values(expires_at=utcnow() - timedelta(minutes=2))
            )
            await session.commit()

        # The sweep that queues what SQL has pending (once a minute) closes it. It is this
        # call, or cxbot's own run of it when a minute turned since the update (then this
        # call finds the job waiting and adds none).
        assert await harness.server.services.delivery.jobs.catch_up() in (0, 1)
        await harness.wait_status(body["id"], "expired")
        assert harness.botapi.sent() == []

    async def test_a_person_needs_an_email_or_a_requester(self, harness: Harness) -> None:
        status, body = await harness.post_invitation(
            survey="nps", channel="telegram", case_id="T-1", person={"email": "not-an-email"}
        )
        assert status == 422 and body["fields"][0]["field"] == "person.email"
        status, body = await harness.post_invitation(
            survey="nps", channel="telegram", case_id="T-1", person={"requester": "12345"}
        )
        assert status == 422 and "zendesk:12345" in body["fields"][0]["message"]
        assert body["fields"][0]["field"] == "person.requester"
        status, body = await harness.post_invitation(
            survey="nps", channel="telegram", case_id="T-1"
        )
        assert status == 422 and [f["field"] for f in body["fields"]] == ["recipient"]
        assert harness.botapi.sent() == []

    async def test_an_unknown_token_is_named_as_such(self, harness: Harness) -> None:
        await open_link(harness, "x" * 32, 2002)
        assert harness.botapi.texts(2002) == [message(Message.LINK_UNKNOWN, "en")]
