"""The recovery watch: changelog records fetched and never restored are read again; a recovery
that still does not move is a stall once `stall_seconds` have passed."""

from collections import Counter
from types import SimpleNamespace

from faust.types import TP

from services.classifier.stream.corrections.handoff import MAX_READS_AGAIN
from services.classifier.stream.corrections.recovery_watch import RecoveryWatch, recovery_progress

A, B = TP("patients-changelog", 0), TP("patients-changelog", 1)


def test_a_recovery_that_does_not_move_is_stalled_once_the_time_is_up() -> None:
    watch = RecoveryWatch(stall_seconds=60)
    assert watch.still_for(True, "p", now=0) == 0
    assert not watch.stalled(watch.still_for(True, "p", now=59.9))
    assert watch.still_for(True, "p", now=75) == 75
    assert watch.stalled(75)


def test_progress_starts_the_time_again() -> None:
    watch = RecoveryWatch(stall_seconds=60)
    watch.still_for(True, "p1", now=0)
    assert watch.still_for(True, "p2", now=50) == 0
    assert watch.still_for(True, "p2", now=100) == 50
    assert watch.stalled(watch.still_for(True, "p2", now=110))


def test_time_out_of_recovery_is_never_a_stall() -> None:
    watch = RecoveryWatch(stall_seconds=60)
    assert watch.still_for(False, "p", now=0) == 0
    assert watch.still_for(False, "p", now=1000) == 0
    # a new recovery with the progress the last one ended on starts its own time
    assert watch.still_for(True, "p", now=1001) == 0
    assert watch.still_for(True, "p", now=1061) == 60


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


def test_records_fetched_past_what_recovery_applied_are_read_again_from_the_first_missing() -> None:
    watch = RecoveryWatch(stall_seconds=300, read_again_seconds=10)
    offsets, highwaters = {A: -1, B: 40}, {A: 109, B: 90}
    positions = {A: 110, B: 41}  # A fetched to its end, none applied; B's next fetch is its next
    assert watch.to_read_again(9.9, offsets, highwaters, positions) == {}  # too soon
    assert watch.to_read_again(10, offsets, highwaters, positions) == {A: 0}


def test_a_partition_recovered_or_not_yet_fetched_is_not_read_again() -> None:
    watch = RecoveryWatch(stall_seconds=300)
    assert watch.to_read_again(60, {A: 109}, {A: 109}, {A: 110}) == {}  # recovered
    assert watch.to_read_again(60, {A: 5}, {A: 109}, {A: 6}) == {}  # its next fetch is its next
    assert watch.to_read_again(60, {A: 5}, {A: 109}, {A: None}) == {}  # position unknown
    assert watch.to_read_again(60, {A: 5}, {A: None}, {A: 50}) == {}  # highwater unknown


def test_the_same_records_are_read_again_a_few_times_at_most() -> None:
    watch = RecoveryWatch(stall_seconds=300)
    state = ({A: 10}, {A: 20}, {A: 21})
    tries = [watch.to_read_again(60, *state) for _ in range(MAX_READS_AGAIN + 2)]
    assert tries == [{A: 11}] * MAX_READS_AGAIN + [{}, {}]
    # once recovery has moved on, the records after are read again as often
    assert watch.to_read_again(60, {A: 15}, {A: 20}, {A: 21}) == {A: 16}
    # and leaving recovery forgets what was read again
    watch.still_for(False, "p", now=0)
    assert watch.to_read_again(60, *state) == {A: 11}


def test_a_short_stall_time_reads_again_before_it_stops() -> None:
    assert RecoveryWatch(stall_seconds=4).read_again_seconds == 2
