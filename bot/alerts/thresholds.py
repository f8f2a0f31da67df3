"""Which scores are bad enough to alert the team: at or below a threshold per scale."""

from __future__ import annotations

from dataclasses import dataclass

from surveys.definitions import SCALES, QuestionKind


@dataclass(frozen=True)
class Thresholds:
    """The highest score of each scale that still raises an alert (the settings' defaults)."""

    nps: int = 6
    csat: int = 2
    ces: int = 3

    def limit(self, kind: str) -> int | None:
        """The threshold of a scale kind, or None for kinds that never alert (choice, text)."""
        return {"nps": self.nps, "csat": self.csat, "ces": self.ces}.get(kind)


def raises_alert(kind: str, score: int | None, thresholds: Thresholds) -> bool:
    """True when ``score`` on a ``kind`` scale is at or below its threshold."""
    limit = thresholds.limit(kind)
    if score is None or limit is None:
        return False
    low, high = SCALES[QuestionKind(kind)]
    # A score outside the scale comes from a broken state, not from a customer: no alert.
    return low <= score <= min(limit, high)
