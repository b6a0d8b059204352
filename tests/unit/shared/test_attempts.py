"""Failures per consumed record, counted where a restart finds them: a record that stopped its
worker is dead-lettered when met again; a broker's fault is never counted against a record."""

from pathlib import Path

import pytest
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError, RequestTimedOutError

from shared.attempts import KEPT, Attempts

WHERE = "rmbc.clinical-events.v1/0/42"


def test_a_record_that_stopped_the_worker_is_exhausted_for_the_restart(tmp_path: Path) -> None:
    path = tmp_path / "attempts.json"
    Attempts(path, limit=1).failed(WHERE, TypeError("Integer exceeds 64-bit range"))
    restarted = Attempts(path, limit=1)
    assert restarted.exhausted(WHERE) == (
        "stopped the worker 1 time(s); last: TypeError: Integer exceeds 64-bit range"
    )
    assert restarted.exhausted("rmbc.clinical-events.v1/0/43") is None


def test_a_record_is_exhausted_only_after_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "attempts.json"
    for attempt in (1, 2):
        Attempts(path, limit=3).failed(WHERE, ValueError(str(attempt)))
        assert Attempts(path, limit=3).exhausted(WHERE) is None
    Attempts(path, limit=3).failed(WHERE, ValueError("3"))
    assert Attempts(path, limit=3).exhausted(WHERE) == (
        "stopped the worker 3 time(s); last: ValueError: 3"
    )


@pytest.mark.parametrize(
    "error",
    [KafkaConnectionError(), RequestTimedOutError(), ConnectionResetError(), TimeoutError()],
)
def test_a_fault_of_the_broker_or_the_network_is_not_counted(
    tmp_path: Path, error: Exception
) -> None:
    path = tmp_path / "attempts.json"
    Attempts(path, limit=1).failed(WHERE, error)
    assert Attempts(path, limit=1).exhausted(WHERE) is None


def test_a_record_the_broker_refuses_as_too_large_is_counted(tmp_path: Path) -> None:
    path = tmp_path / "attempts.json"
    Attempts(path, limit=1).failed(WHERE, MessageSizeTooLargeError())
    assert Attempts(path, limit=1).exhausted(WHERE) is not None


def test_a_record_that_went_through_is_forgotten(tmp_path: Path) -> None:
    path = tmp_path / "attempts.json"
    attempts = Attempts(path, limit=1)
    attempts.failed(WHERE, ValueError("x"))
    attempts.done(WHERE)
    assert Attempts(path, limit=1).exhausted(WHERE) is None


def test_only_the_latest_failures_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "attempts.json"
    attempts = Attempts(path, limit=1)
    for offset in range(KEPT + 5):
        attempts.failed(f"t/0/{offset}", ValueError("x"))
    read = Attempts(path, limit=1)
    assert read.exhausted("t/0/0") is None and read.exhausted(f"t/0/{KEPT + 4}") is not None


def test_an_unreadable_file_starts_the_count_again(tmp_path: Path) -> None:
    path = tmp_path / "attempts.json"
    path.write_text("{not json")
    assert Attempts(path, limit=1).exhausted(WHERE) is None
