"""A worker whose table recovery stops moving classifies nothing, and stays so: its partitions
wait unread (missed and late alerts) while /healthz still answers. Seen once in 33 scale-out runs
(faust: "No event received for active tp ... since recovery start"), and every time a changelog
partition ends in a record faust never receives, such as a transaction marker. The watch stops
the worker once recovery has made no progress for `stall_seconds`; the restart recovers afresh
(and, if it stalls again, the restarts are a failure an operator sees rather than a silence).

Progress is anything recovery reports changing: the offsets it has read, the highwaters it reads
to (a rebalance starts them again), or leaving recovery. A large table restoring slowly is
progress; a recovery waiting for a record that never comes is not."""

from collections.abc import Hashable, Mapping
from typing import Any


class RecoveryWatch:
    def __init__(self, stall_seconds: float) -> None:
        self.stall_seconds = stall_seconds
        self._last: Hashable = None
        self._since: float | None = None  # when recovery last moved, or None when not recovering

    def stalled_for(self, recovering: bool, progress: Hashable, now: float) -> float | None:
        """Seconds without progress once they reach `stall_seconds`, else None."""
        if not recovering:
            self._since = None
            return None
        if self._since is None or progress != self._last:
            self._last, self._since = progress, now
            return None
        still = now - self._since
        return still if still >= self.stall_seconds else None


def recovery_progress(recovery: Any) -> Hashable:
    """What faust's table Recovery has read and reads to, for its active partitions."""
    return (_frozen(recovery.active_offsets), _frozen(recovery.active_highwaters))


def _frozen(offsets: Mapping[Any, int | None]) -> tuple[tuple[Any, int | None], ...]:
    return tuple(sorted(offsets.items()))
