"""The one shape of a help desk: its hook read into an event, its own webhook signature, and
its writes back to the case (an answer's note, the survey link as a reply)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from aiohttp import ClientSession

from bot.triggers.auth import VendorSignature
from bot.triggers.events import NamedEvent


@dataclass(frozen=True)
class Case:
    """A case on its help desk, as its invitation keeps it (id, and the hook's attributes)."""

    case_id: str
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TicketNote:
    """One answer as it is written to the case: an internal note, and for a score its fields.

    ``marker`` is in the note's text, so that a retried write can see it was made already.
    """

    marker: str
    text: str
    survey_id: str
    kind: str
    score: int | None = None
    band: str | None = None  # promoter / passive / detractor, satisfied / ..., for tags
    comment: str | None = None
    # A public reply to the customer (the survey's link) instead of an internal note.
    public: bool = False


class HelpDesk(ABC):
    """A help desk cxbot takes webhooks from at ``POST /api/v1/hooks/<name>``, and writes back to.

    A new help desk (Zammad, HubSpot, Help Scout) is one more module with a subclass and one
    line in `registry.helpdesks`.
    """

    name: ClassVar[str]  # "zendesk": the hook's path and the stored decisions' source
    title: ClassVar[str]  # "Zendesk", as messages name it

    @abstractmethod
    def read(self, body: Any, query: Mapping[str, str]) -> NamedEvent:
        """The event in a webhook's JSON `body` (and the hook URL's `query`), with the
        payload's names for its fields; InvalidEvent (with `.known` filled in for `/why`) says
        what the payload lacks."""

    def signature(self) -> VendorSignature | None:
        """The help desk's own webhook signature, when its secret is set; None otherwise
        (then the bearer token or X-Cxbot-Signature are the ways in)."""
        return None

    @property
    def writes_back(self) -> bool:
        """True when its API's address and credentials are set, so answers go to the case."""
        return False

    async def write(
        self, http: ClientSession, case: Case, note: TicketNote, *, retry: bool
    ) -> None:
        """Write `note` to the case. On a `retry` the note may be there already (an earlier
        try was cut off): look for its marker first, and only set the fields if it is.

        RateLimited (429) or WriteFailed (see bot/helpdesks/errors.py) when it could not.
        """
        raise NotImplementedError(f"{self.title} does not write back")
