"""Pure helpers for the benchmark: percentiles, medians with their spread, and whether latency
climbs without bound during a run."""

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by the nearest-rank method; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


@dataclass(frozen=True)
class Spread:
    """The median of repeated measurements and their range."""

    median: float
    low: float
    high: float
    runs: int

    @classmethod
    def of(cls, values: Sequence[float]) -> "Spread":
        if not values:
            return cls(math.nan, math.nan, math.nan, 0)
        return cls(statistics.median(values), min(values), max(values), len(values))

    @property
    def relative(self) -> float:
        """Half the range as a fraction of the median (the +/- we print)."""
        if not self.median:
            return 0.0
        return (self.high - self.low) / 2 / abs(self.median)

    def as_dict(self, digits: int = 1) -> dict[str, float | int]:
        return {
            "median": round(self.median, digits),
            "min": round(self.low, digits),
            "max": round(self.high, digits),
            "runs": self.runs,
        }


def climbs(samples: Sequence[tuple[float, float]], *, slack: float = 0.25) -> bool:
    """Whether latency grows through a run: `samples` are (time sent, latency) in seconds.

    Compares the median latency of the last third of the run with the first third. A pipeline
    that keeps up has the same latency throughout (within noise); one that falls behind builds a
    queue, so the latency of later events grows with the time they were sent. `slack` (seconds)
    absorbs noise and one-off pauses (a commit, a GC) that do not accumulate.
    """
    if len(samples) < 6:
        return False
    ordered = sorted(samples)
    third = len(ordered) // 3
    first = statistics.median(latency for _, latency in ordered[:third])
    last = statistics.median(latency for _, latency in ordered[-third:])
    return last > 2 * first + slack


def highest_sustained(results: Sequence[tuple[float, bool]]) -> float:
    """The highest offered rate that was sustained, below the first rate that was not.

    `results` are (offered rate, sustained) in any order; 0 when even the lowest was not."""
    best = 0.0
    for rate, sustained in sorted(results):
        if not sustained:
            break
        best = rate
    return best
