from services.classifier.stall import StallWatch


def test_records_waiting_with_no_progress_past_the_limit_is_a_stall() -> None:
    watch = StallWatch(limit_seconds=60, last_progress=0.0)
    assert not watch.stalled(behind=10, busy=False, now=59.0)
    assert watch.stalled(behind=10, busy=False, now=61.0)


def test_an_idle_stream_with_nothing_waiting_is_never_stalled() -> None:
    watch = StallWatch(limit_seconds=60, last_progress=0.0)
    assert not watch.stalled(behind=0, busy=False, now=600.0)
    assert not watch.stalled(behind=5, busy=False, now=620.0)  # the clock restarted when idle


def test_progress_and_a_rebalance_or_recovery_reset_the_clock() -> None:
    watch = StallWatch(limit_seconds=60, last_progress=0.0)
    watch.progressed(50.0)
    assert not watch.stalled(behind=5, busy=False, now=100.0)
    assert not watch.stalled(behind=5, busy=True, now=200.0)
    assert not watch.stalled(behind=5, busy=False, now=250.0)
    assert watch.stalled(behind=5, busy=False, now=261.0)
