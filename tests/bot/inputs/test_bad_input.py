"""Bad input to every HTTP entry point gets a 4xx JSON error, and nothing partial is stored."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

import pytest

from tests.bot.conftest import API_TOKEN
from tests.bot.inputs.conftest import InputHarness
from tests.bot.telegram.botapi import callback_update, message_update
from tests.bot.telegram.test_survey_flow import button_data
from tests.bot.triggers.conftest import event

HUGE_ID = "1" * 40
BEARER = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"}


def error_of(status: int, content_type: str, raw: bytes) -> dict[str, Any]:
    """The JSON error body of a 4xx answer, checked to be one."""
    assert 400 <= status < 500, (status, raw[:300])
    assert content_type == "application/json", raw[:300]
    body: dict[str, Any] = json.loads(raw)
    assert isinstance(body["error"], str) and isinstance(body["message"], str)
    return body


def deep(levels: int) -> bytes:
    return b'{"a": ' * levels + b"1" + b"}" * levels


BAD_BODIES = {
    "nested 1,000 levels": deep(1000),
    "nested 100,000 levels": b"[" * 100_000 + b"]" * 100_000,
    "an integer of 5,000 digits": b'{"case_id": ' + b"7" * 5000 + b"}",
    "a lone surrogate": b'{"type": "case.closed", "case_id": "T-1", "channel": "telegram", '
    b'"recipient": "1001", "team": "\\ud800"}',
    "NaN": b'{"type": "case.closed", "case_id": "T-1", "channel": "telegram", '
    b'"recipient": "1001", "attributes": {"x": NaN}}',
    "an infinite float": b'{"type": "case.closed", "case_id": "T-1", "channel": "telegram", '
    b'"recipient": "1001", "attributes": {"x": 1e999}}',
    "not UTF-8": b'{"case_id": "\xff"}',
}


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/invitations", "/api/v1/hooks/zendesk"])
@pytest.mark.parametrize("name", sorted(BAD_BODIES))
async def test_a_body_json_cannot_take_is_a_400_and_stores_nothing(
    inputs: InputHarness, path: str, name: str
) -> None:
    before = await inputs.stored()
    answer = error_of(*await inputs.send(path, BAD_BODIES[name], BEARER))
    assert answer["error"] == "invalid_json"
    assert await inputs.stored() == before


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
async def test_the_telegram_webhook_refuses_a_body_json_cannot_take(
    inputs: InputHarness, name: str
) -> None:
    assert error_of(*await inputs.telegram(BAD_BODIES[name]))["error"] == "invalid_json"


async def test_a_body_over_the_limit_is_a_json_413(inputs: InputHarness) -> None:
    big = json.dumps(event(attributes={"x": "y" * 10_000_000})).encode()
    status, content_type, raw = await inputs.send("/api/v1/events", big, BEARER)
    assert status == 413
    assert error_of(400, content_type, raw)["error"] == "body_too_large"
    assert await inputs.stored() == {name: 0 for name in await inputs.stored()}


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"case_id": "T-\x001"}, "case_id"),
        ({"recipient": "10\x0001"}, "recipient"),
        ({"team": "sa\x00les"}, "team"),
        ({"occurred_at": "0001-01-01T00:00:00+14:00"}, "occurred_at"),
        ({"occurred_at": "9999-12-31T23:59:59-14:00"}, "occurred_at"),
        ({"case_id": 1.5}, "case_id"),
        ({"case_id": True}, "case_id"),
        ({"tags": ["x" * 100_000]}, "tags.0"),
    ],
)
async def test_an_event_field_out_of_range_is_a_422(
    inputs: InputHarness, fields: dict[str, Any], field: str
) -> None:
    status, body = await inputs.event(event(**fields))
    assert status == 422, body
    assert field in [f["field"] for f in body["fields"]]
    assert await inputs.invitations() == []


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"case_id": "T-\x001"}, "case_id"),
        ({"case_id": 1.5}, "case_id"),
        ({"recipient": "1" * 300}, "recipient"),
        ({"attributes": {"team": "t" * 500}}, "attributes.team"),
        ({"attributes": {"team": "sa\x00les"}}, "attributes.team"),
    ],
)
async def test_an_invitation_field_out_of_range_is_a_422_as_for_events(
    inputs: InputHarness, fields: dict[str, Any], field: str
) -> None:
    body = {"survey": "nps", "channel": "telegram", "recipient": "1001", "case_id": "T-1"}
    status, answer = await inputs.post_invitation(**(body | fields))
    assert status == 422, answer
    assert field in [f["field"] for f in answer["fields"]]
    # the same value is refused by the events API, at the same field
    event_fields = fields.get("attributes", fields)
    status, answer = await inputs.event(event(**event_fields))
    assert status == 422, answer
    assert field.removeprefix("attributes.") in [f["field"] for f in answer["fields"]]
    assert await inputs.invitations() == []


@pytest.mark.parametrize(
    ("fields", "field", "says"),
    [
        (
            {"attributes": {"note": "n" * 17_000}},
            "attributes",
            "attributes take at most 16 KiB as JSON, not 17011 bytes",
        ),
        ({"attributes": {"": 1}}, "attributes", "attribute names are 1 to 64 characters"),
        ({"case_id": 1.5}, "case_id", "must be text, or a whole number"),
        ({"case_id": "T\x1b1"}, "case_id", "must not contain a control character (U+001B"),
    ],
)
async def test_an_invitation_field_refused_reads_as_for_events(
    inputs: InputHarness, fields: dict[str, Any], field: str, says: str
) -> None:
    body = {"survey": "nps", "channel": "telegram", "recipient": "1001", "case_id": "T-1"}
    status, answer = await inputs.post_invitation(**(body | fields))
    assert status == 422, answer
    messages = {f["field"]: f["message"] for f in answer["fields"]}
    assert messages[field].startswith(says), messages  # not "Value error, ..."
    status, answer = await inputs.event(event(**fields))
    assert status == 422, answer
    assert {f["field"]: f["message"] for f in answer["fields"]}[field] == messages[field]


async def test_an_integer_case_id_is_taken_by_both(inputs: InputHarness) -> None:
    status, answer = await inputs.post_invitation(
        survey="csat", channel="telegram", recipient=1001, case_id=42
    )
    assert status == 202, answer
    assert answer["case_id"] == "42"
    status, answer = await inputs.event(event(case_id=43, recipient=1002))
    assert status == 202, answer


async def test_a_refused_event_keeps_its_error_and_a_bounded_excerpt(inputs: InputHarness) -> None:
    status, _ = await inputs.event(event(case_id="T-9", recipient="r" * 500_000))
    assert status == 422
    (decision,) = await inputs.decisions("T-9")
    assert decision.outcome == "rejected"
    assert decision.event["error"] == "invalid_event"
    stored = json.dumps(decision.event) + decision.detail + decision.recipient
    assert len(stored) < 5_000
    assert decision.event["excerpt"].startswith('{"type": "case.closed", "case_id": "T-9"')


async def test_an_invitation_id_beyond_the_database_is_a_404(inputs: InputHarness) -> None:
    status, content_type, raw = await inputs.send(
        f"/api/v1/invitations/{HUGE_ID}", b"", BEARER, method="GET"
    )
    assert status == 404
    assert error_of(status, content_type, raw)["error"] == "not_found"


@pytest.mark.parametrize(
    ("given", "says"),
    [
        (HUGE_ID, "invitation ids are 1 to 2147483647"),
        ("2147483648", "invitation ids are 1 to 2147483647"),
        ("0", "invitation ids are 1 to 2147483647"),
        ("-1", "invitation ids are 1 to 2147483647"),
        ("-0", "invitation ids are 1 to 2147483647"),
        ("7" * 5000, "invitation ids are 1 to 2147483647"),  # more digits than int() reads
        ("abc", "invitation ids are whole numbers"),
        ("\u0661", "invitation ids are whole numbers"),
    ],
)
async def test_an_invitation_id_out_of_range_says_so(
    inputs: InputHarness, given: str, says: str
) -> None:
    status, content_type, raw = await inputs.send(
        f"/api/v1/invitations/{quote(given)}", b"", BEARER, method="GET"
    )
    assert status == 404, raw[:300]
    message = error_of(status, content_type, raw)["message"]
    assert message.startswith(f"no invitation {given[:20]}"), message
    assert says in message, message


async def test_a_telegram_tap_with_an_id_beyond_the_database_is_answered(
    inputs: InputHarness,
) -> None:
    update = callback_update(1, 1001, f"cx:{HUGE_ID}:score:1", message_id=5)
    status, _, raw = await inputs.telegram(update)
    assert status == 200, raw
    (answer,) = await inputs.botapi.wait_for("answerCallbackQuery", 1)
    assert answer["text"]  # "this button is not one of ours", in words
    assert (await inputs.stored())["answers"] == 0


@pytest.mark.parametrize(
    ("secret", "says"),
    [(None, "is missing"), ("wrong", "is wrong"), ("wr\u00f6ng", "is wrong")],
)
async def test_a_telegram_update_without_its_secret_says_which_header_and_setting(
    inputs: InputHarness, secret: str | None, says: str
) -> None:
    path = str(inputs.server.services.telegram.webhook_path)  # type: ignore[union-attr]
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers["X-Telegram-Bot-Api-Secret-Token"] = secret
    update = json.dumps(message_update(1, 5005, "hello?")).encode()
    before = await inputs.stored()
    answer = error_of(*await inputs.send(path, update, headers))
    assert answer["error"] == "unauthorized"
    assert f"the header X-Telegram-Bot-Api-Secret-Token {says}" in answer["message"], answer
    assert "TELEGRAM_WEBHOOK_SECRET" in answer["message"], answer
    assert await inputs.stored() == before
    assert inputs.botapi.sent() == []


async def test_a_telegram_update_of_the_wrong_shape_is_a_400(inputs: InputHarness) -> None:
    error_of(*await inputs.telegram({"update_id": "x", "message": 5}))


async def test_a_slack_tap_with_an_id_beyond_the_database_is_answered(
    inputs: InputHarness,
) -> None:
    payload = {
        "type": "block_actions",
        "user": {"id": "U0CUSTOMER", "team_id": "T0001"},
        "team": {"id": "T0001"},
        "api_app_id": "A0001",
        "token": "legacy",
        "trigger_id": "1.2.3",
        "channel": {"id": "D0001"},
        "actions": [
            {"type": "button", "action_id": "cx_score", "value": f"{HUGE_ID}:score:1"},
        ],
    }
    body = urlencode({"payload": json.dumps(payload)})
    status, _, raw = await inputs.slack(body, "application/x-www-form-urlencoded")
    assert status == 200, raw
    (notice,) = await inputs.slackapi.wait_for("chat.postEphemeral", 1)
    assert notice["user"] == "U0CUSTOMER"
    assert (await inputs.stored())["answers"] == 0


@pytest.mark.parametrize("name", ["nested 1,000 levels", "a lone surrogate"])
async def test_slack_events_refuse_a_body_json_cannot_take(inputs: InputHarness, name: str) -> None:
    raw = BAD_BODIES[name].decode()
    assert error_of(*await inputs.slack(raw, "application/json"))["error"] == "invalid_json"
    form = urlencode({"payload": raw})
    status, content_type, answer = await inputs.slack(form, "application/x-www-form-urlencoded")
    assert error_of(status, content_type, answer)["error"] == "invalid_json"


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", {"type": "event_callback", "event_id": "Ev1", "event": "x"}),
        ("form", {"type": "block_actions", "user": {"id": "U0CUSTOMER"}, "actions": "x"}),
        ("form", {"type": "block_actions", "user": "U0CUSTOMER", "actions": [{}]}),
    ],
)
async def test_a_signed_slack_body_whose_parts_are_not_objects_is_a_400(
    inputs: InputHarness, content_type: str, body: dict[str, object]
) -> None:
    # bolt read these parts as objects unchecked: a 500 and a traceback.
    if content_type == "form":
        raw, content_type = (
            urlencode({"payload": json.dumps(body)}),
            "application/x-www-form-urlencoded",
        )
    else:
        raw = json.dumps(body)
    refusal = error_of(*await inputs.slack(raw, content_type))
    assert refusal == {"error": "invalid_request", "message": "not a Slack event or interaction"}
    assert inputs.slackapi.calls == []


async def test_an_unknown_path_and_method_answer_in_json(inputs: InputHarness) -> None:
    assert error_of(*await inputs.send("/api/v1/nowhere", b"", BEARER))["error"] == "not_found"
    status, content_type, raw = await inputs.send("/api/v1/events", b"", BEARER, method="GET")
    assert status == 405
    assert error_of(status, content_type, raw)["error"] == "method_not_allowed"


async def test_rules_yaml_json_cannot_take_is_a_4xx(inputs: InputHarness) -> None:
    for text in ("[" * 10_000 + "]" * 10_000, "rules: " + "9" * 5000):
        headers = {"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/yaml"}
        error_of(*await inputs.send("/api/v1/rules", text.encode(), headers, method="PUT"))


async def test_a_comment_holding_nul_is_stored_without_it(inputs: InputHarness) -> None:
    invitation_id = await inputs.invite()
    question = inputs.botapi.sent()[0]
    data = button_data(question, "9")
    tap = callback_update(
        inputs.botapi.next_update_id(), 1001, data, message_id=int(question["_message_id"])
    )
    assert (await inputs.telegram(tap))[0] == 200
    comment = message_update(inputs.botapi.next_update_id(), 1001, "fast\x00 and kind")
    status, _, raw = await inputs.telegram(comment)
    assert status == 200, raw  # not a failure Telegram would deliver again and again
    stored = await inputs.answers(invitation_id)
    assert [(a.score, a.text) for a in stored] == [(9, None), (None, "fast and kind")]
