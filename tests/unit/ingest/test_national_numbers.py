"""NHS numbers by range: the test range only where the deployment is a test environment; Scottish
CHI and Northern Ireland H&C numbers recognised and keyed under their own systems, never as NHS
numbers; numbers of no issued range refused with the reason."""

from datetime import UTC, datetime

import pytest

from services.ingest.acceptance import Accepted, Refused, ResourceInRequest, plan
from services.ingest.hl7.issues import MessageRejected
from services.ingest.hl7.mapping import map_message
from services.ingest.patients import PatientIndex
from services.ingest.validation import resource_issues
from shared.events import Sender
from shared.nhs_number import (
    CHI_NUMBER_SYSTEM,
    HC_NUMBER_SYSTEM,
    NHS_NUMBER_SYSTEM,
    check_digit,
    number_range,
)
from tests.unit.ingest import hl7_samples as s
from tests.unit.ingest.samples import patient


def valid(first_nine: str) -> str:
    digit = check_digit(first_nine)
    assert digit is not None
    return f"{first_nine}{digit}"


ENGLAND = valid("450557710")
TEST = valid("999000001")
CHI = valid("010170123")
HC = valid("320000001")
RESERVED = valid("500000000")
IRELAND = valid("850000000")


@pytest.mark.parametrize(
    ("number", "expected"),
    [(ENGLAND, "nhs"), (TEST, "test"), (CHI, "chi"), (HC, "hc"), (RESERVED, "not-issued"),
     (IRELAND, "not-issued"), ("6000000006", "nhs"), ("3112999999", "chi")],
)  # fmt: skip
def test_each_number_is_placed_in_its_published_range(number: str, expected: str) -> None:
    assert number_range(number) == expected


def run(number: str, *, test_environment: bool) -> list[Accepted | Refused]:
    return list(
        plan(
            [ResourceInRequest(patient(nhs_number=number), "Patient")],
            index=PatientIndex(),
            sender=Sender(channel="http", client="c"),
            correlation_id="corr",
            now=datetime(2025, 3, 1, tzinfo=UTC),
            accept_test_numbers=test_environment,
        )
    )


def test_a_test_range_number_is_refused_in_production_with_the_reason() -> None:
    [outcome] = run(TEST, test_environment=False)
    assert isinstance(outcome, Refused)
    [issue] = outcome.issues
    assert "test NHS number" in issue.diagnostics
    assert "not a test environment" in issue.diagnostics
    assert issue.expression == "Patient.identifier"


def test_a_test_range_number_is_accepted_in_a_test_environment() -> None:
    [outcome] = run(TEST, test_environment=True)
    assert not isinstance(outcome, Refused)


def test_an_issued_nhs_number_is_accepted_in_production() -> None:
    [outcome] = run(ENGLAND, test_environment=False)
    assert not isinstance(outcome, Refused)


@pytest.mark.parametrize(
    ("number", "reason"),
    [(CHI, f"a Scottish CHI number, not an NHS number: send it with system {CHI_NUMBER_SYSTEM}"),
     (HC, f"a Northern Ireland Health and Care number, not an NHS number: send it with system "
          f"{HC_NUMBER_SYSTEM}"),
     (RESERVED, "not in any range issued to patients, not an NHS number")],
)  # fmt: skip
def test_a_fhir_nhs_number_identifier_holding_another_number_is_refused_naming_it(
    number: str, reason: str
) -> None:
    [issue] = resource_issues(patient(nhs_number=number), "Patient")
    assert issue.diagnostics == f"The value is {reason}"
    assert issue.expression == "Patient.identifier[0].value"


def test_a_chi_number_under_its_own_system_is_accepted_and_keys_the_patient() -> None:
    resource = patient(nhs_number=None)
    resource["identifier"].insert(0, {"system": CHI_NUMBER_SYSTEM, "value": CHI})
    assert resource_issues(resource, "Patient") == []
    [outcome] = plan(
        [ResourceInRequest(resource, "Patient")],
        index=PatientIndex(),
        sender=Sender(channel="http", client="c"),
        correlation_id="corr",
        now=datetime(2025, 3, 1, tzinfo=UTC),
        accept_test_numbers=False,
    )
    assert isinstance(outcome, Accepted)
    assert outcome.event.patient_key == f"{CHI_NUMBER_SYSTEM}|{CHI}"
    assert outcome.event.patient.nhs_number is None


@pytest.mark.parametrize(("number", "system"), [(CHI, CHI_NUMBER_SYSTEM), (HC, HC_NUMBER_SYSTEM)])
def test_an_hl7_national_number_of_scotland_or_northern_ireland_keeps_its_own_system(
    number: str, system: str
) -> None:
    mapped = map_message(s.oru(patient=s.pid(number)))
    [observation] = mapped.resources
    assert observation["subject"]["identifier"] == {"system": system, "value": number}
    assert mapped.patient is not None
    assert {"system": system, "value": number} in mapped.patient["identifier"]
    assert all(i["system"] != NHS_NUMBER_SYSTEM for i in mapped.patient["identifier"])


def test_an_hl7_national_number_of_no_issued_range_is_refused_with_ae() -> None:
    with pytest.raises(MessageRejected) as refused:
        map_message(s.oru(patient=s.pid(RESERVED)))
    assert refused.value.ack_code == "AE"
    assert any("not in any range" in i.text for i in refused.value.issues)
