"""Follows the worklist's three topics from their beginning into the read model.

The topics are the truth: at each start the view is rebuilt by reading `rmbc.cancer-flags.v1`,
`rmbc.alerts.v1` and `rmbc.reviews.v1` from offset zero (no consumer group, no commits), and the
app serves pages only once it has read up to the end offsets it found at start, so a person never
acts on a page older than what Kafka holds. A record that cannot be decoded is counted and logged
by topic, partition and offset (never its content); the services that own those topics
dead-letter it, so the worklist does not write it again at every start.
"""

import asyncio
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from shared.admin import topic_partitions
from shared.codec import UndecodableEvent, decode
from shared.events import Envelope
from shared.settings import KafkaSettings

log = logging.getLogger("services.worklist.follower")


class Follower:
    def __init__(
        self, kafka: KafkaSettings, topics: list[str], apply: Callable[[Envelope], object]
    ) -> None:
        self._kafka = kafka
        self._topics = topics
        self._apply = apply
        self.caught_up = asyncio.Event()
        self.undecodable = 0

    async def run(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            **self._kafka.aiokafka_options(),
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            partitions = [
                tp for topic in self._topics for tp in await topic_partitions(self._kafka, topic)
            ]
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            end = await consumer.end_offsets(partitions)
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=500, max_records=2000)
                for records in batches.values():
                    for record in records:
                        self._take(record.topic, record.partition, record.offset, record.value)
                if not self.caught_up.is_set() and await _reached(consumer, end):
                    self.caught_up.set()
                    log.info("worklist rebuilt from the topics", extra={"offsets": len(end)})
        finally:
            await consumer.stop()

    def _take(self, topic: str, partition: int, offset: int, value: bytes | None) -> None:
        try:
            event = decode(value)
        except UndecodableEvent as error:
            self.undecodable += 1
            log.warning(
                "undecodable record left out of the worklist",
                extra={"topic": topic, "partition": partition, "offset": offset,
                       "reason": str(error)[:200]},
            )  # fmt: skip
            return
        self._apply(event)


async def _reached(consumer: AIOKafkaConsumer, end: dict[TopicPartition, int]) -> bool:
    """Whether every partition has been read up to the end offset found at start."""
    for partition, offset in end.items():
        if await consumer.position(partition) < offset:
            return False
    return True
