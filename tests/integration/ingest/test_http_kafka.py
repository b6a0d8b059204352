"""The FHIR HTTP API over a real socket against the real broker: a 2xx means it is on the topic."""

import asyncio
import os
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from services.ingest.fhir.auth import TokenVerifier, token_hashes
from services.ingest.fhir.server import GuardedServer, server_config
from services.ingest.main import build_app
from services.ingest.settings import IngestSettings
from shared.codec import decode_as
from shared.events import ClinicalEvent
from shared.settings import KafkaSettings
from shared.topics import TopicNames
from tests.support.kafka import read_topic
from tests.unit.ingest.samples import GP_ODS, NHS_NUMBER, bundle, condition, patient

TOKEN = "integration-test-token-0001"
HEADERS = {"Content-Type": "application/fhir+json", "Authorization": f"Bearer {TOKEN}"}
PROJECT_ROOT = Path(__file__).resolve().parents[3]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def running_ingest(
    kafka: KafkaSettings, topics: TopicNames, *, wait_ready: bool = True
) -> AsyncIterator[httpx.AsyncClient]:
    settings = IngestSettings(
        kafka=kafka, topics=topics, publish_timeout_seconds=2.0, environment="test"
    )
    app = build_app(settings, TokenVerifier(token_hashes(TOKEN)), with_mllp=False)
    config = server_config(
        app, host="127.0.0.1", port=free_port(), limits=settings.connection_limits()
    )
    server = GuardedServer(config, settings.connection_limits())
    task = asyncio.create_task(server.serve())
    url = f"http://127.0.0.1:{config.port}"
    try:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            await _wait_for(client, "/readyz" if wait_ready else "/healthz", deadline=30)
            yield client
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 15)


async def _wait_for(client: httpx.AsyncClient, path: str, deadline: float) -> None:
    until = time.monotonic() + deadline
    while time.monotonic() < until:
        try:
            if (await client.get(path)).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet
        await asyncio.sleep(0.05)
    raise AssertionError(f"{path} not 200 within {deadline}s")


async def read_all(settings: KafkaSettings, topic: str) -> list[ConsumerRecord[Any, Any]]:
    """Every record on `topic` (created empty for this test) up to its end offsets now."""
    consumer = AIOKafkaConsumer(
        topic,
        **settings.aiokafka_options(),
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        expected = sum((await consumer.end_offsets(partitions)).values())
        records: list[ConsumerRecord[Any, Any]] = []
        until = time.monotonic() + 15
        while len(records) < expected:
            assert time.monotonic() < until, f"{topic}: {len(records)} of {expected} records read"
            fetched = await consumer.getmany(timeout_ms=200)
            records.extend(record for batch in fetched.values() for record in batch)
        return records
    finally:
        await consumer.stop()


def events_of(records) -> list[ClinicalEvent]:
    return [decode_as(r.value, ClinicalEvent) for r in records]


async def test_a_201_means_the_event_is_on_the_topic_keyed_by_nhs_number(kafka_settings, topics):
    async with running_ingest(kafka_settings, topics) as client:
        response = await client.post(
            "/fhir/Condition", headers=HEADERS, content=orjson.dumps(condition())
        )
        assert response.status_code == 201
        records = await read_all(kafka_settings, topics.clinical_events)
    [event] = events_of(records)
    assert records[0].key == NHS_NUMBER.encode()
    assert event.correlation_id == response.headers["x-correlation-id"]
    assert event.resource == condition()


async def test_a_transaction_with_one_bad_entry_leaves_nothing_on_the_topic(kafka_settings, topics):
    bad = bundle("transaction", [patient(), condition("c1"), condition("c2", onsetDateTime="soon")])
    async with running_ingest(kafka_settings, topics) as client:
        response = await client.post("/fhir", headers=HEADERS, content=orjson.dumps(bad))
        assert response.status_code == 422
        assert response.json()["issue"][0]["expression"] == [
            "Bundle.entry[2].resource.onsetDateTime"
        ]
        assert await read_all(kafka_settings, topics.clinical_events) == []


async def test_a_transaction_puts_every_entry_on_the_topic_with_the_bundles_patient(
    kafka_settings, topics
):
    raw = bundle(
        "transaction",
        [
            patient(),
            condition(subject={"reference": "urn:uuid:00000000-0000-4000-8000-000000000000"}),
        ],
    )
    async with running_ingest(kafka_settings, topics) as client:
        response = await client.post("/fhir", headers=HEADERS, content=orjson.dumps(raw))
        assert response.status_code == 200
        records = await read_all(kafka_settings, topics.clinical_events)
    events = events_of(records)
    assert [e.resource_type for e in events] == ["Patient", "Condition"]
    assert {r.key for r in records} == {NHS_NUMBER.encode()}
    assert events[1].patient.gp_practice_ods == GP_ODS


async def test_the_same_resource_sent_twice_has_the_same_event_id(kafka_settings, topics):
    async with running_ingest(kafka_settings, topics) as client:
        for _ in range(2):
            response = await client.put(
                "/fhir/Condition/c1", headers=HEADERS, content=orjson.dumps(condition())
            )
            assert response.status_code == 200
    records = await read_topic(
        kafka_settings, topics.clinical_events, until=lambda rs: len(rs) >= 2, timeout=15
    )
    first, second = events_of(records)
    assert first.event_id == second.event_id
    assert first.correlation_id != second.correlation_id


async def test_with_the_broker_unreachable_the_answer_is_503_within_5_seconds(topics):
    unreachable = KafkaSettings(bootstrap_servers=f"127.0.0.1:{free_port()}")
    async with running_ingest(unreachable, topics, wait_ready=False) as client:
        started = time.monotonic()
        response = await client.post(
            "/fhir/Condition", headers=HEADERS, content=orjson.dumps(condition())
        )
        elapsed = time.monotonic() - started
        ready = await client.get("/readyz")
    assert response.status_code == 503
    assert int(response.headers["retry-after"]) > 0
    assert elapsed < 5
    assert ready.status_code == 503


async def test_rmbc_ingest_runs_both_listeners_and_stops_cleanly_on_sigterm(kafka_settings, topics):
    http_port, mllp_port = free_port(), free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "RMBC_TOPIC_CLINICAL_EVENTS": topics.clinical_events,
        "RMBC_INGEST_TOKENS": TOKEN,
        "RMBC_INGEST_ENVIRONMENT": "test",  # its patients carry test-range NHS numbers
    }
    command = [
        sys.executable,
        "-m",
        "services.cli",
        "ingest",
        "--port",
        str(http_port),
        "--mllp-port",
        str(mllp_port),
    ]
    process = await asyncio.create_subprocess_exec(
        *command, env=env, cwd=PROJECT_ROOT, stderr=asyncio.subprocess.PIPE
    )
    try:
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{http_port}", timeout=10
        ) as client:
            await _wait_for(client, "/readyz", deadline=30)
            response = await client.post(
                "/fhir/Patient", headers=HEADERS, content=orjson.dumps(patient())
            )
            assert response.status_code == 201
        _, writer = await asyncio.open_connection("127.0.0.1", mllp_port)
        writer.close()  # the MLLP listener is up in the same process
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 20)
        assert process.returncode == 0, stderr.decode()[-2000:]
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    logs = stderr.decode()
    assert '"msg":"ingest stopped"' in logs
    assert NHS_NUMBER not in logs
    assert len(await read_all(kafka_settings, topics.clinical_events)) == 1
