import math

from bench.stats import Spread, climbs, highest_sustained, percentile


def test_percentiles_use_the_nearest_rank() -> None:
    values = list(range(1, 101))
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 99) == 7.0


def test_the_percentile_of_nothing_is_not_a_number() -> None:
    assert math.isnan(percentile([], 50))


def test_a_spread_reports_the_median_and_the_range_of_the_runs() -> None:
    spread = Spread.of([10.0, 14.0, 12.0])
    assert (spread.median, spread.low, spread.high, spread.runs) == (12.0, 10.0, 14.0, 3)
    assert spread.relative == 2 / 12


def test_steady_latency_does_not_climb() -> None:
    samples = [(t / 10, 0.05 + (0.01 if t % 7 == 0 else 0)) for t in range(300)]
    assert not climbs(samples)


def test_latency_that_grows_with_the_time_sent_climbs() -> None:
    samples = [(t / 10, 0.05 + t / 100) for t in range(300)]
    assert climbs(samples)


def test_a_single_pause_within_the_slack_is_not_a_climb() -> None:
    samples = [(t / 10, 0.3 if 250 < t < 260 else 0.05) for t in range(300)]
    assert not climbs(samples)


def test_the_sustained_rate_is_the_last_rate_before_the_first_failure() -> None:
    results = [(2000.0, False), (500.0, True), (1000.0, True), (3000.0, True)]
    assert highest_sustained(results) == 1000.0
    assert highest_sustained([(500.0, False)]) == 0.0
