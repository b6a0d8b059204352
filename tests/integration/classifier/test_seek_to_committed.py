"""The seek that follows every rebalance, against the real broker: records fetched and given up are
read again, also on a partition the group never committed (services/classifier/stream/corrections/worker_consumer.py).
aiokafka's own seek leaves such a partition past them: a worker joining a new group's first traffic
skipped the first records of each partition it held across the rebalance."""

import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.structs import OffsetAndMetadata

from services.classifier.stream.corrections.worker_consumer import seek_to_committed
from shared.settings import KafkaSettings
from tests.support.kafka import create_topics, produce

CHANGELOG = "-changelog"


@pytest.fixture
async def fetched(kafka_settings: KafkaSettings) -> AsyncIterator[AIOKafkaConsumer]:
    """A group's consumer of a fresh input topic and a fresh changelog topic, 10 records in each,
    that has fetched 4 of each and committed nothing: the state a rebalance leaves."""
    name = f"rmbc.seek-{uuid.uuid4().hex[:8]}"
    await create_topics(kafka_settings, [name, name + CHANGELOG])
    for topic in (name, name + CHANGELOG):
        for number in range(10):
            await produce(kafka_settings, topic, str(number).encode(), b"k")
    consumer = AIOKafkaConsumer(
        **kafka_settings.aiokafka_options(),
        group_id=f"rmbc-seek-{uuid.uuid4().hex[:8]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    consumer.assign([TopicPartition(name, 0), TopicPartition(name + CHANGELOG, 0)])
    for tp in consumer.assignment():
        while await consumer.position(tp) < 4:
            await consumer.getmany(tp, timeout_ms=1000, max_records=4 - await consumer.position(tp))
    try:
        yield consumer
    finally:
        await consumer.stop()


def input_partition(consumer: AIOKafkaConsumer) -> TopicPartition:
    return next(tp for tp in consumer.assignment() if not tp.topic.endswith(CHANGELOG))


def changelog_partition(consumer: AIOKafkaConsumer) -> TopicPartition:
    return next(tp for tp in consumer.assignment() if tp.topic.endswith(CHANGELOG))


def is_input(tp: TopicPartition) -> bool:
    return not tp.topic.endswith(CHANGELOG)


class Targets(dict[TopicPartition, int]):
    """What the seek reports it sought, for the stream's handoff."""

    def __call__(self, targets: dict[TopicPartition, int]) -> None:
        self.update(targets)


async def test_aiokafka_leaves_a_partition_never_committed_past_what_it_fetched(
    fetched: AIOKafkaConsumer,
) -> None:
    # pins the flaw the worker corrects: if aiokafka seeks back one day, this fails
    committed = await fetched.seek_to_committed()
    assert committed[input_partition(fetched)] is None
    assert await fetched.position(input_partition(fetched)) == 4


async def test_an_input_partition_never_committed_is_read_again_from_its_beginning(
    fetched: AIOKafkaConsumer,
) -> None:
    sought = Targets()
    committed = await seek_to_committed(fetched, is_input, sought)
    tp = input_partition(fetched)
    assert committed[tp] is None
    assert sought == {tp: 0}
    assert await fetched.position(tp) == 0
    records = await fetched.getmany(tp, timeout_ms=2000)
    assert [r.value for r in records[tp]][:4] == [b"0", b"1", b"2", b"3"]


@pytest.mark.parametrize("offset", [0, 2])
async def test_a_committed_partition_goes_back_to_its_committed_offset(
    fetched: AIOKafkaConsumer, offset: int
) -> None:
    tp = input_partition(fetched)
    await fetched.commit({tp: OffsetAndMetadata(offset, "")})
    await fetched.getmany(tp, timeout_ms=1000)
    sought = Targets()
    committed = await seek_to_committed(fetched, is_input, sought)
    assert committed[tp] == offset
    assert sought == {tp: offset}
    assert await fetched.position(tp) == offset


async def test_a_changelog_partition_is_left_where_the_table_put_it(
    fetched: AIOKafkaConsumer,
) -> None:
    sought = Targets()
    await seek_to_committed(fetched, is_input, sought)
    assert changelog_partition(fetched) not in sought
    assert await fetched.position(changelog_partition(fetched)) == 4
