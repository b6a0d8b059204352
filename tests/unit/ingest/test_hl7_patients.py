"""Every HL7 message names its patient, practice and trust: PID, PD1 and MSH-4 travel as a Patient
ahead of the results, so each event carries what a FHIR Patient would have given it."""

from datetime import date

import pytest

from services.ingest.hl7.decoding import interpret
from shared.events import Sender
from tests.unit.ingest import hl7_samples as s
from tests.unit.ingest.fakes import RecordingPublisher
from tests.unit.ingest.test_accepter import core_with

PRACTICE = "PD1|||Brook Surgery^^Y01234"


def with_practice(message: str) -> str:
    pid_end = message.index("\r", message.index("\rPID|") + 1)
    return message[:pid_end] + "\r" + PRACTICE + message[pid_end:]


@pytest.mark.parametrize(
    "message",
    [
        with_practice(s.oru()),
        with_practice(s.ppr()),
        with_practice(s.oru(header=s.msh(version="2.4"))),
    ],
    ids=["ORU^R01", "PPR^PC1", "ORU^R01 v2.4"],
)
async def test_a_clinical_message_carries_demographics_practice_and_trust(message: str) -> None:
    found = interpret(message.encode())
    assert found.outcome == "publish"
    publisher = RecordingPublisher()
    sender = Sender(channel="mllp", client="RX1", message_id="MSG0001")
    events = await core_with(publisher).accept(found.resources, sender)
    demographics, clinical = events
    assert demographics.resource_type == "Patient"
    assert clinical.resource_type in ("Observation", "Condition")
    patient = clinical.patient
    assert (patient.family_name, patient.given_names) == ("BRONTË", "ZOË")
    assert patient.birth_date == date(1970, 1, 1)
    assert patient.gp_practice_ods == "Y01234"
    assert patient.provider_ods == "RX1"
    assert patient.nhs_number == s.NHS
    assert len(publisher.sent) == len(events)


def test_a_message_whose_results_are_all_outside_the_profile_publishes_nothing() -> None:
    found = interpret(with_practice(s.oru(s.obx(code="718-7^Haemoglobin^LN"))).encode())
    assert found.outcome == "publish"
    assert found.resources == []
    assert [n.reason for n in found.not_mapped] == ["unsupported-observation-code"]


async def test_a_result_without_pd1_keeps_the_practice_an_earlier_adt_gave() -> None:
    core = core_with(RecordingPublisher())
    sender = Sender(channel="mllp", client="RX1", message_id="MSG0001")
    await core.accept(interpret(s.adt().encode()).resources, sender)  # PD1: Y01234
    result = interpret(s.oru(header=s.msh(control_id="MSG0002")).encode())  # no PD1
    _patient, observation = await core.accept(result.resources, sender)
    assert observation.patient.gp_practice_ods == "Y01234"
    assert observation.patient.provider_ods == "RX1"
    later = await core.accept(
        interpret(s.oru(header=s.msh(control_id="MSG0003", stamp="20250315")).encode()).resources,
        sender,
    )
    assert later[1].patient.gp_practice_ods == "Y01234"  # the index did not forget it either
