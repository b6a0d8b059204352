from services.demo.readback import read_all
from shared.admin import group_lag
from tests.support.kafka import produce


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
