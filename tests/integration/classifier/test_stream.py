"""The classifier worker as a real process against the real broker: events in, flags out; killed
mid-stream and restarted, it recovers its table from the changelog and its flags equal an
uninterrupted run."""

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shared.codec import encode
from shared.settings import KafkaSettings
from shared.topics import TopicNames
from tests.integration.classifier.worker import Worker, flag_set, scenario_events, uninterrupted
from tests.support.kafka import produce, read_topic


@pytest.fixture
def worker(kafka_settings: KafkaSettings, topics: TopicNames, tmp_path: Path) -> Iterator[Worker]:
    process = Worker.for_topics(kafka_settings, topics, tmp_path)
    yield process
    process.stop()


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
    await _committed(kafka_settings, worker.group, topics.clinical_events)
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
    committed = 'rmbc_classifier_consumer_lag{partition="0"} 0.0'  # the broker's view
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient() as client:
        while True:
            metrics = (await client.get(f"http://127.0.0.1:{worker.port}/metrics", timeout=10)).text
            if committed in metrics or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.5)
    assert "rmbc_classifier_dead_letters_total 1.0" in metrics
    assert committed in metrics, metrics  # the dead letter's offset committed
    assert "rmbc_classifier_recovering 0.0" in metrics  # its table restored


async def _committed(settings: KafkaSettings, group: str, topic: str, timeout: float = 30) -> None:
    """Wait until the worker committed some offsets, so the restart must recover its table from
    the changelog rather than rebuild it by reprocessing everything."""
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
