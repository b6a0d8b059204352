"""Noticing a stream that has stopped: input waiting, nothing taken in, for too long.

A worker whose stream stops while records wait (seen once after a broker restart: the group was
rejoined and recovery completed, then no event came through) helps nobody by staying up. It exits,
and its supervisor (Kubernetes, compose, the demo's pipeline) starts it again; the table comes
back from its changelog and processing resumes from the committed offsets, as after any crash.
"""

from dataclasses import dataclass


@dataclass
class StallWatch:
    limit_seconds: float
    last_progress: float

    def progressed(self, now: float) -> None:
        self.last_progress = now

    def stalled(self, behind: int, busy: bool, now: float) -> bool:
        """True when records have waited (`behind`: not yet committed) with no event taken in
        for longer than the limit.

        Nothing waiting, or a rebalance / table recovery under way, counts as progress.
        """
        if behind <= 0 or busy:
            self.last_progress = now
            return False
        return now - self.last_progress > self.limit_seconds
