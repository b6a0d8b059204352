"""Kafka administration the services share: creating the contract's topics from their one
definition, a topic's shape and partitions, and a topic read to its current end."""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import GroupCoordinatorNotAvailableError, TopicAlreadyExistsError

from shared.settings import KafkaSettings
from shared.topics import TopicSpec


@dataclass(frozen=True)
class TopicShape:
    partitions: int
    replication_factor: int


class TopicMismatch(RuntimeError):
    """A topic exists with another partition count than its definition: nothing can fix that
    in place without moving patients between partitions; the message says what to do."""


async def topic_shape(settings: KafkaSettings, topic: str) -> TopicShape | None:
    """The topic's partition count and replication factor, or None when it does not exist.
    Listed before it is described: describing a missing topic would make a broker that
    auto-creates topics create it, with its default partition count."""
    admin = AIOKafkaAdminClient(**settings.aiokafka_options())
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            return None
        (description,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    partitions = description["partitions"]
    if description["error_code"] or not partitions:
        return None
    return TopicShape(len(partitions), len(partitions[0]["replicas"]))


METADATA_SECONDS = 30.0  # a new topic reaches every broker's metadata within moments


async def _shape_once_known(
    settings: KafkaSettings, topic: str, timeout: float
) -> TopicShape | None:
    """The topic's shape once the broker asked knows the topic (a cluster's other brokers learn of
    a new topic a moment after the controller made it); None at the deadline."""
    deadline = time.monotonic() + timeout
    while (shape := await topic_shape(settings, topic)) is None and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    return shape


async def create_topics(settings: KafkaSettings, specs: list[TopicSpec]) -> dict[str, str]:
    """Create each topic that does not exist yet as its spec says; idempotent. Returns each
    topic's outcome ("created" or "exists"); raises TopicMismatch when an existing topic has
    another partition count."""
    admin = AIOKafkaAdminClient(**settings.aiokafka_options())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        wanted = [spec for spec in specs if spec.name not in existing]
        if wanted:
            # another process may create one at the same moment: that is what we wanted anyway
            with contextlib.suppress(TopicAlreadyExistsError):
                response = await admin.create_topics(
                    [
                        NewTopic(s.name, s.partitions, s.replication_factor, topic_configs=s.config)
                        for s in wanted
                    ]
                )
                refused = [
                    f"{name}: error {code} {detail or ''}".strip()
                    for name, code, *rest in response.topic_errors
                    for detail in (rest[0] if rest else None,)
                    if code not in (0, TopicAlreadyExistsError.errno)
                ]
                if refused:
                    raise TopicMismatch("the broker refused to create " + "; ".join(refused))
    finally:
        await admin.close()
    outcome = {spec.name: "created" if spec in wanted else "exists" for spec in specs}
    for spec in specs:
        shape = await _shape_once_known(settings, spec.name, METADATA_SECONDS)
        if shape is None:
            raise TopicMismatch(f"topic {spec.name} was not created")
        if shape.partitions != spec.partitions:
            raise TopicMismatch(
                f"topic {spec.name} has {shape.partitions} partitions, its definition "
                f"{spec.partitions}: keep {shape.partitions} (`rmbc topics create "
                f"--partitions {shape.partitions}`), or delete the topics and create them again "
                "before any data matters (docs/scaling.md)"
            )
    return outcome


async def topic_partitions(settings: KafkaSettings, topic: str) -> list[TopicPartition]:
    """The topic's partitions, or none when the topic does not exist (yet); listed first, so
    that asking never makes an auto-creating broker create it."""
    admin = AIOKafkaAdminClient(**settings.aiokafka_options())
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            return []
        (description,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if description["error_code"]:
        return []
    return sorted(TopicPartition(topic, p["partition"]) for p in description["partitions"])


async def existing_partitions(settings: KafkaSettings, *topics: str) -> list[TopicPartition]:
    """Every partition of `topics`; refuses when one of them does not exist."""
    partitions = []
    for topic in topics:
        found = await topic_partitions(settings, topic)
        if not found:
            raise RuntimeError(f"topic {topic} does not exist: run `rmbc topics create`")
        partitions += found
    return partitions


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
        async for record in read_to_end(consumer, partitions):
            yield record
    finally:
        await consumer.stop()


async def read_to_end(
    consumer: AIOKafkaConsumer, partitions: list[TopicPartition], from_committed: bool = False
) -> AsyncIterator[ConsumerRecord[Any, Any]]:
    """Every record on `partitions` (assigned to this started consumer), from the beginning, or
    `from_committed` from the consumer's group's committed offsets, up to their end offsets at the
    time of the call; the consumer stays open."""
    if not partitions:
        return
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    if from_committed:
        for tp in partitions:
            committed = await consumer.committed(tp)
            if committed is not None and committed >= 0:
                consumer.seek(tp, committed)
    ends = await consumer.end_offsets(partitions)
    while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
        for tp, batch in (await consumer.getmany(timeout_ms=500)).items():
            for record in batch:
                if record.offset < ends[tp]:
                    yield record


@dataclass(frozen=True)
class Followed:
    """One poll's records, each with whether it came after the ends the read started from, and
    whether every partition has been read up to those ends."""

    records: list[tuple[ConsumerRecord[Any, Any], bool]]
    caught_up: bool


async def read_and_follow(
    consumer: AIOKafkaConsumer,
    partitions: list[TopicPartition],
    stop: asyncio.Event,
    poll_ms: int = 500,
) -> AsyncIterator[Followed]:
    """Every record on `partitions` (assigned to this started consumer) from the beginning, then
    each new one as it comes, poll by poll, until `stop` is set. A process that rebuilds its state
    from topics acts only once `caught_up`."""
    consumer.assign(partitions)
    await consumer.seek_to_beginning(*partitions)
    ends = await consumer.end_offsets(partitions)
    caught_up = False
    while not stop.is_set():
        fetched = await consumer.getmany(timeout_ms=poll_ms, max_records=1000)
        records = [
            (record, record.offset >= ends[tp]) for tp, batch in fetched.items() for record in batch
        ]
        if not caught_up:
            caught_up = all([await consumer.position(tp) >= end for tp, end in ends.items()])
        yield Followed(records, caught_up)


async def group_lag(settings: KafkaSettings, group_id: str, topic: str) -> int | None:
    """How many records of `topic` the group has not committed yet; None before its first commit."""
    partitions = await topic_partitions(settings, topic)
    if not partitions:
        return 0
    try:
        committed, ends, _ = await _group_offsets(settings, group_id, partitions)
    except GroupCoordinatorNotAvailableError:
        return None  # no coordinator yet: the group has never committed
    if not committed:
        return None if any(ends.values()) else 0
    return int(sum(max(0, end - committed.get(tp, 0)) for tp, end in ends.items()))


async def lag_by_partition(
    settings: KafkaSettings, group_id: str, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    """The group's lag per partition as the broker sees it: the log end minus the committed
    offset (the log start where it never committed). Records a member fetched but did not
    process still count, and so does a partition it never fetched at all."""
    if not partitions:
        return {}
    committed, ends, starts = await _group_offsets(settings, group_id, partitions)
    return {tp: max(0, ends[tp] - committed.get(tp, starts[tp])) for tp in partitions}


Offsets = dict[TopicPartition, int]


async def _group_offsets(
    settings: KafkaSettings, group_id: str, partitions: list[TopicPartition]
) -> tuple[Offsets, Offsets, Offsets]:
    """The group's committed offsets on `partitions` (only where it committed), and the
    partitions' log ends and log starts."""
    admin = AIOKafkaAdminClient(**settings.aiokafka_options())
    consumer = AIOKafkaConsumer(**settings.aiokafka_options(), group_id=None)
    try:  # both closed even when a caller's timeout cancels a start
        await admin.start()
        await consumer.start()
        offsets = await admin.list_consumer_group_offsets(group_id, partitions=partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
    finally:
        await consumer.stop()
        await admin.close()
    committed = {tp: meta.offset for tp, meta in offsets.items() if meta.offset >= 0}
    return committed, ends, starts
