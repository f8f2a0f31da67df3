"""Event authentication: bearer token, our HMAC signature, Zendesk's signature; else 401."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.helpdesks.zendesk import ZendeskSignature, zendesk_signature
from bot.triggers.auth import Credentials, authenticate, sign, untimed_signature

BODY = b'{"type": "case.closed"}'
NOW = datetime(2026, 11, 22, 12, 0, 0)
ALL = Credentials("token", "hmac-secret", ZendeskSignature("zendesk-secret"))
UNTIMED = Credentials("token", "hmac-secret", ZendeskSignature("zendesk-secret"), hmac_untimed=True)


def zendesk(body: bytes, at: datetime, secret: str = "zendesk-secret") -> dict[str, str]:
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "X-Zendesk-Webhook-Signature": zendesk_signature(body, stamp, secret),
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
    }


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer token"},
        {"Authorization": "bearer token "},
        {"X-Cxbot-Signature": sign(BODY, "hmac-secret", at=NOW)},
        {"X-Cxbot-Signature": sign(BODY, "hmac-secret", at=NOW - timedelta(minutes=4))},
        {"X-Cxbot-Signature": sign(BODY, "hmac-secret", at=NOW).upper()},
        {
            "X-Cxbot-Signature": sign(BODY, "old", at=NOW)
            + ",v1="
            + sign(BODY, "hmac-secret", at=NOW)[-64:]
        },
        zendesk(BODY, NOW - timedelta(minutes=4)),
        {"Authorization": "Bearer wrong", "X-Cxbot-Signature": sign(BODY, "hmac-secret", at=NOW)},
    ],
    ids=[
        "bearer",
        "bearer-lower",
        "hmac",
        "hmac-4-minutes-old",
        "hmac-upper",
        "hmac-rotated-secret",
        "zendesk",
        "one-valid-is-enough",
    ],
)
def test_valid_credentials_pass(headers: dict[str, str]) -> None:
    assert authenticate(headers, BODY, ALL, now=NOW) is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Authorization": "Basic dXNlcjpwYXNz"}, "Authorization: Bearer"),
        ({"X-Cxbot-Signature": sign(b"{}", "hmac-secret", at=NOW)}, "does not match the body"),
        ({"X-Cxbot-Signature": sign(BODY, "other", at=NOW)}, "does not match the body"),
        (
            {"X-Cxbot-Signature": sign(BODY, "hmac-secret", at=NOW - timedelta(minutes=6))},
            "more than 5 minutes",
        ),
        (
            {"X-Cxbot-Signature": sign(BODY, "hmac-secret", at=NOW + timedelta(minutes=6))},
            "more than 5 minutes",
        ),
        ({"X-Cxbot-Signature": "t=soon,v1=00"}, "'t=<unix seconds>,v1=<hex>'"),
        ({"X-Cxbot-Signature": "t=1795348800"}, "'t=<unix seconds>,v1=<hex>'"),
        (
            {"X-Cxbot-Signature": untimed_signature(BODY, "hmac-secret")},
            "CXBOT_HMAC_ALLOW_UNTIMED",
        ),
        (zendesk(BODY, NOW - timedelta(minutes=6)), "more than 5 minutes"),
        (zendesk(BODY, NOW + timedelta(minutes=6)), "more than 5 minutes"),
        (zendesk(BODY, NOW, "other"), "does not match the body and timestamp"),
        (
            {"X-Zendesk-Webhook-Signature": "x", "X-Zendesk-Webhook-Signature-Timestamp": "soon"},
            "ISO 8601",
        ),
    ],
    ids=[
        "basic",
        "other-body",
        "other-secret",
        "hmac-stale",
        "hmac-future",
        "hmac-bad-time",
        "hmac-no-digest",
        "hmac-untimed-is-off",
        "stale",
        "future",
        "zendesk-other",
        "no-stamp",
    ],
)
def test_invalid_credentials_are_401_saying_why(headers: dict[str, str], expected: str) -> None:
    denied = authenticate(headers, BODY, ALL, now=NOW)
    assert denied is not None
    assert (denied.status, denied.code) == (401, "unauthorized")
    assert expected in denied.message


@pytest.mark.parametrize(
    "signature",
    [
        untimed_signature(BODY, "hmac-secret"),
        untimed_signature(BODY, "hmac-secret").upper().replace("SHA256", "sha256"),
        untimed_signature(BODY, "hmac-secret").removeprefix("sha256="),
        sign(BODY, "hmac-secret", at=NOW),
    ],
    ids=["bare", "bare-upper-hex", "bare-hex-only", "timed-still-works"],
)
def test_the_replayable_bare_form_passes_only_when_allowed(signature: str) -> None:
    assert authenticate({"X-Cxbot-Signature": signature}, BODY, UNTIMED, now=NOW) is None


def test_a_captured_request_is_refused_once_its_five_minutes_are_over() -> None:
    headers = {"X-Cxbot-Signature": sign(BODY, "hmac-secret", at=NOW)}
    assert authenticate(headers, BODY, ALL, now=NOW + timedelta(minutes=5)) is None
    replayed = authenticate(headers, BODY, ALL, now=NOW + timedelta(minutes=5, seconds=1))
    assert replayed is not None and replayed.status == 401
    assert "replay" in replayed.message
    # The bare form signs no time: allowed, it would pass a year later.
    bare = {"X-Cxbot-Signature": untimed_signature(BODY, "hmac-secret")}
    assert authenticate(bare, BODY, UNTIMED, now=NOW + timedelta(days=365)) is None


def test_nothing_sent_lists_only_the_configured_ways() -> None:
    denied = authenticate({}, BODY, Credentials(None, "hmac-secret"), now=NOW)
    assert denied is not None and denied.status == 401
    assert "X-Cxbot-Signature: t=<unix seconds>,v1=" in denied.message
    assert "Bearer" not in denied.message and "Zendesk" not in denied.message


def test_a_way_that_is_not_configured_does_not_let_anyone_in() -> None:
    headers = {"X-Cxbot-Signature": sign(BODY, "", at=NOW)}
    denied = authenticate(headers, BODY, Credentials("token"), now=NOW)
    assert denied is not None and denied.status == 401


def test_nothing_configured_is_503() -> None:
    denied = authenticate({"Authorization": "Bearer x"}, BODY, Credentials(None), now=NOW)
    assert denied is not None and denied.status == 503
    assert "CXBOT_API_TOKEN" in denied.message and "CXBOT_HMAC_SECRET" in denied.message


def test_signatures_match_the_documented_algorithms_computed_elsewhere() -> None:
    # Computed with openssl, not with our code:
    #   printf '%s' "1795348800.$BODY" | openssl dgst -sha256 -hmac hmac-secret
    #   printf '%s' "$BODY" | openssl dgst -sha256 -hmac hmac-secret
    #   printf '%s%s' "$TS" "$BODY" | openssl dgst -sha256 -hmac "$SECRET" -binary | base64
    assert sign(BODY, "hmac-secret", at=NOW) == (
        "t=1795348800,v1=7b4323b76aeeff792ea160119948262861b8382ce995ce84e6e7c6b534597c68"
    )
    assert untimed_signature(BODY, "hmac-secret") == (
        "sha256=eefe16ee80a8cfc8a59cc914da30d2c52a0f20a5f8aa04da81392fac536fb3a8"
    )
    zendesk_body = b'{"ticket": {"id": "35436"}}'
    secret = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="  # Zendesk's documented test secret
    assert zendesk_signature(zendesk_body, "2026-11-22T12:00:00Z", secret) == (
        "08sNkhJ8likNQf5qWBuhdhYctGUBb9UBzDv7E3RXIDU="
    )
