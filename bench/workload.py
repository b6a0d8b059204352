"""The benchmark's synthetic feed: patients whose breast primary is followed by bone metastases,
among routine observations, in the UK Core shapes ingest accepts.

Per patient: Patient, primary breast Condition (C50.4, 2018), secondary bone Condition (2024) - which
raises exactly one flag, so exactly one registry record - then `routine` vital-sign Observations.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from shared.nhs_number import NHS_NUMBER_SYSTEM, ODS_SYSTEM, check_digit

SCT = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
LOINC = "http://loinc.org"
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
GP_PRACTICE = "A81001"
TRUST = "RX1"
Resource = dict[str, Any]


def nhs_number(seed: int) -> str:
    """A valid (modulus 11) NHS number, distinct per seed, in a range real numbers do not use."""
    n = 900_000_000 + seed * 11
    while (digit := check_digit(f"{n:09d}")) is None:
        n += 1
    return f"{n:09d}{digit}"


def patient(number: int, nhs: str) -> Resource:
    return {
        "resourceType": "Patient",
        "id": f"bp-{number}",
        "meta": {"versionId": "1", "lastUpdated": "2017-01-01T09:00:00Z"},
        "identifier": [{"system": NHS_NUMBER_SYSTEM, "value": nhs}],
        "name": [{"family": f"Bench{number}", "given": ["Test"]}],
        "birthDate": "1962-05-17",
        "generalPractitioner": [{"identifier": {"system": ODS_SYSTEM, "value": GP_PRACTICE}}],
        "managingOrganization": {"identifier": {"system": ODS_SYSTEM, "value": TRUST}},
    }


def condition(number: int, nhs: str, name: str, code: tuple[str, str], onset: str) -> Resource:
    return {
        "resourceType": "Condition",
        "id": f"{name}-{number}",
        "meta": {"versionId": "1", "lastUpdated": f"{onset}T10:00:00Z"},
        "clinicalStatus": {"coding": [{"system": CLINICAL, "code": "active"}]},
        "verificationStatus": {"coding": [{"system": VERIFICATION, "code": "confirmed"}]},
        "code": {"coding": [{"system": code[0], "code": code[1]}]},
        "subject": {
            "reference": f"Patient/bp-{number}",
            "identifier": {"system": NHS_NUMBER_SYSTEM, "value": nhs},
        },
        "onsetDateTime": onset,
    }


def observation(number: int, nhs: str, index: int) -> Resource:
    return {
        "resourceType": "Observation",
        "id": f"bp{index}-{number}",
        "meta": {"versionId": "1", "lastUpdated": "2024-01-01T15:00:00Z"},
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
        "subject": {
            "reference": f"Patient/bp-{number}",
            "identifier": {"system": NHS_NUMBER_SYSTEM, "value": nhs},
        },
        "effectiveDateTime": "2024-01-01",
        "valueQuantity": {"value": 120 + index % 30, "unit": "mm[Hg]"},
    }


def patient_feed(number: int, routine: int) -> list[Resource]:
    """One patient's resources in the order they are sent; index 2 raises the flag."""
    nhs = nhs_number(number)
    return [
        patient(number, nhs),
        condition(number, nhs, "primary", (ICD10, "C50.4"), "2018-03-10"),
        condition(number, nhs, "secondary", (SCT, "94222008"), "2024-06-10"),
        *(observation(number, nhs, i) for i in range(routine)),
    ]


FLAG_POSITION = 2  # the resource in `patient_feed` that completes a patient's flag


def interleave(first: int, patients: int, routine: int, lanes: int) -> Iterator[tuple[int, int]]:
    """(patient number, position in its feed) in sending order: `lanes` patients at a time, round
    robin, so a patient's consecutive resources are `lanes` sends apart (kept in order)."""
    feeds = iter(range(first, first + patients))
    active: list[list[int]] = []
    length = 3 + routine
    for _ in range(lanes):
        number = next(feeds, None)
        if number is not None:
            active.append([number, 0])
    while active:
        for lane in list(active):
            yield lane[0], lane[1]
            lane[1] += 1
            if lane[1] == length:
                number = next(feeds, None)
                if number is None:
                    active.remove(lane)
                else:
                    lane[0], lane[1] = number, 0


def transaction(entries: list[Resource]) -> Resource:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "resource": resource,
                "request": {"method": "PUT", "url": f"{resource['resourceType']}/{resource['id']}"},
            }
            for resource in entries
        ],
    }


def clinical_event_values(first: int, patients: int, routine: int) -> list[tuple[bytes, bytes]]:
    """(key, value) of the ClinicalEvents ingest would publish for these patients, in feed order.

    Built with ingest's own planning core, so their sizes and shapes are the real ones."""
    from services.ingest.acceptance import Accepted, ResourceInRequest, plan
    from services.ingest.patients import PatientIndex
    from shared.codec import encode
    from shared.events import Sender

    index = PatientIndex()
    sender = Sender(channel="http", client="bench")
    now = datetime(2025, 1, 1, tzinfo=UTC)
    values: list[tuple[bytes, bytes]] = []
    for number in range(first, first + patients):
        feed = patient_feed(number, routine)
        for resource in feed:
            (outcome,) = plan(
                [ResourceInRequest(resource, resource["resourceType"])],
                index=index,
                sender=sender,
                correlation_id=f"bench-{number}",
                now=now,
                accept_test_numbers=True,  # fixtures use test-range numbers
            )
            assert isinstance(outcome, Accepted), outcome
            if outcome.event.patient is not None and resource["resourceType"] == "Patient":
                index.remember(outcome.event.patient)
            values.append((outcome.event.patient_key.encode(), encode(outcome.event)))
    return values
