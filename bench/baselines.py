"""What the machine can do without rmbc, on the same payloads: orjson parsing, bare
`fhir.resources` validation, and raw aiokafka produce (acks=all) and consume of same-size events."""

import asyncio
import time
import uuid
from collections.abc import Callable
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from shared.settings import KafkaSettings


def rate(work: Callable[[], int], seconds: float) -> float:
    """Units per second of repeating `work` (which returns how many units it did) for `seconds`."""
    done = 0
    started = time.perf_counter()
    while (elapsed := time.perf_counter() - started) < seconds:
        done += work()
    return done / elapsed


def parse_rate(payloads: list[bytes], resources_each: int, seconds: float) -> float:
    def work() -> int:
        for payload in payloads:
            orjson.loads(payload)
        return len(payloads) * resources_each

    return rate(work, seconds)


def validation_rate(
    model: Any, payloads: list[bytes], resources_each: int, seconds: float
) -> float:
    null_check = model.__pydantic_decorators__.model_validators["reject_null_complex_elements"]
    if null_check.func.__module__ != "fhir_core.fhirabstractmodel":
        raise RuntimeError("the baseline must be fhir.resources as published, not ingest's models")

    def work() -> int:
        for payload in payloads:
            model.model_validate_json(payload)
        return len(payloads) * resources_each

    return rate(work, seconds)


async def kafka_rates(kafka: KafkaSettings, values: list[tuple[bytes, bytes]]) -> dict[str, float]:
    """Produce `values` with an idempotent acks=all producer (as ingest does), then consume them."""
    topic = f"rmbc.bench-raw-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(**kafka.aiokafka_options())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(
        **kafka.aiokafka_options(), acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    try:
        started = time.perf_counter()
        pending = [await producer.send(topic, value, key=key) for key, value in values]
        await asyncio.gather(*pending)
        produced = len(values) / (time.perf_counter() - started)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(**kafka.aiokafka_options(), group_id=None, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, n) for n in range(3)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        count = 0
        started = time.perf_counter()
        while count < len(values):
            for batch in (await consumer.getmany(timeout_ms=1000, max_records=5000)).values():
                count += len(batch)
        consumed = count / (time.perf_counter() - started)
    finally:
        await consumer.stop()
    size = sum(len(value) for _, value in values) / len(values)
    return {"produce_per_s": produced, "consume_per_s": consumed, "event_bytes": size}
