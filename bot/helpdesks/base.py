"""The one shape of a help desk: its hook read into an event, and its own webhook signature."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

from bot.triggers.auth import VendorSignature
from surveys.rules import Event


class HelpDesk(ABC):
    """A help desk cxbot takes webhooks from at ``POST /api/v1/hooks/<name>``.

    A new help desk (Zammad, HubSpot, Help Scout) is one more module with a subclass and one
    line in `registry.helpdesks`.
    """

    name: ClassVar[str]  # "zendesk": the hook's path and the stored decisions' source
    title: ClassVar[str]  # "Zendesk", as messages name it

    @abstractmethod
    def event(self, body: Any, query: Mapping[str, str]) -> Event:
        """The event in a webhook's JSON `body` (and the hook URL's `query`); InvalidEvent
        (with `.known` filled in for `/why`) says what the payload lacks."""

    def signature(self) -> VendorSignature | None:
        """The help desk's own webhook signature, when its secret is set; None otherwise
        (then the bearer token or X-Cxbot-Signature are the ways in)."""
        return None
