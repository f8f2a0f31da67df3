"""Who may send events: a bearer token, our HMAC signature, or Zendesk's own signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

SIGNATURE_HEADER = "X-Cxbot-Signature"
ZENDESK_SIGNATURE = "X-Zendesk-Webhook-Signature"
ZENDESK_TIMESTAMP = "X-Zendesk-Webhook-Signature-Timestamp"
# Zendesk signs the timestamp with the body; an older one is a replay.
ZENDESK_MAX_AGE = timedelta(minutes=5)


@dataclass(frozen=True)
class Credentials:
    """The secrets this installation accepts (None: that way is off)."""

    api_token: str | None
    hmac_secret: str | None = None
    zendesk_secret: str | None = None


@dataclass(frozen=True)
class Denied:
    """Why a request is refused, as the HTTP answer will say it."""

    status: int
    code: str
    message: str


def sign(body: bytes, secret: str) -> str:
    """The X-Cxbot-Signature value for `body`: ``sha256=<hex HMAC-SHA256>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def zendesk_signature(body: bytes, timestamp: str, secret: str) -> str:
    """Zendesk's X-Zendesk-Webhook-Signature: base64 HMAC-SHA256 of timestamp + body."""
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def bearer(headers: Mapping[str, str], token: str | None) -> Denied | None:
    """None when `Authorization: Bearer <token>` is right; the refusal otherwise."""
    if token is None:
        return Denied(503, "api_disabled", "the API is off: set CXBOT_API_TOKEN to turn it on")
    scheme, _, given = headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return Denied(
            401, "unauthorized", "send the header 'Authorization: Bearer <CXBOT_API_TOKEN>'"
        )
    if not secrets.compare_digest(given.strip().encode(), token.encode()):
        return Denied(401, "unauthorized", "the bearer token is wrong")
    return None


def authenticate(
    headers: Mapping[str, str], body: bytes, accepted: Credentials, *, now: datetime
) -> Denied | None:
    """None when one of the credentials sent is valid; else why not, and what to send."""
    ways = _ways(accepted)
    if not ways:
        return Denied(
            503,
            "api_disabled",
            "events are off: set CXBOT_API_TOKEN (bearer token) or CXBOT_HMAC_SECRET "
            "(signed bodies)",
        )
    failures: list[str] = []
    if accepted.hmac_secret is not None and SIGNATURE_HEADER in headers:
        expected = sign(body, accepted.hmac_secret)
        given = headers[SIGNATURE_HEADER].strip().lower()  # hex may come in upper case
        if not given.startswith("sha256="):
            given = "sha256=" + given  # the bare hex digest, as some senders write it
        if secrets.compare_digest(given.encode(), expected.encode()):
            return None
        failures.append(f"the {SIGNATURE_HEADER} header does not match the body")
    if accepted.zendesk_secret is not None and ZENDESK_SIGNATURE in headers:
        problem = _zendesk(headers, body, accepted.zendesk_secret, now)
        if problem is None:
            return None
        failures.append(problem)
    if accepted.api_token is not None and "Authorization" in headers:
        refused = bearer(headers, accepted.api_token)
        if refused is None:
            return None
        failures.append(refused.message)
    if failures:
        return Denied(401, "unauthorized", "; ".join(failures))
    return Denied(401, "unauthorized", "send one of: " + "; or ".join(ways))


def _ways(accepted: Credentials) -> list[str]:
    ways = []
    if accepted.api_token is not None:
        ways.append("'Authorization: Bearer <CXBOT_API_TOKEN>'")
    if accepted.hmac_secret is not None:
        ways.append(
            f"'{SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of the raw body with CXBOT_HMAC_SECRET>'"
        )
    if accepted.zendesk_secret is not None:
        ways.append(
            f"Zendesk's signing headers ({ZENDESK_SIGNATURE} and {ZENDESK_TIMESTAMP}, "
            "signed with ZENDESK_WEBHOOK_SECRET)"
        )
    return ways


def _zendesk(headers: Mapping[str, str], body: bytes, secret: str, now: datetime) -> str | None:
    stamp = headers.get(ZENDESK_TIMESTAMP, "").strip()
    try:
        signed_at = datetime.fromisoformat(stamp)
    except ValueError:
        return f"send {ZENDESK_TIMESTAMP} with the time Zendesk signed at (ISO 8601)"
    if signed_at.tzinfo is None:
        signed_at = signed_at.replace(tzinfo=UTC)
    if abs(now.replace(tzinfo=UTC) - signed_at) > ZENDESK_MAX_AGE:
        return (
            f"the Zendesk signature timestamp {stamp} is more than "
            f"{int(ZENDESK_MAX_AGE.total_seconds() // 60)} minutes from now (a replay, or a "
            "clock that is off)"
        )
    expected = zendesk_signature(body, stamp, secret)
    if not secrets.compare_digest(headers[ZENDESK_SIGNATURE].strip().encode(), expected.encode()):
        return f"the {ZENDESK_SIGNATURE} header does not match the body and timestamp"
    return None
