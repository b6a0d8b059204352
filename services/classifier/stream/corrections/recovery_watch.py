"""A watch on table recovery: a worker whose recovery stops moving classifies nothing, and stays
so, while /healthz still answers (docs/faust-corrections.md, 10).

Once recovery has made no progress for `read_again_seconds` with nothing queued, an active
changelog partition whose consumer position is past the records recovery has applied is read
again from the first one missing (a few times at most). If recovery still does not move for
`stall_seconds`, the worker stops: the restart recovers afresh, and repeated restarts are a
failure an operator sees, not a silence. Progress is anything recovery reports changing: the
offsets it has read, the highwaters it reads to, or leaving recovery.
"""

from collections.abc import Hashable, Mapping
from typing import Any

from services.classifier.stream.corrections.handoff import ReadsAgain


class RecoveryWatch:
    def __init__(self, stall_seconds: float, read_again_seconds: float = 10.0) -> None:
        self.stall_seconds = stall_seconds
        self.read_again_seconds = min(read_again_seconds, stall_seconds / 2)
        self._last: Hashable = None
        self._since: float | None = None  # when recovery last moved, or None when not recovering
        self._reads_again = ReadsAgain()

    def still_for(self, recovering: bool, progress: Hashable, now: float) -> float:
        """Seconds since recovery last moved (0 when it just did, or is not recovering)."""
        if not recovering:
            self._since = None
            self._reads_again.clear()
            return 0.0
        if self._since is None or progress != self._last:
            self._last, self._since = progress, now
            return 0.0
        return now - self._since

    def stalled(self, still: float) -> bool:
        return still >= self.stall_seconds

    def to_read_again(
        self,
        still: float,
        offsets: Mapping[Any, int | None],
        highwaters: Mapping[Any, int | None],
        positions: Mapping[Any, int | None],
    ) -> dict[Any, int]:
        """Active changelog partitions to read again, and from where: recovery has applied up to
        `offsets` (-1: nothing) of `highwaters` (the last offset), and the consumer will fetch
        from `positions`, past records recovery never received."""
        if still < self.read_again_seconds:
            return {}
        targets = {}
        for tp, highwater in highwaters.items():
            applied, position = offsets.get(tp), positions.get(tp)
            if highwater is None or applied is None or position is None:
                continue
            missed = applied < highwater and position > applied + 1
            if missed and self._reads_again.allow(tp, applied + 1):
                targets[tp] = applied + 1
        return targets


def recovery_progress(recovery: Any) -> Hashable:
    """What faust's table Recovery has read and reads to, for its active partitions."""
    return (_frozen(recovery.active_offsets), _frozen(recovery.active_highwaters))


def _frozen(offsets: Mapping[Any, int | None]) -> tuple[tuple[Any, int | None], ...]:
    return tuple(sorted(offsets.items()))
