"""The whole path as properties: whatever FHIR-valid (or nearly valid) resource, Bundle or HL7 v2
message a sender makes, with extreme values, ingest answers it (2xx/4xx, or an ACK with a code and
a reason), and what it accepts goes through the classifier core, the state's and the flag's
encodings and every notifier renderer without raising and within Kafka's message size.

Derandomized and bounded: the same examples every run, a few seconds each.
"""

import asyncio
import re
from collections.abc import Iterator
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.classifier.core import handle
from services.classifier.facts import extract
from services.classifier.flags import FlagContext
from services.ingest.hl7.mllp import Frame
from tests.unit.fuzz.downstream import NOW, TERMS, Downstream, with_primary
from tests.unit.fuzz.harness import AUTH, fhir_test_client, mllp_handler
from tests.unit.fuzz.strategies import (
    conditions,
    fhir_requests,
    hl7_messages,
    observations,
    to_json,
)
from tests.unit.ingest.fakes import RecordingPublisher

WHOLE_PATH = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
T = TypeVar("T")
ANSWERED = {200, 201, 400, 404, 413, 415, 422}
FHIR = {**AUTH, "Content-Type": "application/fhir+json"}
# Large enough that a 300,000-digit code reaches the classifier; past Kafka's message size, so an
# accepted event that would not fit the topic shows.
BODY_LIMIT = 2_000_000


@pytest.fixture(scope="module")
def ingest() -> Iterator[tuple[TestClient, RecordingPublisher]]:
    with fhir_test_client(max_body_bytes=BODY_LIMIT) as client_and_publisher:
        yield client_and_publisher


def assert_answered(response: Any) -> None:
    assert response.status_code in ANSWERED, response.text[:2000]
    if response.status_code >= 400:
        outcome = response.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert outcome["issue"] and all(issue["diagnostics"] for issue in outcome["issue"])


@WHOLE_PATH
@given(request=fhir_requests())
def test_any_fhir_request_is_answered_and_what_is_accepted_is_classified_and_rendered(
    ingest: tuple[TestClient, RecordingPublisher], request: tuple[str, dict[str, Any]]
) -> None:
    client, publisher = ingest
    path, document = request
    before = len(publisher.sent)
    response = client.post(path, headers=FHIR, content=to_json(document).encode())
    assert_answered(response)
    published = publisher.sent[before:]
    if response.status_code == 201:
        assert len(published) == 1
    downstream_of(published)


@WHOLE_PATH
@given(resource=conditions() | observations())
def test_the_classifier_core_takes_any_fhir_valid_condition_or_observation(
    resource: dict[str, Any],
) -> None:
    """Straight into the core, without ingest's checks: the core must not rely on them."""
    extract(resource, TERMS, ())
    context = FlagContext("9434765919", NOW, NOW, "corr-1")
    Downstream().settle(context.patient_key, handle(with_primary(), resource, None, TERMS, context))


def ack_fields(ack: bytes) -> dict[str, list[str]]:
    assert ack.startswith(b"\x0b") and ack.endswith(b"\x1c\r"), ack[:80]
    segments: dict[str, list[str]] = {}
    for segment in ack[1:-2].decode("utf-8").split("\r"):
        fields = segment.split("|")
        segments.setdefault(fields[0], fields)
    return segments


@WHOLE_PATH
@given(message=hl7_messages())
def test_any_hl7_message_gets_an_ack_with_a_code_and_what_is_accepted_is_classified(
    message: str,
) -> None:
    publisher = RecordingPublisher()
    data = message.encode("utf-8")
    ack = asyncio.run(mllp_handler(publisher).answer(Frame("message", data, len(data))))
    assert ack is not None
    segments = ack_fields(ack)
    msa = segments["MSA"]
    assert msa[1] in ("AA", "AE", "AR"), msa
    control_id = message.split("\r", 1)[0].split("|")[9]
    if re.fullmatch(r"[A-Za-z0-9]{1,20}", control_id):
        assert msa[2] == control_id, msa  # the sender's engine matches the answer by it
    if msa[1] != "AA":
        reason = "|".join(segments.get("ERR", [])) + "|".join(msa[3:])
        assert reason.strip("|"), ack
        # "transient" is for the broker (this publisher never fails) or an exception: either way
        # not a reason in the data, and the sender would resend the message for ever
        assert "transient" not in reason, ack
    downstream_of(publisher.sent)


def test_the_generated_input_is_often_accepted_so_the_downstream_checks_do_work(
    ingest: tuple[TestClient, RecordingPublisher],
) -> None:
    """A guard on the strategies: if ingest refused nearly everything, the properties above would
    pass without reaching the classifier and the renderers."""
    client, publisher = ingest
    fhir_statuses, fhir_flags = [], 0
    for path, document in examples(fhir_requests(), 60):
        before = len(publisher.sent)
        response = client.post(path, headers=FHIR, content=to_json(document).encode())
        fhir_statuses.append(response.status_code)
        fhir_flags += len(downstream_of(publisher.sent[before:]).flags)
    hl7_codes, hl7_flags = [], 0
    for message in examples(hl7_messages(), 60):
        hl7_publisher = RecordingPublisher()
        data = message.encode("utf-8")
        ack = asyncio.run(mllp_handler(hl7_publisher).answer(Frame("message", data, len(data))))
        assert ack is not None
        hl7_codes.append(ack_fields(ack)["MSA"][1])
        hl7_flags += len(downstream_of(hl7_publisher.sent).flags)
    assert sum(status < 300 for status in fhir_statuses) >= len(fhir_statuses) // 4
    assert hl7_codes.count("AA") >= len(hl7_codes) // 6
    assert fhir_flags > 0 and hl7_flags > 0


def downstream_of(sent: list[tuple[str, bytes, bytes]]) -> Downstream:
    downstream = Downstream()
    for _, key, value in sent:
        downstream.take(key, value)
    return downstream


def examples(strategy: st.SearchStrategy[T], count: int) -> list[T]:
    """The first `count` examples the (derandomized) strategy gives."""
    found: list[T] = []

    @settings(max_examples=count, derandomize=True, database=None, deadline=None)
    @given(strategy)
    def collect(example: T) -> None:
        found.append(example)

    collect()
    return found
