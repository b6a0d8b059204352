import itertools
from datetime import UTC, datetime

import pytest

from services.ingest.accepter import PublishingAccepter
from services.ingest.errors import BrokerUnavailable, InvalidInput
from services.ingest.metrics import IngestMetrics
from services.ingest.patients import PatientIndex
from services.ingest.ports import PartlyAccepted
from shared.codec import decode_as
from shared.events import ClinicalEvent, Sender
from tests.unit.ingest.fakes import RecordingPublisher
from tests.unit.ingest.samples import GP_ODS, NHS_NUMBER, condition, observation, patient

SENDER = Sender(channel="mllp", client="TRUST-TIE", message_id="MSG0001")


def core_with(publisher: RecordingPublisher) -> PublishingAccepter:
    counter = itertools.count()
    return PublishingAccepter(
        publisher,
        topic="events",
        index=PatientIndex(),
        metrics=IngestMetrics(),
        clock=lambda: datetime(2025, 3, 1, tzinfo=UTC),
        new_correlation_id=lambda: f"corr-{next(counter)}",
        accept_test_numbers=True,  # fixtures use test-range numbers
    )


async def test_accepted_resources_are_published_keyed_by_patient_as_clinical_events():
    publisher = RecordingPublisher()
    events = await core_with(publisher).accept([patient(), condition()], SENDER)
    assert [e.resource_type for e in events] == ["Patient", "Condition"]
    assert [(topic, key) for topic, key, _ in publisher.sent] == [
        ("events", NHS_NUMBER.encode()),
        ("events", NHS_NUMBER.encode()),
    ]
    published = decode_as(publisher.sent[1][2], ClinicalEvent)
    assert published == events[1]
    assert published.sender == SENDER


async def test_an_atomic_request_with_one_bad_resource_publishes_nothing():
    publisher = RecordingPublisher()
    with pytest.raises(InvalidInput) as refused:
        await core_with(publisher).accept([condition(), observation(status="bogus")], SENDER)
    assert publisher.sent == []
    assert refused.value.issues[0].expression == "Observation.status"
    assert refused.value.issues[0].diagnostics.startswith("resource 1:")


async def test_a_non_atomic_request_publishes_the_good_ones_and_names_the_bad_ones():
    publisher = RecordingPublisher()
    with pytest.raises(PartlyAccepted) as partly:
        await core_with(publisher).accept(
            [condition(), observation(status="bogus")], SENDER, atomic=False
        )
    assert len(publisher.sent) == 1
    assert [e.resource_id for e in partly.value.accepted] == ["c1"]


async def test_a_patient_accepted_earlier_gives_later_resources_its_demographics():
    core = core_with(RecordingPublisher())
    await core.accept([patient()], SENDER)
    [event] = await core.accept([observation()], SENDER)
    assert event.patient_key == NHS_NUMBER
    assert event.patient.gp_practice_ods == GP_ODS


async def test_a_patient_is_not_remembered_when_the_broker_did_not_take_it():
    publisher = RecordingPublisher(available=False)
    core = core_with(publisher)
    with pytest.raises(BrokerUnavailable):
        await core.accept([patient()], SENDER)
    assert len(core.index) == 0


async def test_accepted_resources_are_counted_by_channel_and_type():
    core = core_with(RecordingPublisher())
    await core.accept([patient(), condition()], SENDER)
    value = core.metrics.registry.get_sample_value(
        "rmbc_ingest_accepted_resources_total", {"channel": "mllp", "resource_type": "Condition"}
    )
    assert value == 1
