"""Reading what the pipeline wrote: whole topics up to their end, and consumer-group lag."""

from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import GroupCoordinatorNotAvailableError

from shared.admin import records_to_end, topic_partitions
from shared.settings import KafkaSettings


async def read_all(settings: KafkaSettings, topic: str) -> list[ConsumerRecord[Any, Any]]:
    """Everything on `topic` up to its end offsets at the time of the call."""
    return [record async for record in records_to_end(settings, topic)]


async def group_lag(settings: KafkaSettings, group_id: str, topic: str) -> int | None:
    """How many records of `topic` the group has not committed yet; None before its first commit."""
    admin = AIOKafkaAdminClient(**settings.aiokafka_options())
    consumer = AIOKafkaConsumer(**settings.aiokafka_options(), group_id=None)
    await admin.start()
    await consumer.start()
    try:
        try:
            offsets = await admin.list_consumer_group_offsets(group_id)
        except GroupCoordinatorNotAvailableError:
            return None  # no coordinator yet: the group has never committed
        committed = {tp: meta.offset for tp, meta in offsets.items() if tp.topic == topic}
        partitions = await topic_partitions(settings, topic)
        ends = await consumer.end_offsets(partitions)
        if not committed:
            return None if any(ends.values()) else 0
        return int(sum(max(0, end - committed.get(tp, 0)) for tp, end in ends.items()))
    finally:
        await consumer.stop()
        await admin.close()
