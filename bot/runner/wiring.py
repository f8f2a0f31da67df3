"""What every part of the survey flow works with: the catalog, the stores, the channels."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from bot.channel import Channel
from bot.runner.outcomes import AnswerListener
from storage.db import Database
from storage.state import BaseStateStore
from surveys.catalog import Catalog


@dataclass
class Wiring:
    """The survey flow's dependencies, shared by its parts (answering, sending, reminding...).

    SQL (``database``) is the record of every survey; ``state`` caches each live conversation
    and holds the locks that keep two replies to one survey apart.
    """

    catalog: Catalog
    database: Database
    state: BaseStateStore
    channels: Mapping[str, Channel]
    clock: Callable[[], datetime]
    # Called after each stored answer; a failing listener is logged, never the customer's
    # problem.
    listeners: list[AnswerListener] = field(default_factory=list)
    # Told of each invitation sent outside the delivery jobs (its link was opened), so that
    # its reminder and expiry are queued as a send job's would be.
    sent_listeners: list[Callable[[int], Awaitable[None]]] = field(default_factory=list)
