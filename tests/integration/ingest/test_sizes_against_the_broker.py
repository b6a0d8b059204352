"""Sizes agree end to end, against the real broker: ingest reads the topic's max.message.bytes
when it connects, refuses a larger event with 413 (not the 503 the broker's refusal used to
become), and stores one just within it."""

import asyncio
import uuid
from typing import Any

import orjson
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from services.ingest.publisher import (
    DOCUMENTED_MAX_MESSAGE_BYTES,
    KafkaPublisher,
    topic_message_limit,
)
from shared.settings import KafkaSettings
from shared.topics import TopicNames
from tests.integration.ingest.test_http_kafka import HEADERS, events_of, read_all, running_ingest
from tests.unit.ingest.samples import condition

SMALL_LIMIT = 200_000


async def topics_with_limit(settings: KafkaSettings, max_message_bytes: int | None) -> TopicNames:
    names = TopicNames.with_suffix(uuid.uuid4().hex[:10])
    configs = {"max.message.bytes": str(max_message_bytes)} if max_message_bytes else {}
    admin = AIOKafkaAdminClient(**settings.aiokafka_options())
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name, 1, 1, topic_configs=configs) for name in names.all()]
        )
    finally:
        await admin.close()
    # a topic's configuration is described once its metadata reached the broker's cache
    wanted = max_message_bytes or DOCUMENTED_MAX_MESSAGE_BYTES
    async with asyncio.timeout(30):
        while await topic_message_limit(settings, names.clinical_events) != wanted:
            await asyncio.sleep(0.1)
    return names


def condition_of_about(size: int) -> dict[str, Any]:
    """A valid Condition whose JSON takes `size` bytes or a note more (notes of 60,000 characters)."""
    text = "clinical note " * 4285
    notes = [{"text": text} for _ in range(-(-size // len(text)))]
    return condition(note=notes)


def condition_of_exactly(size: int) -> dict[str, Any]:
    """A valid Condition whose JSON takes exactly `size` bytes."""
    resource = condition_of_about(size - 60_000)
    short = len(orjson.dumps(resource)) + len(orjson.dumps({"text": ""})) + 1
    resource["note"].append({"text": "x" * (size - short)})
    assert len(orjson.dumps(resource)) == size
    return resource


async def test_ingest_reads_the_topics_max_message_bytes_and_the_brokers_default_otherwise(
    kafka_settings: KafkaSettings,
) -> None:
    small = await topics_with_limit(kafka_settings, SMALL_LIMIT)
    plain = await topics_with_limit(kafka_settings, None)
    publisher = KafkaPublisher(kafka_settings, limit_topic=small.clinical_events)
    await publisher.start()
    try:
        assert await publisher.wait_connected(30)
        assert publisher.max_message_bytes == SMALL_LIMIT
    finally:
        await publisher.stop()
    assert await topic_message_limit(kafka_settings, plain.clinical_events) == (
        DOCUMENTED_MAX_MESSAGE_BYTES
    )
    assert await topic_message_limit(kafka_settings, "rmbc.no-such-topic." + uuid.uuid4().hex) == (
        DOCUMENTED_MAX_MESSAGE_BYTES
    )


async def test_above_the_topics_limit_the_answer_is_413_and_just_within_it_is_stored(
    kafka_settings: KafkaSettings,
) -> None:
    topics = await topics_with_limit(kafka_settings, SMALL_LIMIT)
    too_large = condition_of_about(SMALL_LIMIT + 10_000)
    # the event adds an envelope (ids, patient, sender) of about 1,100 bytes: this one's record
    # comes within a few hundred bytes of the limit, so the broker checks ingest's arithmetic
    fits = condition_of_exactly(SMALL_LIMIT - 1_300)
    async with running_ingest(kafka_settings, topics) as client:
        refused = await client.post(
            "/fhir/Condition", headers=HEADERS, content=orjson.dumps(too_large)
        )
        stored = await client.post("/fhir/Condition", headers=HEADERS, content=orjson.dumps(fits))
        records = await read_all(kafka_settings, topics.clinical_events)
    assert refused.status_code == 413
    assert refused.json()["issue"][0]["code"] == "too-costly"
    assert stored.status_code == 201
    [event] = events_of(records)
    assert event.resource["note"] == fits["note"]


async def test_a_resource_over_a_megabyte_gets_413_from_a_default_topic_not_503(
    kafka_settings: KafkaSettings,
) -> None:
    topics = await topics_with_limit(kafka_settings, None)
    async with running_ingest(kafka_settings, topics) as client:
        answers = [
            await client.post(
                "/fhir/Condition", headers=HEADERS, content=orjson.dumps(condition_of_about(size))
            )
            for size in (1_100_000, 2_000_000)
        ]
        records = await read_all(kafka_settings, topics.clinical_events)
    assert [answer.status_code for answer in answers] == [413, 413]
    assert records == []
