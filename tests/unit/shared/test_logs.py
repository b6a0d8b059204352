"""Log lines are bounded and sanitised whatever a sender chose, and a storm of one error is
rate-limited."""

import io
import logging
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from aiokafka.errors import GroupCoordinatorNotAvailableError

from shared.logs import MASK, MAX_LINE_CHARS, JsonFormatter, RepeatLimit, RetriedNotFailed
from tests.unit.ingest import hl7_samples as s
from tests.unit.ingest.mllp_support import FakeAccepter, listener, msa, raw_client

NHS_NUMBER = "9434765919"


def format_line(message: str = "something happened", *args: Any, **extra: Any) -> str:
    record = logging.LogRecord("rmbc.test", logging.WARNING, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return JsonFormatter("test").format(record)


@pytest.mark.parametrize("shaped", [NHS_NUMBER, "943 476 5919", "943-476-5919"])
def test_nhs_number_shaped_digit_runs_are_masked_in_fields_and_messages(shaped: str) -> None:
    line = format_line("control id %s refused", shaped, control_id=shaped, facility=f"RX1^{shaped}")
    entry = orjson.loads(line)
    assert shaped not in line and NHS_NUMBER not in line
    assert entry["control_id"] == MASK
    assert entry["facility"] == f"RX1^{MASK}"
    assert MASK in entry["msg"]


def test_ids_that_merely_contain_digits_are_left_alone() -> None:
    entry = orjson.loads(format_line(correlation_id="3f2a9434765919ab", count=9434765919))
    assert entry["correlation_id"] == "3f2a9434765919ab"
    assert entry["count"] == 9434765919


def test_control_and_line_separator_characters_are_stripped_from_sender_fields() -> None:
    entry = orjson.loads(format_line(facility="A\u2028B\u2029C\x1cD\x0bE\nF\rG\x85H"))
    assert entry["facility"] == "A B C D E F G H"


def test_no_line_is_longer_than_the_limit_however_large_the_fields() -> None:
    huge = "x" * 2_900_000
    keys = {f"key{i}": huge for i in range(50)}
    line = format_line(
        huge, issues=[huge] * 10_000, nested={"a": {"b": {"c": {"d": huge}}}}, **keys
    )
    assert len(line) <= MAX_LINE_CHARS
    entry = orjson.loads(line)
    assert entry["level"] == "warning"


def test_sender_chosen_keys_and_long_lists_are_capped() -> None:
    entry = orjson.loads(format_line(issues=[f"structure@Patient.{'k' * 5000}"] * 500))
    assert len(entry["issues"]) == 21
    assert all(len(item) <= 256 for item in entry["issues"])


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_storm_of_one_error_is_cut_to_a_burst_per_window_and_the_count_reported() -> None:
    clock = FakeClock()
    limit = RepeatLimit(burst=10, window=10.0, clock=clock)

    def record(level: int = logging.ERROR) -> logging.LogRecord:
        return logging.LogRecord(
            "asyncio", level, __file__, 1, "socket.accept() out of system resource", (), None
        )

    passed = sum(limit.filter(record()) for _ in range(270_000))
    infos = sum(limit.filter(record(logging.INFO)) for _ in range(100))
    clock.now = 10.0
    after_pause = record()
    assert passed == 10
    assert infos == 100
    assert limit.filter(after_pause)
    assert after_pause.suppressed == 270_000 - 10


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("ingest"))
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


async def test_an_nhs_number_sent_as_msh_10_and_msh_4_never_reaches_the_log(
    captured_logs: io.StringIO,
) -> None:
    message = s.oru(s.obx(), header=s.msh(control_id=NHS_NUMBER, facility=NHS_NUMBER))
    refused = s.oru(s.obx(), header=s.msh("ZZZ^Z01", control_id="943 476 5919"))
    async with listener(FakeAccepter()) as (port, _), raw_client(port) as client:
        accepted = await client.request(message)
        await client.request(refused)
    written = captured_logs.getvalue()
    assert msa(accepted)[2] == NHS_NUMBER  # the sender's own id goes back to the sender
    assert "HL7 message accepted" in written and "HL7 message refused" in written
    assert NHS_NUMBER not in written and "943 476 5919" not in written


def _formatted(logger: str, message: str, *args: object) -> dict[str, object]:
    record = logging.LogRecord(logger, logging.ERROR, __file__, 1, message, args, None)
    assert RetriedNotFailed().filter(record)
    line: dict[str, object] = orjson.loads(JsonFormatter("notifier").format(record))
    return line


def test_a_coordinator_not_available_yet_which_aiokafka_retries_is_a_warning_not_an_error() -> None:
    coordinator = "aiokafka.consumer.group_coordinator"
    retried = _formatted(
        coordinator, "Group Coordinator Request failed: %s", GroupCoordinatorNotAvailableError()
    )
    assert retried["level"] == "warning"
    other = _formatted(coordinator, "Group Coordinator Request failed: %s", ValueError("broken"))
    assert other["level"] == "error"
    assert _formatted("aiokafka.cluster", "Topic %s not found", "x")["level"] == "error"
