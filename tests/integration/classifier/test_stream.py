"""The classifier worker as a real process against the real broker: events in, flags out; killed
mid-stream and restarted, it recovers its table from the changelog and its flags equal an
uninterrupted run."""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from services.classifier.core import handle
from services.classifier.flags import FlagContext
from services.classifier.state import PatientState
from services.classifier.terminology import load_terminology
from shared.codec import decode_as, encode
from shared.events import CancerFlag, ClinicalEvent
from shared.settings import KafkaSettings
from shared.topics import TopicNames
from tests.scenarios.build import SCENARIOS, Case
from tests.support.kafka import produce, read_topic
from tests.unit.classifier.events import clinical_event


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Worker:
    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log = env, port, log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> "Worker":
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "services.cli", "classifier"],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"classifier not ready in {timeout}s:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)


@pytest.fixture
def worker(kafka_settings: KafkaSettings, topics: TopicNames, tmp_path: Path) -> Iterator[Worker]:
    port = free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "RMBC_CLASSIFIER_APP_ID": f"classifier-test-{uuid.uuid4().hex[:8]}",
        "RMBC_CLASSIFIER_WEB_PORT": str(port),
        "RMBC_CLASSIFIER_WEB_HOST": "127.0.0.1",
        "RMBC_CLASSIFIER_DATA_DIR": str(tmp_path / "data"),
        "RMBC_CLASSIFIER_PARTITIONS": "1",
        **{f"RMBC_TOPIC_{k.upper()}": v for k, v in topics.model_dump().items()},
    }
    process = Worker(env, port, tmp_path / "classifier.log")
    yield process
    process.stop()


def scenario_events(count: int) -> list[ClinicalEvent]:
    events = []
    for number, (_, build, _) in enumerate(SCENARIOS[:count], start=1):
        case = build(Case(number))
        for resource in case.resources:
            if resource["resourceType"] != "Patient":
                events.append(clinical_event(resource, case.nhs))
    return events


def uninterrupted(events: list[ClinicalEvent]) -> set[tuple[str, int, str, str]]:
    states: dict[str, PatientState] = {}
    found = set()
    for event in events:
        context = FlagContext(event.patient_key, datetime.now(UTC), event.occurred_at, "x")
        change = handle(
            states.get(event.patient_key, PatientState()),
            event.resource,
            event.patient,
            load_terminology(),
            context,
        )
        states[event.patient_key] = change.state
        found |= {(f.flag_id, f.revision, f.state, f.kind) for f in change.flags}
    return found


def flag_set(records: list) -> set[tuple[str, int, str, str]]:
    flags = [decode_as(r.value, CancerFlag) for r in records]
    return {(f.flag_id, f.revision, f.state, f.kind) for f in flags}


async def test_flags_after_a_crash_and_restart_equal_an_uninterrupted_run(
    worker: Worker, kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    events = scenario_events(24)
    expected = uninterrupted(events)
    half = len(events) // 2
    worker.start()
    for event in events[:half]:
        await produce(
            kafka_settings, topics.clinical_events, encode(event), event.patient_key.encode()
        )
    first = await read_topic(kafka_settings, topics.cancer_flags, until=lambda r: len(r) >= 3)
    assert flag_set(first) <= expected
    await _committed(kafka_settings, worker.env["RMBC_CLASSIFIER_APP_ID"], topics.clinical_events)
    worker.kill()
    worker.start()
    for event in events[half:]:
        await produce(
            kafka_settings, topics.clinical_events, encode(event), event.patient_key.encode()
        )
    records = await read_topic(
        kafka_settings,
        topics.cancer_flags,
        until=lambda r: flag_set(r) >= expected,
        timeout=60,
    )
    assert flag_set(records) == expected, (
        expected - flag_set(records),
        flag_set(records) - expected,
    )


async def test_an_undecodable_event_goes_to_the_dead_letter_topic(
    worker: Worker, kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    worker.start()
    await produce(kafka_settings, topics.clinical_events, b"not an event", b"k")
    letters = await read_topic(kafka_settings, topics.dead_letter, until=lambda r: len(r) >= 1)
    assert b"not JSON" in letters[0].value
    async with httpx.AsyncClient() as client:
        metrics = (await client.get(f"http://127.0.0.1:{worker.port}/metrics", timeout=5)).text
    assert "rmbc_classifier_dead_letters_total 1.0" in metrics
    assert 'rmbc_classifier_consumer_lag{partition="0"} 0.0' in metrics  # it took in everything


async def _committed(settings: KafkaSettings, group: str, topic: str, timeout: float = 30) -> None:
    """Wait until the worker committed some offsets, so the restart must recover its table from
    the changelog rather than rebuild it by reprocessing everything."""
    import asyncio

    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(**settings.aiokafka_options())
    await admin.start()
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            offsets = await admin.list_consumer_group_offsets(group)
            if any(tp.topic == topic and meta.offset > 0 for tp, meta in offsets.items()):
                return
            await asyncio.sleep(0.2)
        raise AssertionError(f"{group} committed nothing on {topic} within {timeout}s")
    finally:
        await admin.close()
