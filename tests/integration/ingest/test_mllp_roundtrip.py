"""MLLP against the real broker: AA means the event is on the topic; a resend publishes nothing."""

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import hl7
from hl7.mllp import open_hl7_connection

from services.ingest.accepter import PublishingAccepter
from services.ingest.hl7.mllp import MllpMetrics, start_mllp_server
from services.ingest.metrics import IngestMetrics
from services.ingest.patients import PatientIndex
from services.ingest.publisher import KafkaPublisher
from shared.codec import decode_as
from shared.events import ClinicalEvent
from shared.settings import KafkaSettings
from shared.topics import TopicNames
from tests.support.kafka import read_topic
from tests.unit.ingest import hl7_samples as s


@asynccontextmanager
async def ingest_mllp(
    settings: KafkaSettings, topic: str, *, connected: bool = True
) -> AsyncIterator[int]:
    publisher = KafkaPublisher(settings, timeout=2.0, reconnect_every=0.5)
    await publisher.start()
    if connected:
        assert await publisher.wait_connected(20), "no connection to the test broker"
    core = PublishingAccepter(
        publisher,
        topic=topic,
        index=PatientIndex(1000),
        metrics=IngestMetrics(),
        clock=lambda: datetime.now(UTC),
        new_correlation_id=lambda: str(uuid.uuid4()),
        accept_test_numbers=True,  # fixtures use test-range numbers
    )
    server = await start_mllp_server(core, "127.0.0.1", 0, metrics=MllpMetrics())
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()
        await publisher.stop()


async def send(port: int, *messages: str) -> list[str]:
    reader, writer = await open_hl7_connection("127.0.0.1", port, encoding="utf-8")
    codes = []
    try:
        for message in messages:
            writer.writemessage(hl7.parse(message))
            await writer.drain()
            ack = await asyncio.wait_for(reader.readmessage(), 15)
            codes.append(str(ack.segment("MSA")[1]))
    finally:
        writer.close()
    return codes


async def test_an_aa_means_the_event_is_on_the_topic_and_a_resend_adds_nothing(
    kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    later = s.oru(header=s.msh(control_id="MSG0002", stamp="20250314113000"))
    async with ingest_mllp(kafka_settings, topics.clinical_events) as port:
        assert await send(port, s.oru()) == ["AA"]
        first = await read_topic(
            kafka_settings, topics.clinical_events, until=lambda r: len(r) >= 2, timeout=15
        )
        # the resend, then a new message: same patient key, same partition, so order holds and
        # everything before MSG0002's events is what the resend published (nothing)
        assert await send(port, s.oru(), later) == ["AA", "AA"]
        records = await read_topic(
            kafka_settings,
            topics.clinical_events,
            until=lambda r: sum(b"MSG0002" in x.value for x in r) >= 2,
            timeout=15,
        )
    patient, observation = (decode_as(r.value, ClinicalEvent) for r in first)
    assert {r.key for r in first} == {s.NHS.encode()}
    assert (patient.resource_type, observation.resource_type) == ("Patient", "Observation")
    assert observation.patient.family_name == "BRONTË"
    assert observation.patient.provider_ods == "RX1"
    assert (observation.sender.channel, observation.sender.message_id) == ("mllp", "MSG0001")
    ids = [decode_as(r.value, ClinicalEvent).sender.message_id for r in records]
    assert ids == ["MSG0001", "MSG0001", "MSG0002", "MSG0002"]


async def test_with_the_broker_unreachable_the_answer_is_a_negative_ack_never_aa(
    topics: TopicNames,
) -> None:
    nowhere = KafkaSettings(bootstrap_servers="127.0.0.1:9", client_id="rmbc-tests")
    async with ingest_mllp(nowhere, topics.clinical_events, connected=False) as port:
        codes = await send(port, s.oru(), s.adt())
    assert codes == ["AE", "AE"]
