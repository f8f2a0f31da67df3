"""Errors of posting digests."""

from __future__ import annotations


class DigestNotPosted(Exception):
    """The chat did not take the digest. ``permanent``: it never will as things are (cxbot
    removed from the group, the channel archived); otherwise the slot is tried again."""

    def __init__(self, reason: str, *, permanent: bool) -> None:
        self.reason = reason
        self.permanent = permanent
        super().__init__(reason)
