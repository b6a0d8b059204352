"""A worker whose table recovery stops moving reads none of its partitions while /healthz answers:
the watch (services/classifier/stream/corrections/recovery_watch.py) reads the changelog again and then stops it for
a restart. The stall here is real and certain: a changelog partition that ends in a transaction
marker, a record faust's recovery waits for and never receives (the same "No event received for
active tp" wait as the stall seen in the scale-out runs, where reading again ends it)."""

import asyncio
import time
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer

from services.classifier.state import PatientState
from shared.codec import encode
from shared.settings import KafkaSettings
from shared.topics import TopicNames
from tests.integration.classifier.worker import Worker, scenario_events
from tests.support.kafka import produce, read_topic

STALL_SECONDS = 4.0


async def end_in_a_transaction_marker(kafka: KafkaSettings, topic: str) -> None:
    producer = AIOKafkaProducer(
        **kafka.aiokafka_options(), transactional_id=f"{topic}-tx", enable_idempotence=True
    )
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send(topic, PatientState().to_bytes(), key=b"9434765919", partition=0)
    finally:
        await producer.stop()


async def test_a_worker_whose_table_recovery_stalls_stops_for_a_restart(
    kafka_settings: KafkaSettings, topics: TopicNames, tmp_path: Path
) -> None:
    worker = Worker.for_topics(kafka_settings, topics, tmp_path)
    worker.env["RMBC_CLASSIFIER_RECOVERY_STALL_SECONDS"] = str(STALL_SECONDS)
    try:
        worker.start()  # recovers an empty changelog, so the watch lets it be
        for event in scenario_events(3):
            await produce(
                kafka_settings, topics.clinical_events, encode(event), event.patient_key.encode()
            )
        await read_topic(kafka_settings, topics.cancer_flags, until=lambda r: len(r) >= 1)
        worker.stop()
        await end_in_a_transaction_marker(kafka_settings, f"{worker.group}-patients-changelog")

        process = worker.launch()
        started = time.monotonic()
        async with httpx.AsyncClient(timeout=1) as client:
            while process.poll() is None:
                assert time.monotonic() - started < 90, "the stalled worker was not stopped"
                try:
                    ready = await client.get(f"http://127.0.0.1:{worker.port}/readyz")
                    assert ready.status_code != 200, "the worker was ready: nothing stalled"
                except httpx.TransportError:
                    pass  # faust serves HTTP only once the first recovery has completed
                await asyncio.sleep(0.5)
        log = worker.log.read_text()
        assert process.returncode != 0
        assert time.monotonic() - started >= STALL_SECONDS
        assert "changelog records fetched were never restored: reading them again" in log
        assert "table recovery made no progress for" in log
        assert "9434765919" not in log
    finally:
        worker.stop()
