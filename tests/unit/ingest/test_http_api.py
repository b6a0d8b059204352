"""The FHIR HTTP edge with a recording publisher: statuses, OperationOutcomes and their paths."""

import hashlib
import itertools
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from services.ingest.accepter import PublishingAccepter
from services.ingest.fhir.app import create_app
from services.ingest.fhir.auth import TokenVerifier, token_hashes
from services.ingest.metrics import IngestMetrics
from services.ingest.patients import PatientIndex
from services.ingest.settings import IngestSettings
from shared.codec import decode_as
from shared.events import ClinicalEvent
from tests.unit.ingest.fakes import RecordingPublisher
from tests.unit.ingest.samples import (
    BAD_NHS_NUMBER,
    NHS_NUMBER,
    bundle,
    condition,
    message,
    observation,
    patient,
)

TOKEN = "a-long-enough-test-token-1"
HASHED_TOKEN = "another-test-token-given-as-hash"
FHIR = {"Content-Type": "application/fhir+json", "Authorization": f"Bearer {TOKEN}"}


def make_client(
    publisher: RecordingPublisher, core_options: dict[str, Any] | None = None, **settings: Any
) -> TestClient:
    config = IngestSettings(**{"max_body_bytes": 20_000, "max_bundle_entries": 5, **settings})
    metrics = IngestMetrics()
    ids = itertools.count()
    accepter = PublishingAccepter(
        publisher,
        topic="events",
        index=PatientIndex(),
        metrics=metrics,
        clock=lambda: datetime(2025, 3, 1, tzinfo=UTC),
        new_correlation_id=lambda: f"corr-{next(ids)}",
        accept_test_numbers=True,  # fixtures use test-range numbers
        **(core_options or {}),
    )
    hashed = "sha256:" + hashlib.sha256(HASHED_TOKEN.encode()).hexdigest()
    app = create_app(
        config,
        accepter=accepter,
        publisher=publisher,
        verifier=TokenVerifier(token_hashes(f"{TOKEN},{hashed}")),
        metrics=metrics,
        clock=lambda: datetime(2025, 3, 1, tzinfo=UTC),
        new_id=lambda: f"id-{next(ids)}",
    )
    return TestClient(app)


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def client(publisher: RecordingPublisher) -> Iterator[TestClient]:
    with make_client(publisher) as test_client:
        yield test_client


def body(resource: Any) -> bytes:
    return orjson.dumps(resource)


def with_(resource: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**resource, **changes}


def without(resource: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in resource.items() if k != key}


def transaction_with_bad_third_entry() -> dict[str, Any]:
    resources = [patient(), condition("c1"), condition("c2", onsetDateTime="yesterday")]
    return bundle("transaction", resources)


def patient_subject_points_nowhere() -> dict[str, Any]:
    return bundle("transaction", [condition(subject={"reference": "urn:uuid:missing"})])


AUTH_ONLY = {"Authorization": f"Bearer {TOKEN}"}

# (name, method, path, headers, body, status, issue code, expression)
BAD_INPUTS = [
    ("malformed JSON", "POST", "/fhir/Condition", FHIR, b'{"resourceType": "Cond', 400, "structure", None),
    ("JSON that is not an object", "POST", "/fhir/Condition", FHIR, b"[1, 2]", 400, "structure", None),
    ("no resourceType", "POST", "/fhir/Condition", FHIR, body(without(condition(), "resourceType")), 400, "structure", "resourceType"),
    ("resourceType differs from URL", "POST", "/fhir/Condition", FHIR, body(observation()), 400, "invalid", "Condition.resourceType"),
    ("unsupported resource type", "POST", "/fhir/Encounter", FHIR, body({"resourceType": "Encounter"}), 404, "not-supported", None),
    ("unknown element", "POST", "/fhir/Condition", FHIR, body(with_(condition(), stage2=1)), 422, "structure", "Condition.stage2"),
    ("missing subject", "POST", "/fhir/Condition", FHIR, body(without(condition(), "subject")), 422, "required", "Condition.subject"),
    ("bad date", "POST", "/fhir/Condition", FHIR, body(with_(condition(), onsetDateTime="2024-02-30")), 422, "value", "Condition.onsetDateTime"),
    ("bad clinicalStatus code", "POST", "/fhir/Condition", FHIR, body(with_(condition(), clinicalStatus={"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "spreading"}]})), 422, "code-invalid", "Condition.clinicalStatus.coding[0].code"),
    ("bad Observation.status", "POST", "/fhir/Observation", FHIR, body(observation(status="done")), 422, "code-invalid", "Observation.status"),
    ("missing Observation.code", "POST", "/fhir/Observation", FHIR, body(without(observation(), "code")), 422, "required", "Observation.code"),
    ("invalid NHS number on Patient", "POST", "/fhir/Patient", FHIR, body(patient(nhs_number=BAD_NHS_NUMBER)), 422, "value", "Patient.identifier[0].value"),
    ("invalid NHS number on subject", "POST", "/fhir/Condition", FHIR, body(condition(subject={"identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": BAD_NHS_NUMBER}})), 422, "value", "Condition.subject.identifier.value"),
    ("update id differs from URL", "PUT", "/fhir/Condition/c9", FHIR, body(condition("c1")), 422, "invalid", "Condition.id"),
    ("unresolvable reference", "POST", "/fhir", FHIR, body(patient_subject_points_nowhere()), 422, "not-found", "Bundle.entry[0].resource.subject.reference"),
    ("invalid transaction entry", "POST", "/fhir", FHIR, body(transaction_with_bad_third_entry()), 422, "value", "Bundle.entry[2].resource.onsetDateTime"),
    ("Bundle without type", "POST", "/fhir", FHIR, body(without(bundle("batch", []), "type")), 422, "required", "Bundle.type"),
    ("unsupported Bundle type", "POST", "/fhir", FHIR, body(bundle("document", [condition()])), 422, "not-supported", "Bundle.type"),
    ("resource posted to the Bundle endpoint", "POST", "/fhir", FHIR, body(condition()), 400, "structure", "Condition.resourceType"),
    ("unsupported resource in a transaction", "POST", "/fhir", FHIR, body(bundle("transaction", [{"resourceType": "Encounter", "status": "planned", "class": {"code": "AMB"}}])), 422, "not-supported", "Bundle.entry[0].resource.resourceType"),
    ("message without MessageHeader first", "POST", "/fhir/$process-message", FHIR, body(bundle("message", [condition()])), 422, "structure", "Bundle.entry[0].resource.resourceType"),
    ("process-message with a batch", "POST", "/fhir/$process-message", FHIR, body(bundle("batch", [condition()])), 422, "invalid", "Bundle.type"),
    ("too many entries", "POST", "/fhir", FHIR, body(bundle("batch", [condition(f"c{i}") for i in range(6)])), 413, "too-costly", "Bundle.entry"),
    ("oversize body", "POST", "/fhir/Condition", FHIR, body(with_(condition(), note=[{"text": "x" * 30_000}])), 413, "too-costly", None),
    ("wrong media type", "POST", "/fhir/Condition", {**AUTH_ONLY, "Content-Type": "application/xml"}, b"<Condition/>", 415, "not-supported", None),
    ("no media type", "POST", "/fhir/Condition", AUTH_ONLY, body(condition()), 415, "not-supported", None),
    ("no token", "POST", "/fhir/Condition", {"Content-Type": "application/fhir+json"}, body(condition()), 401, "login", None),
    ("wrong token", "POST", "/fhir/Condition", {**FHIR, "Authorization": "Bearer not-the-token-at-all"}, body(condition()), 401, "login", None),
    ("basic instead of bearer", "POST", "/fhir/Condition", {**FHIR, "Authorization": f"Basic {TOKEN}"}, body(condition()), 401, "login", None),
    ("token on a Bundle missing", "POST", "/fhir", {"Content-Type": "application/fhir+json"}, body(bundle("batch", [])), 401, "login", None),
    ("unknown route", "POST", "/fhir/Condition/c1/$everything", FHIR, body(condition()), 404, "not-found", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("method", "path", "headers", "content", "status", "code", "expression"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_gets_a_4xx_operation_outcome_saying_what_and_where(
    client, publisher, method, path, headers, content, status, code, expression
):
    response = client.request(method, path, headers=headers, content=content)
    assert response.status_code == status, response.text
    outcome = response.json()
    assert outcome["resourceType"] == "OperationOutcome"
    issue = outcome["issue"][0]
    assert (issue["severity"], issue["code"]) == ("error", code)
    assert issue["diagnostics"]
    assert issue.get("expression", [None])[0] == expression
    assert publisher.sent == []


def test_a_401_asks_for_a_bearer_token(client):
    response = client.post("/fhir/Condition", content=body(condition()))
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_token_configured_as_its_sha256_hash_is_accepted(client, publisher):
    headers = {**FHIR, "Authorization": f"Bearer {HASHED_TOKEN}"}
    assert (
        client.post("/fhir/Condition", headers=headers, content=body(condition())).status_code
        == 201
    )
    assert len(publisher.sent) == 1


def test_a_created_resource_answers_201_with_location_after_it_is_published(client, publisher):
    response = client.post("/fhir/Condition", headers=FHIR, content=body(condition()))
    assert response.status_code == 201
    assert response.headers["location"] == "/fhir/Condition/c1/_history/1"
    assert response.headers["etag"] == 'W/"1"'
    assert response.json()["issue"][0]["severity"] == "information"
    [(topic, key, value)] = publisher.sent
    event = decode_as(value, ClinicalEvent)
    assert (topic, key) == ("events", NHS_NUMBER.encode())
    assert event.correlation_id == response.headers["x-correlation-id"]


def test_an_update_answers_200(client, publisher):
    response = client.put("/fhir/Condition/c1", headers=FHIR, content=body(condition()))
    assert response.status_code == 200
    assert len(publisher.sent) == 1


def test_a_plain_json_media_type_with_charset_is_accepted(client):
    headers = {**FHIR, "Content-Type": "application/json; charset=utf-8"}
    assert (
        client.post("/fhir/Condition", headers=headers, content=body(condition())).status_code
        == 201
    )


def test_a_transaction_with_a_bad_entry_publishes_nothing_and_names_the_entry(client, publisher):
    response = client.post("/fhir", headers=FHIR, content=body(transaction_with_bad_third_entry()))
    assert response.status_code == 422
    assert publisher.sent == []


def test_a_transaction_answers_a_transaction_response_with_one_location_per_entry(
    client, publisher
):
    raw = bundle("transaction", [patient(), condition(), observation()])
    response = client.post("/fhir", headers=FHIR, content=body(raw))
    assert response.status_code == 200
    answer = response.json()
    assert answer["type"] == "transaction-response"
    assert [e["response"]["status"] for e in answer["entry"]] == ["201 Created"] * 3
    assert answer["entry"][1]["response"]["location"] == "Condition/c1/_history/1"
    assert len(publisher.sent) == 3


def test_a_batch_answers_one_outcome_per_entry_and_publishes_the_good_ones(client, publisher):
    raw = bundle("batch", [condition("c1"), observation(status="bogus"), condition("c3")])
    response = client.post("/fhir", headers=FHIR, content=body(raw))
    assert response.status_code == 200
    entries = response.json()["entry"]
    assert [e["response"]["status"] for e in entries] == [
        "201 Created",
        "422 Unprocessable Entity",
        "201 Created",
    ]
    issue = entries[1]["response"]["outcome"]["issue"][0]
    assert issue["expression"] == ["Bundle.entry[1].resource.status"]
    assert len(publisher.sent) == 2


def test_a_message_is_processed_and_answered_with_a_response_message(client, publisher):
    raw = message([patient(), condition()], header_id="mh-42")
    response = client.post("/fhir/$process-message", headers=FHIR, content=body(raw))
    assert response.status_code == 200
    [header_entry, outcome_entry] = response.json()["entry"]
    header = header_entry["resource"]
    assert header["response"] == {
        "identifier": "mh-42",
        "code": "ok",
        "details": {"reference": outcome_entry["fullUrl"]},
    }
    assert outcome_entry["resource"]["resourceType"] == "OperationOutcome"
    assert header["eventCoding"] == raw["entry"][0]["resource"]["eventCoding"]
    events = [decode_as(value, ClinicalEvent) for _, _, value in publisher.sent]
    assert {e.sender.message_id for e in events} == {"mh-42"}


def test_a_collection_is_accepted_all_or_nothing(client, publisher):
    raw = bundle("collection", [patient(), condition()])
    response = client.post("/fhir", headers=FHIR, content=body(raw))
    assert response.status_code == 200
    assert len(publisher.sent) == 2


def test_an_unavailable_broker_gets_503_with_retry_after_and_never_a_2xx():
    publisher = RecordingPublisher(available=False)
    with make_client(publisher) as test_client:
        response = test_client.post("/fhir/Condition", headers=FHIR, content=body(condition()))
        ready = test_client.get("/readyz")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    assert response.json()["issue"][0]["code"] == "transient"
    assert ready.status_code == 503


def test_health_and_metadata_need_no_token_and_metadata_tells_what_is_supported(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    statement = client.get("/fhir/metadata").json()
    assert statement["fhirVersion"] == "4.0.1"
    [rest] = statement["rest"]
    assert sorted(r["type"] for r in rest["resource"]) == ["Condition", "Observation", "Patient"]
    assert all(
        [i["code"] for i in r["interaction"]] == ["create", "update"] for r in rest["resource"]
    )


def test_metrics_count_accepted_and_rejected_by_reason(client):
    client.post("/fhir/Condition", headers=FHIR, content=body(condition()))
    client.post("/fhir/Condition", content=body(condition()))
    text = client.get("/metrics").text
    assert (
        'rmbc_ingest_accepted_resources_total{channel="http",resource_type="Condition"} 1.0' in text
    )
    assert 'rmbc_ingest_rejected_requests_total{channel="http",reason="login"} 1.0' in text
    assert "rmbc_ingest_publish_seconds_count 1.0" in text
    assert "rmbc_ingest_in_flight_requests" in text


def test_the_lifespan_starts_and_stops_the_publisher(publisher):
    with make_client(publisher):
        assert publisher.started
    assert publisher.stopped
