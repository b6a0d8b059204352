"""FHIR R4 (UK Core shaped) resources for ingest tests. NHS numbers here pass the modulus-11 check."""

from typing import Any

NHS_NUMBER = "9434765919"
OTHER_NHS_NUMBER = "9449306753"
BAD_NHS_NUMBER = "9434765918"
NHS_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
GP_ODS = "A81001"
TRUST_ODS = "RX1"


def patient(
    patient_id: str = "p1", nhs_number: str | None = NHS_NUMBER, **extra: Any
) -> dict[str, Any]:
    identifiers = [{"system": "https://trust.example.nhs.uk/mrn", "value": f"MRN-{patient_id}"}]
    if nhs_number:
        identifiers.insert(0, {"system": NHS_SYSTEM, "value": nhs_number})
    return {
        "resourceType": "Patient",
        "id": patient_id,
        "meta": {"versionId": "1", "lastUpdated": "2025-01-01T09:00:00+00:00"},
        "identifier": identifiers,
        "name": [{"use": "official", "family": "Brontë", "given": ["Zoë", "Ann"]}],
        "gender": "female",
        "birthDate": "1961-04-12",
        "generalPractitioner": [{"identifier": {"system": ODS_SYSTEM, "value": GP_ODS}}],
        "managingOrganization": {"identifier": {"system": ODS_SYSTEM, "value": TRUST_ODS}},
        **extra,
    }


def condition(
    condition_id: str = "c1",
    *,
    subject: dict[str, Any] | None = None,
    code: str = "94222008",
    version: str | None = "1",
    **extra: Any,
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": condition_id,
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed",
                }
            ]
        },
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": code}]},
        "subject": subject
        if subject is not None
        else {
            "reference": "Patient/p1",
            "identifier": {"system": NHS_SYSTEM, "value": NHS_NUMBER},
        },
        "onsetDateTime": "2024-05-01",
        "recordedDate": "2024-05-02T10:00:00+01:00",
    }
    if version:
        resource["meta"] = {"versionId": version, "lastUpdated": "2025-02-03T10:15:00+00:00"}
    resource.update(extra)
    return resource


def observation(observation_id: str = "o1", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": observation_id,
        "meta": {"versionId": "1", "lastUpdated": "2025-02-03T10:15:00+00:00"},
        "status": "final",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "399387003"}]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "2025-02-01",
        "valueCodeableConcept": {
            "coding": [{"system": "http://snomed.info/sct", "code": "1229903009"}]
        },
        **extra,
    }


def bundle(bundle_type: str, resources: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """Entries with `urn:uuid:` fullUrls; batch/transaction entries get a POST request."""
    entries = []
    for position, resource in enumerate(resources):
        entry: dict[str, Any] = {
            "fullUrl": f"urn:uuid:00000000-0000-4000-8000-{position:012d}",
            "resource": resource,
        }
        if bundle_type in ("batch", "transaction"):
            entry["request"] = {"method": "POST", "url": resource.get("resourceType", "X")}
        entries.append(entry)
    return {"resourceType": "Bundle", "type": bundle_type, "entry": entries, **extra}


def message_header(header_id: str = "mh1") -> dict[str, Any]:
    return {
        "resourceType": "MessageHeader",
        "id": header_id,
        "eventCoding": {"system": "https://trust.example.nhs.uk/events", "code": "cancer-update"},
        "source": {"endpoint": "https://trust.example.nhs.uk/tie"},
    }


def message(resources: list[dict[str, Any]], header_id: str = "mh1") -> dict[str, Any]:
    return bundle("message", [message_header(header_id), *resources], id="msg-bundle-1")


def outcome_of(answer: dict[str, Any]) -> dict[str, Any]:
    """The OperationOutcome of an answer: the answer itself, or for a response message (FHIR R4
    messaging) the entry its MessageHeader.response.details refers to."""
    if answer.get("resourceType") != "Bundle":
        return answer
    details = answer["entry"][0]["resource"]["response"]["details"]["reference"]
    [outcome] = [e["resource"] for e in answer["entry"] if e.get("fullUrl") == details]
    assert outcome["resourceType"] == "OperationOutcome"
    return outcome
