"""The rules API and the rules file: read, replace, reload on change, pause and resume."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest

from tests.bot.conftest import API_TOKEN
from tests.bot.triggers.conftest import TriggerHarness, event

NEW_RULES = """\
# Only solved cases, and a CES survey.
rules:
  - id: ces-solved
    match:
      type: case.solved
    survey: ces
    delay: 30m
    window: "09:00-20:00"
    timezone: Europe/Warsaw
"""


async def wait_for_rules(
    triggers: TriggerHarness, done: Any, within: float = 10.0
) -> dict[str, Any]:
    """GET /api/v1/rules until `done(body)`; the file is looked at about once a second."""
    for _ in range(int(within / 0.1)):
        body = await triggers.rules()
        if done(body):
            return body
        await asyncio.sleep(0.1)
    raise AssertionError(f"rules never changed: {body}")


def ids(body: dict[str, Any]) -> list[str]:
    return [rule["id"] for rule in body["rules"]]


async def test_get_lists_the_rules_in_order_with_the_file(triggers: TriggerHarness) -> None:
    body = await triggers.rules()
    assert ids(body) == ["vip-closed", "sales-half", "billing-later", "escalations", "nps-closed"]
    assert body["path"] == str(triggers.rules_path) and body["error"] is None
    billing = body["rules"][2]
    assert (billing["survey"], billing["delay"], billing["paused"]) == ("ces", "2h", False)
    assert body["rules"][0]["match"]["tags"] == ["vip"]
    assert body["rules"][3]["paused"] is True


async def test_the_rules_api_wants_the_bearer_token(triggers: TriggerHarness) -> None:
    async with triggers.http.get(f"{triggers.server.url}/api/v1/rules") as response:
        assert response.status == 401
    async with triggers.http.put(
        f"{triggers.server.url}/api/v1/rules", data=NEW_RULES, headers={"X-Cxbot-Signature": "x"}
    ) as response:
        assert response.status == 401
    assert "vip-closed" in triggers.rules_path.read_text()


async def test_put_yaml_replaces_the_file_and_decides_the_next_event(
    triggers: TriggerHarness,
) -> None:
    status, body = await triggers.put_rules(NEW_RULES)
    assert status == 200, body
    assert ids(body) == ["ces-solved"]
    assert triggers.rules_path.read_text() == NEW_RULES  # comments kept
    status, answer = await triggers.event(event(type="case.closed"))
    assert (status, answer["reason"]) == (200, "no_rule")
    status, answer = await triggers.event(event("T-2", type="case.solved"))
    assert (status, answer["rule"]) == (202, "ces-solved")
    entry = (await triggers.audit())[-1]
    assert (entry.actor, entry.action, entry.target) == (
        "api",
        "rules.replace",
        str(triggers.rules_path),
    )
    assert "5 rules -> 1" in entry.detail


async def test_put_json_is_written_as_yaml(triggers: TriggerHarness) -> None:
    rules = {"rules": [{"id": "all", "survey": "csat", "match": {"type": ["case.closed"]}}]}
    status, body = await triggers.put_rules(json.dumps(rules), "application/json")
    assert status == 200, body
    assert ids(body) == ["all"]
    written = triggers.rules_path.read_text()
    assert "- id: all" in written and "{" not in written


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        ("rules:\n  - id: a\n    survey: nope\n", 3, "rules[0].survey: unknown survey 'nope'"),
        ("rules:\n  - id: a\n    survey: nps\n    delay: soon\n", 4, "rules[0].delay"),
        ("rules:\n  - id: a\n    survey: nps\n  - id: a\n    survey: ces\n", 4, "duplicate"),
    ],
    ids=["unknown-survey", "bad-delay", "duplicate-id"],
)
async def test_a_bad_put_says_where_and_keeps_the_old_rules(
    triggers: TriggerHarness, text: str, line: int, expected: str
) -> None:
    before = triggers.rules_path.read_text()
    status, body = await triggers.put_rules(text)
    assert status == 422
    assert body["error"] == "invalid_rules" and body["line"] == line
    assert body["message"].startswith(f"request body:{line}: ")
    assert expected in body["message"]
    assert triggers.rules_path.read_text() == before
    assert ids(await triggers.rules())[0] == "vip-closed"
    status, answer = await triggers.event(event(tags=["vip"]))
    assert (status, answer["rule"]) == (202, "vip-closed")


@pytest.mark.parametrize(
    ("text", "line", "expected"),
    [
        ("", None, "request body: it is empty: send the whole rules file"),
        ("\n  \n", None, "request body: it is empty: send the whole rules file"),
        ("{}", 1, "request body:1: 'rules' is missing: send the whole rules file"),
        ("rule:\n  - id: a\n    survey: nps\n", 1, "request body:1: 'rules' is missing"),
    ],
    ids=["empty", "blank", "empty-json", "no-rules-key"],
)
async def test_a_put_that_does_not_say_rules_removes_nothing(
    triggers: TriggerHarness, text: str, line: int | None, expected: str
) -> None:
    before = triggers.rules_path.read_text()
    status, body = await triggers.put_rules(text)
    assert status == 422, body
    assert (body["error"], body["line"]) == ("invalid_rules", line)
    assert body["message"].startswith(expected)
    assert "'rules: []'" in body["message"]  # how to remove every rule, on purpose
    assert triggers.rules_path.read_text() == before
    assert len(ids(await triggers.rules())) == 5


async def test_an_explicit_empty_list_removes_every_rule(triggers: TriggerHarness) -> None:
    status, body = await triggers.put_rules("rules: []\n")
    assert (status, ids(body)) == (200, [])
    status, answer = await triggers.event(event(tags=["vip"]))
    assert (status, answer["reason"]) == (200, "no_rule")


async def test_the_rules_get_returns_can_be_put_back_unchanged(triggers: TriggerHarness) -> None:
    await triggers.post("/api/v1/rules/vip-closed/pause")
    listed = await triggers.rules()
    status, body = await triggers.put_rules(json.dumps({"rules": listed["rules"]}))
    assert status == 200, body
    assert body["rules"] == listed["rules"]


async def test_editing_the_file_reloads_the_rules_without_a_restart(
    triggers: TriggerHarness,
) -> None:
    triggers.rules_path.write_text(NEW_RULES)
    body = await wait_for_rules(triggers, lambda b: ids(b) == ["ces-solved"])
    assert body["error"] is None
    status, answer = await triggers.event(event(type="case.solved"))
    assert (status, answer["rule"]) == (202, "ces-solved")


async def test_edits_are_taken_up_and_logged_without_any_request(
    triggers: TriggerHarness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.triggers.rulebook")

    async def logged(text: str) -> logging.LogRecord:
        for _ in range(100):
            found = [r for r in caplog.records if text in r.getMessage()]
            if found:
                return found[-1]
            await asyncio.sleep(0.1)
        raise AssertionError(f"never logged: {text}")

    triggers.rules_path.write_text("rules:\n  - id: x\n    survey: nps\n    delay: soon\n")
    broken = await logged("keeping the last good rules")
    assert broken.levelno == logging.ERROR
    assert f"{triggers.rules_path}:4: rules[0].delay: 'soon'" in broken.getMessage()
    triggers.rules_path.write_text(NEW_RULES)
    fixed = await logged("rules reloaded from")
    assert fixed.getMessage().endswith(": ces-solved")
    # Nothing but the watcher looked: the next event is decided by the new rules.
    status, answer = await triggers.event(event(type="case.solved"))
    assert (status, answer["rule"]) == (202, "ces-solved")


async def test_a_broken_edit_keeps_the_last_good_rules_and_reports_the_error(
    triggers: TriggerHarness,
) -> None:
    triggers.rules_path.write_text("rules:\n  - id: x\n    survey: nps\n    sample: 300\n")
    body = await wait_for_rules(triggers, lambda b: b["error"] is not None)
    assert body["error"].startswith(f"{triggers.rules_path}:4: rules[0].sample")
    assert ids(body)[0] == "vip-closed"
    assert "the file has an error" in await triggers.server.services.triggers.rules_text()
    status, answer = await triggers.event(event(tags=["vip"]))
    assert (status, answer["rule"]) == (202, "vip-closed")
    # Fixed: the error goes away.
    triggers.rules_path.write_text(NEW_RULES)
    body = await wait_for_rules(triggers, lambda b: b["error"] is None)
    assert ids(body) == ["ces-solved"]


async def post_rule(triggers: TriggerHarness, rule_id: str, action: str) -> tuple[int, Any]:
    async with triggers.http.post(
        f"{triggers.server.url}/api/v1/rules/{rule_id}/{action}",
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    ) as response:
        return response.status, await response.json()


async def test_pause_then_resume_through_the_api(triggers: TriggerHarness) -> None:
    status, body = await post_rule(triggers, "nps-closed", "pause")
    assert status == 200 and body["paused"] is True
    assert (await triggers.rules())["rules"][4]["paused"] is True
    status, answer = await triggers.event(event("P-1"))
    assert (status, answer["reason"], answer["rule"]) == (200, "paused_rule", "nps-closed")
    status, body = await post_rule(triggers, "nps-closed", "resume")
    assert status == 200 and body["paused"] is False
    status, answer = await triggers.event(event("P-2"))
    assert (status, answer["rule"]) == (202, "nps-closed")
    # A rule paused in the file is resumed by the API too.
    status, _ = await post_rule(triggers, "escalations", "resume")
    status, answer = await triggers.event(event("P-3", type="case.escalated", recipient="2002"))
    assert (status, answer["rule"]) == (202, "escalations")
    audit = [(e.actor, e.action, e.target) for e in await triggers.audit()]
    assert audit == [
        ("api", "rule.pause", "nps-closed"),
        ("api", "rule.resume", "nps-closed"),
        ("api", "rule.resume", "escalations"),
    ]
    assert "vip-closed" in triggers.rules_path.read_text()  # the file is not touched


async def test_pausing_an_unknown_rule_is_a_404_listing_the_rules(
    triggers: TriggerHarness,
) -> None:
    status, body = await post_rule(triggers, "nope", "pause")
    assert status == 404
    assert body["error"] == "unknown_rule" and "nps-closed" in body["known"]
    assert await triggers.audit() == []


async def test_a_put_makes_the_file_decide_alone_again(triggers: TriggerHarness) -> None:
    await post_rule(triggers, "nps-closed", "pause")
    status, _ = await triggers.put_rules(triggers.rules_path.read_text())
    assert status == 200
    assert (await triggers.rules())["rules"][4]["paused"] is False
    assert "1 pause/resume override(s) cleared" in (await triggers.audit())[-1].detail
