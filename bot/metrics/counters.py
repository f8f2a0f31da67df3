"""The in-process counters: bumped where the event happens, one dictionary lookup each.

They live in one registry per process (``REGISTRY``): `cxbot run` and every `cxbot worker`
count their own events, and Prometheus adds them up (``sum by (channel)``). The modules where
the events happen import this one, so it imports nothing of cxbot's.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, disable_created_metrics

# No `*_created` series beside each counter (prometheus_client's default): nothing reads them,
# each labelled counter would show one more series, and README lists what /metrics carries.
# The switch is prometheus_client's, for the whole process; cxbot has no other registry.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped in 0.26.0
REGISTRY = CollectorRegistry(auto_describe=True)

SENDS = Counter(
    "cxbot_sends",
    "Messages a platform accepted that started or reminded a survey",
    ["channel", "kind"],
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "cxbot_rate_limited",
    "HTTP 429 answers from a platform (each pauses the bot or workspace for its retry-after)",
    ["channel"],
    registry=REGISTRY,
)
ANSWERS = Counter(
    "cxbot_answers",
    "Answers stored (one per question answered), by question kind",
    ["channel", "survey", "kind"],
    registry=REGISTRY,
)
HANDLER_ERRORS = Counter(
    "cxbot_handler_errors",
    "Updates or events from a chat platform whose handling failed with an error",
    ["channel"],
    registry=REGISTRY,
)
