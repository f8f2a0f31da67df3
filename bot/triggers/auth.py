"""Who may send events: a bearer token, our HMAC signature, or a help desk's own signature."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

SIGNATURE_HEADER = "X-Cxbot-Signature"
# Older signatures are replays.
SIGNATURE_MAX_AGE = timedelta(minutes=5)


class VendorSignature(Protocol):
    """A help desk's own webhook signature (Zendesk's, Chatwoot's), with its secret."""

    @property
    def header(self) -> str:
        """The header whose presence says the help desk signed the request."""
        ...

    @property
    def description(self) -> str:
        """How to sign, for the 401 that lists the ways in."""
        ...

    def problem(self, headers: Mapping[str, str], body: bytes, now: datetime) -> str | None:
        """None when the signature is right; else what is wrong with it."""
        ...


@dataclass(frozen=True)
class Credentials:
    """The secrets this installation accepts (None: that way is off)."""

    api_token: str | None
    hmac_secret: str | None = None
    vendor: VendorSignature | None = None  # the help desk's signature, on its own hook
    # The bare ``sha256=<hex>`` form signs no time, so a captured request can be replayed for
    # ever; it is accepted only when this is set (CXBOT_HMAC_ALLOW_UNTIMED).
    hmac_untimed: bool = False


@dataclass(frozen=True)
class Denied:
    """Why a request is refused, as the HTTP answer will say it."""

    status: int
    code: str
    message: str


def sign(body: bytes, secret: str, *, at: datetime | None = None) -> str:
    """The X-Cxbot-Signature value for `body` sent at `at` (default now):
    ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>``."""
    moment = at or datetime.now(UTC)
    if moment.tzinfo is None:  # naive: UTC, as storage.clock.utcnow gives it
        moment = moment.replace(tzinfo=UTC)
    stamp = int(moment.timestamp())
    return f"t={stamp},v1={_timed_digest(body, str(stamp), secret)}"


def untimed_signature(body: bytes, secret: str) -> str:
    """The replayable bare form, ``sha256=<hex HMAC-SHA256 of the body>`` (see Credentials)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _timed_digest(body: bytes, stamp: str, secret: str) -> str:
    return hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()


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
        problem = _ours(headers[SIGNATURE_HEADER], body, accepted, now)
        if problem is None:
            return None
        failures.append(problem)
    if accepted.vendor is not None and accepted.vendor.header in headers:
        problem = accepted.vendor.problem(headers, body, now)
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
            f'\'{SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + the raw '
            "body with CXBOT_HMAC_SECRET>'"
        )
    if accepted.vendor is not None:
        ways.append(accepted.vendor.description)
    return ways


def _ours(header: str, body: bytes, accepted: Credentials, now: datetime) -> str | None:
    """None when our signature is right and fresh; else what is wrong with it."""
    assert accepted.hmac_secret is not None
    given = header.strip()
    if not given.lower().startswith("t="):
        if not accepted.hmac_untimed:
            return (
                f"the {SIGNATURE_HEADER} header must carry its time: "
                "'t=<unix seconds>,v1=<hex HMAC-SHA256 of \"<t>.\" + body>' (the bare "
                "sha256= form can be replayed and is off unless CXBOT_HMAC_ALLOW_UNTIMED=true)"
            )
        bare = given.lower()  # hex may come in upper case, with or without "sha256="
        if not bare.startswith("sha256="):
            bare = "sha256=" + bare
        expected = untimed_signature(body, accepted.hmac_secret)
        if secrets.compare_digest(bare.encode(), expected.encode()):
            return None
        return f"the {SIGNATURE_HEADER} header does not match the body"
    parts = [part.strip().partition("=") for part in given.split(",")]
    stamps = [value for name, _, value in parts if name.lower() == "t"]
    digests = [value.lower() for name, _, value in parts if name.lower() == "v1"]
    if len(stamps) != 1 or not stamps[0].isdigit() or len(stamps[0]) > 12 or not digests:
        return f"the {SIGNATURE_HEADER} header must be 't=<unix seconds>,v1=<hex>'"
    signed_at = datetime.fromtimestamp(int(stamps[0]), UTC)
    if abs(now.replace(tzinfo=UTC) - signed_at) > SIGNATURE_MAX_AGE:
        return (
            f"the {SIGNATURE_HEADER} time t={stamps[0]} is more than "
            f"{int(SIGNATURE_MAX_AGE.total_seconds() // 60)} minutes from now (a replay, or a "
            "clock that is off)"
        )
    expected = _timed_digest(body, stamps[0], accepted.hmac_secret)
    # Several v1 values may come while a secret is rotated: one right one is enough.
    if any(secrets.compare_digest(d.encode(), expected.encode()) for d in digests):
        return None
    return f"the {SIGNATURE_HEADER} header does not match the body and its time"
