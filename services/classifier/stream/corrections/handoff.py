"""Which fetched records of the classifier's input partitions reach the stream: each offset once and
in order, from where the last seek put its partition (docs/faust-corrections.md, 5).

A record reaches the stream only if it is its partition's next offset, in a batch fetched since
the last seek landed. A record beyond the next offset means records before it were never handed
over: the partition is read again from the next offset, a few times at most (records gone from
the log, by retention, are not coming back). The seeks land in the consumer's thread and the
records are judged in the app's loop: `landed` counts the seeks, and a batch carries the count it
was fetched under.
"""

from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from typing import Any

MAX_READS_AGAIN = 3


class ReadsAgain:
    """How often each partition has been read again from one offset: a few times at most, as
    records gone from the log, by retention, are not coming back."""

    def __init__(self) -> None:
        self._tries: dict[Any, tuple[int, int]] = {}  # partition -> (from offset, tries)

    def allow(self, tp: Any, offset: int) -> bool:
        start, tries = self._tries.get(tp, (offset, 0))
        tries = tries + 1 if start == offset else 1
        if tries > MAX_READS_AGAIN:
            return False
        self._tries[tp] = (offset, tries)
        return True

    def forget(self, tp: Any) -> None:
        self._tries.pop(tp, None)

    def clear(self) -> None:
        self._tries.clear()


class Verdict(Enum):
    PASS = "pass"  # the partition's next record: hand it to the stream
    DROP = "drop"  # fetched before the last seek, before any, or handed over already
    READ_AGAIN = "read again"  # records before it were never handed over: seek to the next offset
    PASS_PAST_GAP = "pass past a gap"  # read again and still not there: gone from the log


class Handoff:
    def __init__(self, is_input: Callable[[Any], bool]) -> None:
        self.is_input = is_input
        self.landed = 0
        self._next: dict[Any, int | None] = {}  # None: a seek is on its way
        self._reads_again = ReadsAgain()

    def assigned(self, partitions: Iterable[Any]) -> None:
        for tp in partitions:
            if self.is_input(tp):
                self._next[tp] = None  # faust seeks every assigned partition

    def revoked(self, partitions: Iterable[Any]) -> None:
        for tp in partitions:
            self._next.pop(tp, None)
            self._reads_again.forget(tp)

    def seeking(self, partitions: Iterable[Any]) -> None:
        for tp in partitions:
            if tp in self._next:
                self._next[tp] = None

    def sought(self, targets: Mapping[Any, int]) -> None:
        """The consumer now fetches each partition from its target; call in the consumer's thread
        right after the seeks, with no await between."""
        for tp, offset in targets.items():
            if tp in self._next:
                self._next[tp] = offset
        self.landed += 1

    def next_offset(self, tp: Any) -> int | None:
        return self._next.get(tp)

    def admit(self, tp: Any, offset: int, fetched_under: int) -> Verdict:
        if not self.is_input(tp):
            return Verdict.PASS  # a changelog: the tables place and read it themselves
        expected = self._next.get(tp)
        if fetched_under != self.landed or expected is None or offset < expected:
            return Verdict.DROP
        if offset > expected and self._reads_again.allow(tp, expected):
            return Verdict.READ_AGAIN
        self._reads_again.forget(tp)
        self._next[tp] = offset + 1
        return Verdict.PASS if offset == expected else Verdict.PASS_PAST_GAP
