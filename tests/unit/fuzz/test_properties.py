"""Property-based tests (hypothesis, derandomized): what holds for every input, not just samples."""

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle as R4BBundle
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.ingest.fhir.auth import Refusal, TokenVerifier, token_hashes
from services.ingest.fhir.request_body import is_plain_entry, json_depth
from services.ingest.hl7.decoding import interpret
from services.ingest.validation import holds_null
from shared.events import stable_id
from tests.unit.ingest import hl7_samples
from tests.unit.ingest.fakes import RecordingPublisher
from tests.unit.ingest.samples import condition
from tests.unit.ingest.test_http_api import make_client

PROPERTY = settings(
    max_examples=300,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ANSWERED = {200, 201, 400, 404, 413, 415, 422}
FHIR_HEADERS = {
    "Content-Type": "application/fhir+json",
    "Authorization": "Bearer a-long-enough-test-token-1",
}

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=25,
)
condition_paths = st.sampled_from(
    [("id",), ("meta",), ("meta", "versionId"), ("meta", "lastUpdated"), ("clinicalStatus",),
     ("clinicalStatus", "coding"), ("verificationStatus",), ("code",), ("code", "coding"),
     ("subject",), ("subject", "reference"), ("subject", "identifier"),
     ("subject", "identifier", "value"), ("onsetDateTime",), ("recordedDate",), ("extension",),
     ("bodySite",), ("stage",), ("evidence",), ("resourceType",)]
)  # fmt: skip


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with make_client(RecordingPublisher()) as test_client:
        yield test_client


def reference_depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((reference_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((reference_depth(v) for v in value), default=0)
    return 0


def set_path(document: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    if len(path) == 1:
        return {**document, path[0]: value}
    child = document.get(path[0])
    return {
        **document,
        path[0]: set_path(child if isinstance(child, dict) else {}, path[1:], value),
    }


def assert_answered(response: Any) -> None:
    assert response.status_code in ANSWERED, response.text
    if response.status_code >= 400:
        outcome = response.json()
        assert outcome["resourceType"] == "OperationOutcome"
        assert all(issue["diagnostics"] for issue in outcome["issue"])


@PROPERTY
@given(json_values)
def test_the_depth_check_agrees_with_a_recursive_definition(value: Any) -> None:
    assert json_depth(value) == reference_depth(value)


@PROPERTY
@given(st.lists(st.text(max_size=40), min_size=1, max_size=5))
def test_a_stable_id_is_the_name_based_uuid_of_its_parts(parts: list[str]) -> None:
    namespace = uuid.UUID("6f1f7f2e-4c56-4b5e-9a51-1d2c8f0b7a10")
    assert stable_id(*parts) == str(uuid.uuid5(namespace, "\x1f".join(parts)))


def reference_holds_null(value: Any) -> bool:
    if isinstance(value, dict):
        return any(reference_holds_null(v) for v in value.values())
    if isinstance(value, list):
        return any(reference_holds_null(v) for v in value)
    return value is None


@PROPERTY
@given(json_values)
def test_the_null_scan_agrees_with_a_recursive_definition(value: Any) -> None:
    assert holds_null(value) == reference_holds_null(value)


uri_like = st.text(max_size=20) | st.sampled_from(["urn:uuid:0c6e", "Condition/c1", "Condition"])
entry_shapes = st.fixed_dictionaries(
    {"resource": st.just({"resourceType": "Condition"})},
    optional={
        "fullUrl": uri_like | json_values,
        "request": st.fixed_dictionaries(
            {},
            optional={
                "method": st.sampled_from(["POST", "PUT", "GET", "post", "PO ST", ""])
                | json_values,
                "url": uri_like | json_values,
                "ifMatch": st.just('W/"1"'),
            },
        )
        | json_values,
        "search": st.just({"mode": "match"}),
    },
)


def odd_entries(value: Any) -> list[Any]:
    return [
        value,
        {"fullUrl": value},
        {"request": value},
        {"request": {"method": value, "url": "Condition"}},
        {"request": {"method": "POST", "url": value}},
    ]


@PROPERTY
@given(entry_shapes | json_values.map(odd_entries).flatmap(st.sampled_from))
def test_an_entry_taken_as_plain_is_one_the_bundle_model_accepts(entry: Any) -> None:
    """The shortcut past the Bundle model is only ever taken for an entry the model passes."""
    if is_plain_entry(entry):
        shell = {key: value for key, value in entry.items() if key != "resource"}
        R4BBundle.model_validate({"resourceType": "Bundle", "type": "batch", "entry": [shell]})


@PROPERTY
@given(
    endpoint=st.sampled_from(["/fhir/Condition", "/fhir/Observation", "/fhir/Patient", "/fhir"]),
    value=json_values,
)
def test_any_json_value_posted_to_a_data_endpoint_gets_an_answer_not_a_server_error(
    client: TestClient, endpoint: str, value: Any
) -> None:
    assert_answered(client.post(endpoint, headers=FHIR_HEADERS, content=orjson.dumps(value)))


@PROPERTY
@given(path=condition_paths, value=json_values)
def test_any_element_of_a_condition_replaced_by_any_json_gets_an_answer(
    client: TestClient, path: tuple[str, ...], value: Any
) -> None:
    document = set_path(condition(), path, value)
    assert_answered(
        client.post("/fhir/Condition", headers=FHIR_HEADERS, content=orjson.dumps(document))
    )


@PROPERTY
@given(st.binary(max_size=400))
def test_any_bytes_after_an_msh_are_interpreted_without_raising(tail: bytes) -> None:
    found = interpret(b"MSH|^~\\&|" + tail)
    assert found.outcome in ("publish", "error", "reject")
    if found.outcome != "publish":
        assert found.issues


@PROPERTY
@given(
    field=st.integers(min_value=1, max_value=8),
    text=st.text(alphabet=st.characters(blacklist_characters="\r\x0b\x1c"), max_size=60),
)
def test_any_text_in_any_pid_field_is_interpreted_without_raising(field: int, text: str) -> None:
    segments = hl7_samples.oru().split("\r")
    pid = segments[1].split("|")
    pid += [""] * (field + 1 - len(pid))
    pid[field] = text
    segments[1] = "|".join(pid)
    found = interpret("\r".join(segments).encode("utf-8", errors="surrogatepass"))
    assert found.outcome in ("publish", "error", "reject")


tokens = st.text(
    alphabet=st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters=",@"),
    min_size=16,
    max_size=40,
).filter(lambda t: not t.startswith("sha256:"))


@PROPERTY
@given(token=tokens, expiry=st.dates(min_value=date(2000, 1, 1), max_value=date(2999, 12, 30)))
def test_a_token_with_an_expiry_date_works_through_that_day_and_is_refused_after(
    token: str, expiry: date
) -> None:
    last_moment = datetime.combine(expiry, time(23, 59, 59), tzinfo=UTC)
    now = [last_moment]
    [configured] = token_hashes(f"{token}@{expiry.isoformat()}")
    verifier = TokenVerifier([configured], clock=lambda: now[0])
    assert verifier.verify(f"Bearer {token}") == configured.client
    now[0] = last_moment + timedelta(seconds=1)
    assert verifier.verify(f"Bearer {token}") == Refusal("expired", configured.client)
    assert verifier.verify(f"Bearer {token}x") == Refusal("invalid")
