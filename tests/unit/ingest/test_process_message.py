"""`$process-message` answers as FHIR R4 messaging defines: a response message whose MessageHeader
says ok / fatal-error / transient-error, copies the request's event in the form it came in, names
the request's MessageHeader.id and refers to its OperationOutcome from response.details."""

from typing import Any

import orjson

from tests.unit.ingest.fakes import RecordingPublisher
from tests.unit.ingest.samples import BAD_NHS_NUMBER, condition, message, outcome_of, patient
from tests.unit.ingest.test_http_api import FHIR, make_client

EVENT_URI = "https://trust.example.nhs.uk/events/cancer-update"


def post(publisher: RecordingPublisher, raw: dict[str, Any]) -> tuple[int, dict[str, Any], Any]:
    with make_client(publisher) as client:
        response = client.post("/fhir/$process-message", headers=FHIR, content=orjson.dumps(raw))
    return response.status_code, response.json(), response.headers


def with_event_uri(raw: dict[str, Any]) -> dict[str, Any]:
    header = dict(raw["entry"][0]["resource"])
    del header["eventCoding"]
    header["eventUri"] = EVENT_URI
    raw["entry"][0]["resource"] = header
    return raw


def response_header(answer: dict[str, Any]) -> dict[str, Any]:
    assert (answer["resourceType"], answer["type"]) == ("Bundle", "message")
    header = answer["entry"][0]["resource"]
    assert header["resourceType"] == "MessageHeader"
    return dict(header)


def test_a_request_with_event_uri_is_answered_with_the_same_event_uri() -> None:
    publisher = RecordingPublisher()
    status, answer, _ = post(publisher, with_event_uri(message([patient(), condition()])))
    assert status == 200
    header = response_header(answer)
    assert header["eventUri"] == EVENT_URI
    assert "eventCoding" not in header
    assert header["response"]["code"] == "ok"
    assert len(publisher.sent) == 2


def test_bad_content_is_a_fatal_error_whose_outcome_says_what_and_where() -> None:
    publisher = RecordingPublisher()
    bad = patient(nhs_number=BAD_NHS_NUMBER)
    status, answer, _ = post(publisher, message([bad, condition()], header_id="mh-7"))
    assert status == 422
    header = response_header(answer)
    assert header["response"]["code"] == "fatal-error"
    assert header["response"]["identifier"] == "mh-7"
    assert header["eventCoding"]["code"] == "cancer-update"
    [issue] = outcome_of(answer)["issue"]
    assert "modulus-11" in issue["diagnostics"]
    assert issue["expression"] == ["Bundle.entry[1].resource.identifier[0].value"]
    assert publisher.sent == []


def test_an_unavailable_event_store_is_a_transient_error_with_retry_after() -> None:
    publisher = RecordingPublisher(available=False)
    status, answer, headers = post(publisher, message([patient(), condition()]))
    assert status == 503
    assert headers["retry-after"] == "5"
    assert response_header(answer)["response"]["code"] == "transient-error"
    assert outcome_of(answer)["issue"][0]["code"] == "transient"
    assert publisher.sent == []


def test_a_message_without_a_header_gets_a_plain_operation_outcome() -> None:
    raw = message([patient()])
    raw["entry"] = raw["entry"][1:]
    status, answer, _ = post(RecordingPublisher(), raw)
    assert status == 422
    assert answer["resourceType"] == "OperationOutcome"
