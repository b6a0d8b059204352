from services.demo.readback import read_all
from shared.admin import group_lag, lag_by_partition
from tests.support.kafka import create_topics, produce


async def test_read_all_returns_every_record_in_order_and_an_unknown_group_has_no_lag_yet(
    kafka_settings, topics
):
    for i in range(5):
        await produce(kafka_settings, topics.alerts, b"v%d" % i, key=b"k")
    rs = await read_all(kafka_settings, topics.alerts)
    assert [r.value for r in rs] == [b"v%d" % i for i in range(5)]
    assert await group_lag(kafka_settings, "nobody", topics.alerts) is None


async def test_group_lag_counts_what_a_group_has_not_committed(kafka_settings, topics):
    from aiokafka import AIOKafkaConsumer

    for i in range(4):
        await produce(kafka_settings, topics.alerts, b"v%d" % i, key=b"k")
    consumer = AIOKafkaConsumer(
        topics.alerts,
        **kafka_settings.aiokafka_options(),
        group_id="lagger",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        batch = await consumer.getmany(timeout_ms=10000, max_records=1)
        assert sum(len(b) for b in batch.values()) == 1
        await consumer.commit()
    finally:
        await consumer.stop()
    assert await group_lag(kafka_settings, "lagger", topics.alerts) == 3


async def test_lag_by_partition_counts_a_partition_never_committed_in_full(kafka_settings):
    """What a worker stuck before its first fetch leaves behind must show as lag."""
    import uuid

    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
    from aiokafka.structs import OffsetAndMetadata

    topic = f"lag-{uuid.uuid4().hex[:10]}"
    await create_topics(kafka_settings, [topic], partitions=2)
    producer = AIOKafkaProducer(**kafka_settings.aiokafka_options(), acks="all")
    await producer.start()
    try:
        for i in range(5):
            await producer.send_and_wait(topic, b"a%d" % i, partition=0)
        for i in range(4):
            await producer.send_and_wait(topic, b"b%d" % i, partition=1)
    finally:
        await producer.stop()
    first, second = TopicPartition(topic, 0), TopicPartition(topic, 1)
    committer = AIOKafkaConsumer(**kafka_settings.aiokafka_options(), group_id="half-way")
    await committer.start()
    try:
        committer.assign([first, second])
        await committer.commit({first: OffsetAndMetadata(2, "")})
    finally:
        await committer.stop()
    lag = await lag_by_partition(kafka_settings, "half-way", [first, second])
    assert lag == {first: 3, second: 4}
    assert await lag_by_partition(kafka_settings, "half-way", []) == {}
