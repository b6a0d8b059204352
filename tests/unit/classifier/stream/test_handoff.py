"""Which fetched records reach the stream (services/classifier/stream/corrections/handoff.py): each input offset once
and in order, from where the last seek put its partition."""

from services.classifier.stream.corrections.handoff import MAX_READS_AGAIN, Handoff, Verdict

EVENTS = ("events", 0)
CHANGELOG = ("patients-changelog", 0)


def sought_to(offset: int) -> Handoff:
    handoff = Handoff(is_input=lambda tp: tp[0] == "events")
    handoff.assigned([EVENTS, CHANGELOG])
    handoff.seeking([EVENTS, CHANGELOG])
    handoff.sought({EVENTS: offset})
    return handoff


def test_the_next_offsets_pass_in_order_and_a_repeat_is_dropped() -> None:
    handoff = sought_to(10)
    batch = handoff.landed
    assert [handoff.admit(EVENTS, o, batch) for o in (10, 11, 11, 12)] == [
        Verdict.PASS,
        Verdict.PASS,
        Verdict.DROP,
        Verdict.PASS,
    ]
    assert handoff.next_offset(EVENTS) == 13


def test_records_of_a_partition_assigned_and_not_yet_sought_are_dropped() -> None:
    handoff = Handoff(is_input=lambda tp: tp[0] == "events")
    handoff.assigned([EVENTS])
    assert handoff.admit(EVENTS, 0, handoff.landed) is Verdict.DROP


def test_records_of_a_partition_being_sought_are_dropped_until_the_seek_lands() -> None:
    handoff = sought_to(0)
    handoff.seeking([EVENTS])
    assert handoff.admit(EVENTS, 0, handoff.landed) is Verdict.DROP
    handoff.sought({EVENTS: 0})
    assert handoff.admit(EVENTS, 0, handoff.landed) is Verdict.PASS


def test_the_rest_of_a_batch_fetched_before_the_last_seek_is_dropped() -> None:
    # as seen: a batch from 461 was still being handed over when the seek to the committed 351
    # landed; its records passed, and faust then dropped 351-460 as read
    handoff = sought_to(461)
    stale = handoff.landed
    assert handoff.admit(EVENTS, 461, stale) is Verdict.PASS
    handoff.seeking([EVENTS])
    handoff.sought({EVENTS: 351})
    assert handoff.admit(EVENTS, 462, stale) is Verdict.DROP
    assert handoff.admit(EVENTS, 351, handoff.landed) is Verdict.PASS


def test_a_record_past_the_next_offset_has_the_partition_read_again_from_it() -> None:
    handoff = sought_to(20)
    assert handoff.admit(EVENTS, 35, handoff.landed) is Verdict.READ_AGAIN
    assert handoff.next_offset(EVENTS) == 20
    handoff.sought({EVENTS: 20})
    assert handoff.admit(EVENTS, 36, handoff.landed - 1) is Verdict.DROP  # the same batch
    assert handoff.admit(EVENTS, 20, handoff.landed) is Verdict.PASS


def test_records_gone_from_the_log_are_passed_over_after_reading_again_a_few_times() -> None:
    handoff = sought_to(0)
    for _ in range(MAX_READS_AGAIN):
        assert handoff.admit(EVENTS, 50, handoff.landed) is Verdict.READ_AGAIN
        handoff.sought({EVENTS: 0})
    assert handoff.admit(EVENTS, 50, handoff.landed) is Verdict.PASS_PAST_GAP
    assert handoff.admit(EVENTS, 51, handoff.landed) is Verdict.PASS


def test_a_revoked_partition_passes_nothing_until_assigned_and_sought_again() -> None:
    handoff = sought_to(5)
    handoff.revoked([EVENTS])
    assert handoff.admit(EVENTS, 5, handoff.landed) is Verdict.DROP
    handoff.assigned([EVENTS])
    assert handoff.admit(EVENTS, 5, handoff.landed) is Verdict.DROP
    handoff.sought({EVENTS: 5})
    assert handoff.admit(EVENTS, 5, handoff.landed) is Verdict.PASS


def test_changelog_records_pass_untouched_for_the_tables() -> None:
    handoff = sought_to(0)
    assert handoff.admit(CHANGELOG, 7, handoff.landed - 1) is Verdict.PASS
