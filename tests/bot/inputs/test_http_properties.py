"""Property: whatever is posted, with valid credentials, to the HTTP API, the help-desk hooks,
Telegram's webhook or /slack/events, cxbot answers below 500, a 4xx in the JSON error shape,
and a refused request stores nothing but (for an event whose case can be told) its refusal."""

from __future__ import annotations

import itertools
import json
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import col, select

from bot.triggers.auth import sign
from storage.tables import Decision
from tests.bot.conftest import API_TOKEN
from tests.bot.inputs.conftest import InputHarness
from tests.bot.triggers.conftest import HMAC_SECRET
from tests.bot.triggers.payloads import CHATWOOT_RESOLVED, FRESHDESK_ADVANCED, ZENDESK_TRIGGER

# Bounded, so that the whole file runs in seconds.
FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Values that broke cxbot once, or that every database or parser treats differently.
NASTY = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "T-\x001",
        "\ud800",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "x" * 5000,
        "a,b",
        "{{ticket.id}}",
        "cx:" + "1" * 40 + ":score:1",
        10**40,
        -(2**63),
        2**31,
        1.5,
        True,
        None,
        [],
        {},
        [[[[["deep"]]]]],
    ]
)
SCALARS = st.one_of(
    NASTY,
    st.text(max_size=40),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)

EVENT_FIELDS = [
    "type",
    "case_id",
    "channel",
    "recipient",
    "user",
    "language",
    "timezone",
    "occurred_at",
    "team",
    "agent",
    "tags",
    "priority",
    "attributes",
]
INVITATION_FIELDS = ["survey", "channel", "recipient", "case_id", "attributes", "language", "user"]
VALID_EVENT = {"type": "case.closed", "case_id": "F-1", "channel": "telegram", "recipient": "1001"}
VALID_INVITATION = {"survey": "nps", "channel": "telegram", "recipient": "1001", "case_id": "F-1"}


def changed(valid: dict[str, Any], fields: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    """`valid` with some fields replaced by any value, some removed, some unknown added."""
    replaced = st.dictionaries(st.sampled_from(fields), VALUES, max_size=4)
    removed = st.sets(st.sampled_from(sorted(valid)), max_size=2)
    extra = st.dictionaries(st.text(max_size=8), VALUES, max_size=1)
    return st.builds(
        lambda new, gone, more: {
            **{k: v for k, v in valid.items() if k not in gone},
            **new,
            **more,
        },
        replaced,
        removed,
        extra,
    )


def body_of(value: Any) -> bytes:
    # json.dumps writes a lone surrogate as "\ud800", as a client in another language would.
    return json.dumps(value).encode()


RAW_BODIES = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([b"", b"null", b"[]", b'"x"', b"{", b'{"a": 1e999}', b"[" * 5000]),
)


async def check(
    harness: InputHarness, answer: tuple[int, str, bytes], before: dict[str, int], refused_ok: bool
) -> None:
    status, content_type, raw = answer
    assert status < 500, (status, raw[:500])
    if status < 400:
        return
    assert content_type == "application/json", raw[:300]
    error = json.loads(raw)
    assert isinstance(error["error"], str) and isinstance(error["message"], str), error
    after = await harness.stored()
    assert {k: v for k, v in after.items() if k != "decisions"} == {
        k: v for k, v in before.items() if k != "decisions"
    }, error
    new = after["decisions"] - before["decisions"]
    assert new <= (1 if refused_ok else 0), error
    if new:
        async with harness.database.session() as session:
            last = (await session.exec(select(Decision).order_by(col(Decision.id).desc()))).first()
        assert last is not None and last.outcome == "rejected"
        assert len(json.dumps(last.event)) + len(last.detail) < 5000


async def post(
    harness: InputHarness, path: str, raw: bytes, auth: str, query: dict[str, str] | None = None
) -> tuple[int, str, bytes]:
    headers = {"Content-Type": "application/json"}
    if auth == "bearer":
        headers["Authorization"] = f"Bearer {API_TOKEN}"
    else:
        headers["X-Cxbot-Signature"] = sign(raw, HMAC_SECRET)
    if query:
        path = f"{path}?{urlencode(query)}"
    return await harness.send(path, raw, headers)


@FUZZ
@given(
    body=st.one_of(changed(VALID_EVENT, EVENT_FIELDS).map(body_of), RAW_BODIES),
    auth=st.sampled_from(["bearer", "hmac"]),
)
async def test_events_answer_below_500_and_store_nothing_refused(
    inputs: InputHarness, body: bytes, auth: str
) -> None:
    before = await inputs.stored()
    await check(inputs, await post(inputs, "/api/v1/events", body, auth), before, True)


@FUZZ
@given(body=st.one_of(changed(VALID_INVITATION, INVITATION_FIELDS).map(body_of), RAW_BODIES))
async def test_invitations_answer_below_500_and_store_nothing_refused(
    inputs: InputHarness, body: bytes
) -> None:
    before = await inputs.stored()
    await check(inputs, await post(inputs, "/api/v1/invitations", body, "bearer"), before, False)


HOOKS = {
    "zendesk": (ZENDESK_TRIGGER, ["id", "status", "priority", "tags", "group", "assignee"]),
    "freshdesk": (FRESHDESK_ADVANCED, ["id", "status", "priority", "tags", "group", "agent"]),
}


@st.composite
def hook_requests(draw: st.DrawFn) -> tuple[str, bytes, dict[str, str]]:
    name = draw(st.sampled_from([*HOOKS, "chatwoot"]))
    if name == "chatwoot":
        fields = ["id", "status", "priority", "labels", "channel", "contact_inbox", "meta"]
        body = draw(changed(CHATWOOT_RESOLVED, fields))
    else:
        sample, fields = HOOKS[name]
        body = {"ticket": draw(changed(sample["ticket"], [*fields, "recipient", "requester"]))}
    query = draw(
        st.dictionaries(
            st.sampled_from(["channel", "timezone", "language"]),
            st.sampled_from(["telegram", "slack", "", "x" * 300, "Mars/Base", "pl", "\x00"]),
        )
    )
    raw = draw(st.one_of(st.just(body_of(body)), RAW_BODIES))
    return f"/api/v1/hooks/{name}", raw, query


@FUZZ
@given(request=hook_requests())
async def test_hooks_answer_below_500_and_store_nothing_refused(
    inputs: InputHarness, request: tuple[str, bytes, dict[str, str]]
) -> None:
    path, raw, query = request
    before = await inputs.stored()
    await check(inputs, await post(inputs, path, raw, "bearer", query), before, True)


# Ids near the edges of the database's integer, where a query fails rather than finds nothing.
IDS = st.one_of(
    st.integers(-3, 3),
    st.sampled_from([2**31 - 1, 2**31, 2**63, 10**40]),
    st.integers(),
)
CALLBACK_DATA = st.one_of(
    st.builds(
        lambda i, q, v: f"cx:{i}:{q}:{v}",
        IDS,
        st.sampled_from(["score", "q1", ""]) | st.text(max_size=10),
        st.sampled_from(["1", "-", ""]) | st.text(max_size=10),
    ),
    st.text(max_size=64),
)


UPDATE_IDS = itertools.count(1)


@st.composite
def telegram_updates(draw: st.DrawFn) -> bytes:
    # A new id each time: a replayed update is deduplicated, which would hide a failure.
    update_id = next(UPDATE_IDS)
    user = {
        "id": draw(st.integers(min_value=1, max_value=2**52)),
        "is_bot": False,
        "first_name": "A",
    }
    chat = {"id": user["id"], "type": "private"}
    kind = draw(st.sampled_from(["callback", "message", "raw"]))
    if kind == "callback":
        update: Any = {
            "update_id": update_id,
            "callback_query": {
                "id": "cb",
                "from": user,
                "chat_instance": "1",
                "data": draw(CALLBACK_DATA),
                "message": {"message_id": 1, "date": 0, "chat": chat, "text": "survey"},
            },
        }
    elif kind == "message":
        text = draw(st.one_of(st.text(max_size=200), NASTY.filter(lambda v: isinstance(v, str))))
        update = {
            "update_id": update_id,
            "message": {"message_id": 1, "date": 0, "chat": chat, "from": user, "text": text},
        }
    else:
        update = draw(VALUES)
    return body_of(update)


@FUZZ
@given(raw=st.one_of(telegram_updates(), telegram_updates(), RAW_BODIES))
async def test_the_telegram_webhook_answers_below_500(inputs: InputHarness, raw: bytes) -> None:
    before = await inputs.stored()
    answer = await inputs.telegram(raw)
    await check(inputs, answer, before, False)


@st.composite
def slack_requests(draw: st.DrawFn) -> tuple[str, str]:
    if draw(st.booleans()):
        payload = {
            "type": "block_actions",
            "user": {"id": "U0CUSTOMER", "team_id": "T0001"},
            "team": {"id": "T0001"},
            "api_app_id": "A0001",
            "token": "legacy",
            "trigger_id": "1.2.3",
            "channel": {"id": "D0001"},
            "actions": [
                {
                    "type": "button",
                    "action_id": "cx_" + draw(st.text(max_size=5)),
                    "value": draw(st.one_of(CALLBACK_DATA.map(lambda d: d[3:]), VALUES)),
                }
            ],
        }
        return urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"
    event = {
        "type": "event_callback",
        "team_id": "T0001",
        "api_app_id": "A0001",
        "event_id": f"Ev{next(UPDATE_IDS)}",
        "event": {
            "type": "message",
            "channel_type": "im",
            "channel": "D0001",
            "user": draw(st.one_of(st.just("U0CUSTOMER"), VALUES)),
            "text": draw(st.one_of(st.text(max_size=100), VALUES)),
        },
    }
    return json.dumps(event), "application/json"


@FUZZ
@given(request=slack_requests())
async def test_slack_events_answer_below_500(
    inputs: InputHarness, request: tuple[str, str]
) -> None:
    body, content_type = request
    before = await inputs.stored()
    await check(inputs, await inputs.slack(body, content_type), before, False)


@FUZZ
@given(segment=st.one_of(st.text(min_size=1, max_size=50), NASTY.map(str)))
async def test_an_invitation_looked_up_by_any_id_answers_below_500(
    inputs: InputHarness, segment: str
) -> None:
    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    path = "/api/v1/invitations/" + quote(segment.encode("utf-8", "surrogatepass"), safe="")
    before = await inputs.stored()
    await check(inputs, await inputs.send(path, b"", headers, method="GET"), before, False)
