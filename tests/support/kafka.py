"""The real Kafka broker for integration and e2e tests, and helpers to read topics with a deadline.

Broker selection, once per session: KAFKA_BOOTSTRAP_SERVERS if set; else testcontainers' Kafka when
a Docker engine answers; else the local KRaft broker from Maven Central jars. Never skipped.
"""

import contextlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from services.broker import LocalBroker
from services.demo.readback import read_all  # noqa: F401 - re-exported for tests
from shared.settings import KafkaSettings
from shared.topics import TopicNames


def docker_available(timeout: float = 2.0) -> bool:
    try:
        import docker

        docker.from_env(timeout=timeout).ping()
        return True
    except Exception:  # any failure to reach an engine means: no Docker here
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if servers := os.environ.get("KAFKA_BOOTSTRAP_SERVERS"):
        yield servers
        return
    if docker_available():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer().with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    broker = LocalBroker(tmp_path_factory.mktemp("kafka-broker"))
    info = broker.start()
    try:
        yield info.bootstrap
    finally:
        broker.stop()


@contextlib.contextmanager
def private_broker(folder: Path) -> Iterator[LocalBroker]:
    """A broker for one module's tests that restart it: a restart of the session's would disturb
    every other test."""
    broker = LocalBroker(folder)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_settings(kafka_bootstrap: str) -> KafkaSettings:
    return KafkaSettings(bootstrap_servers=kafka_bootstrap, client_id="rmbc-tests")


async def create_topics(settings: KafkaSettings, names: list[str], partitions: int = 1) -> None:
    admin = AIOKafkaAdminClient(**settings.aiokafka_options())
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1) for name in names]
        )
    finally:
        await admin.close()


@pytest.fixture
async def topics(kafka_settings: KafkaSettings) -> TopicNames:
    """Fresh topics for this test: the contract names with a unique suffix."""
    names = TopicNames.with_suffix(uuid.uuid4().hex[:10])
    await create_topics(kafka_settings, names.all())
    return names


async def produce(settings: KafkaSettings, topic: str, value: bytes, key: bytes | None) -> None:
    producer = AIOKafkaProducer(**settings.aiokafka_options(), acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def read_topic(
    settings: KafkaSettings,
    topic: str,
    *,
    until: Callable[[list[ConsumerRecord[Any, Any]]], bool],
    timeout: float = 30.0,
) -> list[ConsumerRecord[Any, Any]]:
    """Read `topic` from the beginning until `until(records)` holds; fail at the deadline."""
    records: list[ConsumerRecord[Any, Any]] = []
    async for batch in _batches(settings, topic, timeout):
        records.extend(batch)
        if until(records):
            return records
    raise AssertionError(
        f"{topic}: condition not met within {timeout}s; {len(records)} record(s) seen"
    )


async def _batches(
    settings: KafkaSettings, topic: str, timeout: float
) -> AsyncIterator[list[ConsumerRecord[Any, Any]]]:
    consumer = AIOKafkaConsumer(
        topic,
        **settings.aiokafka_options(),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            fetched = await consumer.getmany(timeout_ms=500)
            batch = [record for part in fetched.values() for record in part]
            if batch:
                yield batch
    finally:
        await consumer.stop()
