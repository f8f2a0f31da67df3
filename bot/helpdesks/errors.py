"""What can go wrong talking to a help desk's API."""

from __future__ import annotations


class HelpDeskError(Exception):
    """Root of the help desks' errors."""


class RateLimited(HelpDeskError):
    """The help desk answered 429: come back after ``retry_after`` seconds."""

    def __init__(self, helpdesk: str, retry_after: float) -> None:
        super().__init__(f"{helpdesk} is rate limiting cxbot: retry after {retry_after:g} s")
        self.helpdesk = helpdesk
        self.retry_after = retry_after


class WriteFailed(HelpDeskError):
    """A call failed: ``permanent`` (a 4xx: wrong credentials, no such case) or for now."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class NotConfigured(HelpDeskError):
    """The help desk's API settings are missing (its base URL or credentials)."""
