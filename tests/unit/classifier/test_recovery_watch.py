"""The recovery watch: stalled only after `stall_seconds` in recovery without any progress."""

from collections import Counter
from types import SimpleNamespace

from faust.types import TP

from services.classifier.recovery_watch import RecoveryWatch, recovery_progress

A, B = TP("patients-changelog", 0), TP("patients-changelog", 1)


def test_a_recovery_that_does_not_move_is_stalled_once_the_time_is_up() -> None:
    watch = RecoveryWatch(stall_seconds=60)
    assert watch.stalled_for(True, "p", now=0) is None
    assert watch.stalled_for(True, "p", now=59.9) is None
    assert watch.stalled_for(True, "p", now=75) == 75


def test_progress_starts_the_time_again() -> None:
    watch = RecoveryWatch(stall_seconds=60)
    watch.stalled_for(True, "p1", now=0)
    assert watch.stalled_for(True, "p2", now=50) is None
    assert watch.stalled_for(True, "p2", now=100) is None
    assert watch.stalled_for(True, "p2", now=110) == 60


def test_time_out_of_recovery_is_never_a_stall() -> None:
    watch = RecoveryWatch(stall_seconds=60)
    assert watch.stalled_for(False, "p", now=0) is None
    assert watch.stalled_for(False, "p", now=1000) is None
    # a new recovery with the progress the last one ended on starts its own time
    assert watch.stalled_for(True, "p", now=1001) is None
    assert watch.stalled_for(True, "p", now=1060) is None
    assert watch.stalled_for(True, "p", now=1061) == 60


def test_progress_is_the_offsets_read_and_the_highwaters_read_to() -> None:
    recovery = SimpleNamespace(
        active_offsets=Counter({B: 7, A: 3}), active_highwaters=Counter({A: 10, B: 9})
    )
    before = recovery_progress(recovery)
    assert recovery_progress(recovery) == before  # the order of the mappings is not progress
    recovery.active_offsets[A] = 4
    after_a_read = recovery_progress(recovery)
    assert after_a_read != before
    recovery.active_highwaters[B] = 12  # a rebalance: a recovery to new highwaters
    assert recovery_progress(recovery) != after_a_read
