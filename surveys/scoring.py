"""NPS, CSAT and CES from raw scores, with the counts behind each figure."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from surveys.definitions import BANDS, SCALES, Band, QuestionKind, band_of

__all__ = ["Score", "ces", "csat", "nps", "score"]


@dataclass(frozen=True)
class Score:
    """One survey metric over `n` answers; values are unrounded, `format()` rounds for people."""

    kind: QuestionKind
    value: float | None
    n: int
    counts: dict[str, int]
    distribution: dict[int, int]
    mean: float | None
    percent_easy: float | None = None

    def format(self) -> str:
        name = self.kind.value.upper()
        if self.value is None:
            return f"{name} n/a (n=0)"
        if self.kind is QuestionKind.NPS:
            parts = ", ".join(_plural(self.counts[band], band) for band in BANDS[QuestionKind.NPS])
            return f"{name} {self.value:+.0f} (n={self.n}: {parts})"
        if self.kind is QuestionKind.CSAT:
            return f"{name} {self.value:.1f}% (n={self.n})"
        high = SCALES[self.kind][1]
        return (
            f"{name} {self.value:.1f} / {high}, {self.percent_easy or 0.0:.1f}% easy (n={self.n})"
        )


def nps(scores: Iterable[int]) -> Score:
    """Percent promoters (9-10) minus percent detractors (0-6): -100..100."""
    base = _tally(QuestionKind.NPS, scores)
    if not base.n:
        return base
    share = _shares(base)
    value = share[Band.PROMOTER] - share[Band.DETRACTOR]
    return replace(base, value=value)


def csat(scores: Iterable[int]) -> Score:
    """Percent of answers that are satisfied (4-5 on 1..5)."""
    base = _tally(QuestionKind.CSAT, scores)
    if not base.n:
        return base
    return replace(base, value=_shares(base)[Band.SATISFIED])


def ces(scores: Iterable[int]) -> Score:
    """Mean effort on 1..7 (7 = very easy), plus the percent of easy answers (5-7)."""
    base = _tally(QuestionKind.CES, scores)
    if not base.n:
        return base
    return replace(base, value=base.mean, percent_easy=_shares(base)[Band.EASY])


_METRICS: dict[QuestionKind, Callable[[Iterable[int]], Score]] = {
    QuestionKind.NPS: nps,
    QuestionKind.CSAT: csat,
    QuestionKind.CES: ces,
}


def score(kind: QuestionKind, scores: Iterable[int]) -> Score:
    """The metric that belongs to `kind`."""
    if kind not in _METRICS:
        raise ValueError(f"{kind.value} questions have no score")
    return _METRICS[kind](scores)


def _tally(kind: QuestionKind, scores: Iterable[int]) -> Score:
    low, high = SCALES[kind]
    seen: Counter[int] = Counter()
    for item in scores:
        # bool is an int subclass; a True sneaking in is a caller bug, not a 1.
        if isinstance(item, bool) or not isinstance(item, int):
            raise ValueError(f"{kind.value} scores must be integers, got {item!r}")
        if not low <= item <= high:
            raise ValueError(f"{kind.value} score {item} is outside {low}..{high}")
        seen[item] += 1
    n = sum(seen.values())
    counts = {band.value: 0 for band in BANDS[kind]}
    for value, count in seen.items():
        counts[band_of(kind, value)] += count
    return Score(
        kind=kind,
        value=None,
        n=n,
        counts=counts,
        distribution={value: seen[value] for value in range(low, high + 1)},
        mean=sum(value * count for value, count in seen.items()) / n if n else None,
    )


def _shares(base: Score) -> dict[str, float]:
    return {band: 100 * count / base.n for band, count in base.counts.items()}


def _plural(count: int, band: Band) -> str:
    # "passive" -> "passives"; every band name takes a plain "s".
    return f"{count} {band.value}" + ("" if count == 1 else "s")
