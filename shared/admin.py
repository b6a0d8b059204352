"""Kafka reads the services share: a topic's partitions, and a topic read to its current end."""

from collections.abc import AsyncIterator
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from shared.settings import KafkaSettings


async def topic_partitions(settings: KafkaSettings, topic: str) -> list[TopicPartition]:
    """The topic's partitions, or none when the topic does not exist (yet)."""
    admin = AIOKafkaAdminClient(**settings.aiokafka_options())
    await admin.start()
    try:
        (description,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if description["error_code"]:
        return []
    return sorted(TopicPartition(topic, p["partition"]) for p in description["partitions"])


async def records_to_end(
    settings: KafkaSettings, topic: str
) -> AsyncIterator[ConsumerRecord[Any, Any]]:
    """Every record on `topic`, from the beginning up to its end offsets at the time of the call."""
    consumer = AIOKafkaConsumer(
        **settings.aiokafka_options(), group_id=None, enable_auto_commit=False
    )
    await consumer.start()
    try:
        partitions = await topic_partitions(settings, topic)
        if not partitions:
            return
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            for tp, batch in (await consumer.getmany(timeout_ms=500)).items():
                for record in batch:
                    if record.offset < ends[tp]:
                        yield record
    finally:
        await consumer.stop()
