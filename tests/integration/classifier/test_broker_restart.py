"""A broker restart while the classifier works through a backlog: every event is classified and
every offset committed. The worker's fetch loop is then always waiting to hand a record to a full
stream, and records are handed over while faust seeks after the rebalance: the two moments at which
faust-streaming lost records (services/classifier/stream/corrections/worker_consumer.py). The broker is this module's
own: a restart of the session's broker would disturb every other test."""

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer

from services.broker import LocalBroker
from shared.codec import encode
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
from tests.support.kafka import create_topics, private_broker, read_topic

COPIES = 60  # about 12,000 events: a backlog of several seconds
PARTITIONS = 3


class FlagsSeen:
    """The flags in a growing list of records, each record decoded once."""

    def __init__(self) -> None:
        self._flags: set[tuple[str, int, str, str]] = set()
        self._read = 0

    def seen(self, records: list[Any]) -> set[tuple[str, int, str, str]]:
        self._flags |= flag_set(records[self._read :])
        self._read = len(records)
        return self._flags


@pytest.fixture(scope="module")
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    with private_broker(tmp_path_factory.mktemp("restarted-broker")) as broker:
        yield broker


@pytest.fixture(scope="module")
def kafka_settings(own_broker: LocalBroker) -> KafkaSettings:
    info = own_broker.status()
    assert info is not None
    return KafkaSettings(bootstrap_servers=info.bootstrap, client_id="rmbc-restart-test")


async def test_a_broker_restart_mid_backlog_loses_no_event_and_stops_no_commit(
    own_broker: LocalBroker, kafka_settings: KafkaSettings, tmp_path: Path
) -> None:
    topics = TopicNames.with_suffix(uuid.uuid4().hex[:10])
    await create_topics(kafka_settings, topics.all(), PARTITIONS)
    events = scenario_events(len(SCENARIOS), COPIES)
    expected = uninterrupted(events)
    producer = AIOKafkaProducer(**kafka_settings.aiokafka_options(), acks="all", linger_ms=5)
    await producer.start()
    try:
        sent = [
            await producer.send(
                topics.clinical_events, encode(event), key=event.patient_key.encode()
            )
            for event in events
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    worker = Worker.for_topics(kafka_settings, topics, tmp_path)
    flags = FlagsSeen()
    worker.start()
    try:
        await read_topic(kafka_settings, topics.cancer_flags, until=lambda r: len(r) >= 50)
        await asyncio.to_thread(own_broker.restart)
        records = await read_topic(
            kafka_settings,
            topics.cancer_flags,
            until=lambda r: flags.seen(r) >= expected,
            timeout=120,
        )
        assert_same_flags(flags.seen(records), expected, worker.log)
        await wait_all_committed(
            kafka_settings, worker.group, topics.clinical_events, worker.log, timeout=60
        )
    finally:
        worker.stop()
