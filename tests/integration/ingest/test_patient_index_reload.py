"""A restarted ingest still knows the Patients accepted before: a Condition that names only
`Patient/<id>` is keyed by the NHS number, as it would have been without the restart."""

import uuid
from datetime import UTC, datetime
from typing import Any

from services.ingest.accepter import PublishingAccepter
from services.ingest.metrics import IngestMetrics
from services.ingest.patient_history import load_patient_index
from services.ingest.patients import PatientIndex
from services.ingest.publisher import KafkaPublisher
from shared.events import Sender
from shared.settings import KafkaSettings
from shared.topics import TopicNames

NHS_NUMBER = "9434765919"
SENDER = Sender(channel="http", client="tests")


def patient() -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": "pat-restart",
        "meta": {"versionId": "1", "lastUpdated": "2024-01-01T09:00:00Z"},
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": NHS_NUMBER}],
        "birthDate": "1961-04-12",
    }


def condition() -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": "c-bone",
        "meta": {"versionId": "1", "lastUpdated": "2024-06-10T10:00:00Z"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "94222008"}]},
        "subject": {"reference": "Patient/pat-restart"},
    }


async def started_core(
    settings: KafkaSettings, topic: str, index: PatientIndex
) -> PublishingAccepter:
    publisher = KafkaPublisher(
        settings,
        timeout=5.0,
        reconnect_every=0.5,
        before_ready=lambda: load_patient_index(settings, topic, index),
    )
    await publisher.start()
    assert await publisher.wait_connected(30), "no connection to the test broker"
    return PublishingAccepter(
        publisher,
        topic=topic,
        index=index,
        metrics=IngestMetrics(),
        clock=lambda: datetime.now(UTC),
        new_correlation_id=lambda: str(uuid.uuid4()),
        accept_test_numbers=True,  # fixtures use test-range numbers
    )


async def test_after_a_restart_a_condition_naming_only_its_patient_is_keyed_by_nhs_number(
    kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    before = await started_core(kafka_settings, topics.clinical_events, PatientIndex())
    try:
        await before.accept([patient()], SENDER)
    finally:
        await before.publisher.stop()  # type: ignore[attr-defined]

    after = await started_core(kafka_settings, topics.clinical_events, PatientIndex())
    try:
        (event,) = await after.accept([condition()], SENDER)
    finally:
        await after.publisher.stop()  # type: ignore[attr-defined]
    assert event.patient_key == NHS_NUMBER
    assert event.patient is not None and event.patient.birth_date is not None


async def test_an_empty_or_missing_topic_loads_nothing_and_does_not_fail(
    kafka_settings: KafkaSettings, topics: TopicNames
) -> None:
    index = PatientIndex()
    assert await load_patient_index(kafka_settings, topics.clinical_events, index) == 0
    assert await load_patient_index(kafka_settings, f"absent-{uuid.uuid4().hex}", index) == 0
    assert len(index) == 0
