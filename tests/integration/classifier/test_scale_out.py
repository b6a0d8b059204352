"""Workers joining the classifier's group while the feed flows: every event is classified once the
partitions have moved. Each join is a rebalance, during which workers fetch records they give up;
the seek after it must read them again, also on partitions the group has not committed yet
(services/classifier/stream/corrections/worker_consumer.py: before that, every worker that held a partition across
a rebalance skipped the records it had fetched, with consumer lag 0)."""

import asyncio
import uuid
from pathlib import Path

from aiokafka import AIOKafkaProducer

from shared.codec import encode
from shared.events import ClinicalEvent
from shared.settings import KafkaSettings
from shared.topics import TopicNames
from tests.integration.classifier.worker import (
    Worker,
    assert_same_flags,
    flag_set,
    scenario_events,
    uninterrupted,
    wait_all_committed,
)
from tests.scenarios.build import SCENARIOS
from tests.support.kafka import create_topics, read_topic

PARTITIONS = 4
COPIES = 10  # about 2,000 events
FEED_SECONDS = 8.0  # spans the joins of two workers


async def feed(settings: KafkaSettings, topic: str, events: list[ClinicalEvent]) -> None:
    """Produce `events` evenly over FEED_SECONDS, as a live feed would."""
    producer = AIOKafkaProducer(**settings.aiokafka_options(), acks="all", linger_ms=5)
    await producer.start()
    try:
        chunk = 20
        pause = FEED_SECONDS * chunk / len(events)
        for start in range(0, len(events), chunk):
            sent = [
                await producer.send(topic, encode(event), key=event.patient_key.encode())
                for event in events[start : start + chunk]
            ]
            await asyncio.gather(*sent)
            await asyncio.sleep(pause)
    finally:
        await producer.stop()


async def test_workers_joining_while_the_feed_flows_miss_no_event(
    kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    topics = TopicNames.with_suffix(uuid.uuid4().hex[:10])
    await create_topics(kafka_settings, topics.all(), PARTITIONS)
    events = scenario_events(len(SCENARIOS), COPIES)
    expected = uninterrupted(events)
    (tmp_path / "0").mkdir()
    first = Worker.for_topics(kafka_settings, topics, tmp_path / "0")
    workers = [first, *(first.another(tmp_path / str(n)) for n in range(1, PARTITIONS))]
    try:
        first.start()
        workers[1].start()
        # the third and fourth join as the feed starts; neither is ready before both are in
        await asyncio.gather(
            feed(kafka_settings, topics.clinical_events, events),
            *(asyncio.to_thread(worker.start, 90) for worker in workers[2:]),
        )
        records = await read_topic(
            kafka_settings,
            topics.cancer_flags,
            until=lambda r: flag_set(r) >= expected,
            timeout=60,
        )
        logs = [str(w.log) for w in workers]
        assert_same_flags(flag_set(records), expected, logs)
        await wait_all_committed(
            kafka_settings, first.group, topics.clinical_events, logs, timeout=30
        )
    finally:
        for worker in workers:
            worker.stop()
