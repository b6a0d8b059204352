"""FHIR a hostile or broken sender might send: a 4xx OperationOutcome that says what and where,
never a 5xx, and nothing accepted that the classifier could not use."""

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from services.ingest.validation import MAX_CODE_CHARS, MAX_STRING_CHARS
from tests.unit.ingest.fakes import RecordingPublisher
from tests.unit.ingest.samples import bundle, condition, observation, outcome_of, patient
from tests.unit.ingest.test_http_api import FHIR, make_client

YEAR_ZERO_IN_UTC = "0001-01-01T00:00:00+14:00"


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def client(publisher: RecordingPublisher) -> TestClient:
    # server errors answered as 500, as a real client would see them, not raised into the test
    return TestClient(make_client(publisher).app, raise_server_exceptions=False)


def post(client: TestClient, resource: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    answer = client.post(
        f"/fhir/{resource['resourceType']}", content=orjson.dumps(resource), headers=FHIR
    )
    body = answer.json() if answer.headers.get("content-type", "").endswith("json") else {}
    return answer.status_code, body.get("issue", [])


def where(issues: list[dict[str, Any]]) -> list[str]:
    return [expression for issue in issues for expression in issue.get("expression", [])]


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        (
            {"meta": {"versionId": "1", "lastUpdated": YEAR_ZERO_IN_UTC}},
            "Condition.meta.lastUpdated",
        ),
        ({"onsetDateTime": YEAR_ZERO_IN_UTC}, "Condition.onsetDateTime"),
        ({"recordedDate": "9999-12-31T23:00:00-14:00"}, "Condition.recordedDate"),
        ({"abatementDateTime": YEAR_ZERO_IN_UTC}, "Condition.abatementDateTime"),
    ],
)
def test_a_date_that_leaves_the_years_1_to_9999_in_utc_is_refused_naming_the_field(
    client: TestClient, publisher: RecordingPublisher, changes: dict[str, Any], path: str
) -> None:
    status, issues = post(client, {**condition(), **changes})
    assert status == 422
    assert path in where(issues)
    assert publisher.sent == []


def test_an_observation_effective_in_year_zero_in_utc_is_refused(client: TestClient) -> None:
    status, issues = post(client, observation(effectiveDateTime=YEAR_ZERO_IN_UTC))
    assert (status, where(issues)) == (422, ["Observation.effectiveDateTime"])


@pytest.mark.parametrize(
    "identifier",
    [{"system": "https://trust.example.nhs.uk/mrn"}, {"value": "12345"}, {"use": "usual"}],
)
def test_a_subject_identifier_without_system_or_value_and_no_reference_is_a_422(
    client: TestClient, identifier: dict[str, Any]
) -> None:
    status, issues = post(client, condition(subject={"identifier": identifier}))
    assert status == 422
    assert where(issues) == ["Condition.subject.identifier"]


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"photo": [{"url": False}]}, "Patient.photo[0].url"),
        (
            {"extension": [{"url": "https://example.org/x", "valueUrl": 1}]},
            "Patient.extension[0].valueUrl",
        ),
        ({"extension": [{"url": 7, "valueString": "x"}]}, "Patient.extension[0].url"),
    ],
)
def test_a_url_field_holding_a_non_string_is_a_422_not_a_500(
    client: TestClient, changes: dict[str, Any], path: str
) -> None:
    status, issues = post(client, patient(**changes))
    assert status == 422
    assert path in where(issues)


def test_a_message_header_endpoint_that_is_not_a_string_is_a_4xx(client: TestClient) -> None:
    header = {
        "resourceType": "MessageHeader",
        "id": "h1",
        "eventCoding": {"system": "https://example.org/events", "code": "update"},
        "source": {"endpoint": False},
    }
    message = {
        "resourceType": "Bundle",
        "type": "message",
        "entry": [{"fullUrl": "urn:uuid:1", "resource": header}, {"resource": condition()}],
    }
    answer = client.post("/fhir/$process-message", content=orjson.dumps(message), headers=FHIR)
    assert answer.status_code == 422
    assert answer.json()["entry"][0]["resource"]["response"]["code"] == "fatal-error"
    outcome = outcome_of(answer.json())
    assert "Bundle.entry[0].resource.source.endpoint" in where(outcome["issue"])


@pytest.mark.parametrize(
    ("resource", "path"),
    [
        (condition(condition_id="a" * 65), "Condition.id"),
        (condition(condition_id=".."), "Condition.id"),
        (condition(version="9" * 65), "Condition.meta.versionId"),
        (
            condition(code="C79.5" + "1" * 1000),
            "Condition.code.coding[0].code",
        ),
        (
            patient(
                identifier=[{"system": "https://x.example/" + "s" * MAX_STRING_CHARS, "value": "1"}]
            ),
            "Patient.identifier[0].system",
        ),
        (patient(**{"k" * 100: 1}), "Patient"),
    ],
    ids=["id-65", "id-dots", "version-65", "code-1005", "system-long", "key-long"],
)
def test_ids_codes_uris_and_names_beyond_their_bounds_are_refused_where_they_are(
    client: TestClient, publisher: RecordingPublisher, resource: dict[str, Any], path: str
) -> None:
    status, issues = post(client, resource)
    assert status == 422
    assert path in where(issues)
    assert publisher.sent == []


def test_a_code_at_its_bound_is_accepted(client: TestClient) -> None:
    resource = condition()
    resource["code"]["coding"].append(
        {"system": "https://example.org/cs", "code": "x" * MAX_CODE_CHARS}
    )
    assert post(client, resource)[0] == 201


@pytest.mark.parametrize(
    "number", [b"9" * 30, b"9" * 400, b"1e308", b"-1e-400", b"18446744073709551616"]
)
def test_huge_integers_and_decimals_get_an_answer_not_a_5xx(
    client: TestClient, number: bytes
) -> None:
    measured = {k: v for k, v in observation().items() if k != "valueCodeableConcept"}
    resource = orjson.dumps({**measured, "valueQuantity": {"value": 1, "unit": "mm"}})
    body = resource.replace(b'"value":1', b'"value":' + number)
    answer = client.post("/fhir/Observation", content=body, headers=FHIR)
    assert answer.status_code in (201, 400, 422)
    assert answer.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    "full_url",
    ["https://example.org/fhir/Condition/..", "urn:uuid:a\u2028b", "urn:uuid:" + "1" * 5000],
    ids=["dots", "u2028", "5000-chars"],
)
def test_an_id_taken_from_a_full_url_is_checked_as_a_fhir_id(
    client: TestClient, full_url: str
) -> None:
    resource = {k: v for k, v in condition().items() if k != "id"}
    request = bundle("transaction", [resource])
    request["entry"][0]["fullUrl"] = full_url
    answer = client.post("/fhir", content=orjson.dumps(request), headers=FHIR)
    assert answer.status_code == 400
    assert "Bundle.entry[0].fullUrl" in where(answer.json()["issue"])


def test_two_full_urls_from_different_bases_ending_in_the_same_id_do_not_collide(
    client: TestClient, publisher: RecordingPublisher
) -> None:
    first = {k: v for k, v in condition().items() if k != "id"}
    second = {**first, "onsetDateTime": "2025-02-01"}
    request = bundle("transaction", [first, second])
    request["entry"][0]["fullUrl"] = "https://a.example/fhir/Condition/1"
    request["entry"][1]["fullUrl"] = "https://b.example/fhir/Condition/1"
    answer = client.post("/fhir", content=orjson.dumps(request), headers=FHIR)
    assert answer.status_code == 400
    assert "Bundle.entry[1].fullUrl" in where(answer.json()["issue"])
    assert publisher.sent == []


@pytest.mark.parametrize("method", ["POST", "PUT", "GET"])
def test_a_trailing_slash_gets_a_404_outcome_not_a_redirect_to_the_host_header(
    client: TestClient, method: str
) -> None:
    answer = client.request(
        method,
        "/fhir/Condition/",
        content=orjson.dumps(condition()),
        headers={**FHIR, "Host": "attacker.example"},
        follow_redirects=False,
    )
    assert answer.status_code in (404, 405)
    assert "location" not in answer.headers
    assert "attacker.example" not in answer.text
    assert answer.json()["resourceType"] == "OperationOutcome"


TOPIC_LIMIT = 8_000  # a topic's max.message.bytes, small enough to cross with a test resource


@pytest.fixture
def small_topic_client(publisher: RecordingPublisher) -> TestClient:
    options = {"max_message_bytes": lambda: TOPIC_LIMIT}
    return TestClient(
        make_client(publisher, options, max_body_bytes=1_000_000, max_bundle_entries=10).app,
        raise_server_exceptions=False,
    )


def larger_than_the_topic() -> dict[str, Any]:
    notes = [{"text": "n" * 1000} for _ in range(TOPIC_LIMIT // 1000)]
    return condition(note=notes)


def test_a_resource_whose_event_the_topic_cannot_store_gets_413_not_503(
    small_topic_client: TestClient, publisher: RecordingPublisher
) -> None:
    status, issues = post(small_topic_client, larger_than_the_topic())
    assert status == 413
    assert issues[0]["code"] == "too-costly"
    assert "Condition" in where(issues)
    assert publisher.sent == []
    assert post(small_topic_client, condition())[0] == 201
    assert all(len(key) + len(value) < TOPIC_LIMIT for _, key, value in publisher.sent)


def test_a_batch_entry_too_large_for_the_topic_gets_its_own_413_and_the_rest_are_stored(
    small_topic_client: TestClient, publisher: RecordingPublisher
) -> None:
    request = bundle("batch", [larger_than_the_topic(), condition("c2")])
    answer = small_topic_client.post("/fhir", content=orjson.dumps(request), headers=FHIR)
    statuses = [entry["response"]["status"] for entry in answer.json()["entry"]]
    assert answer.status_code == 200
    assert statuses == ["413 Content Too Large", "201 Created"]
    assert len(publisher.sent) == 1
