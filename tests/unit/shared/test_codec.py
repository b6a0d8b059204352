from datetime import UTC, date, datetime

import orjson
import pytest

from shared.codec import UndecodableEvent, decode, decode_as, encode
from shared.events import CancerFlag, ClinicalEvent, PatientContext, Sender, stable_id

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def clinical_event() -> ClinicalEvent:
    return ClinicalEvent(
        event_id=stable_id("Condition", "c1", "1"),
        occurred_at=NOW,
        recorded_at=NOW,
        source="rmbc-ingest/http",
        correlation_id="corr-1",
        patient_key="9434765919",
        resource_type="Condition",
        resource_id="c1",
        version_id="1",
        resource={"resourceType": "Condition", "id": "c1"},
        patient=PatientContext(nhs_number="9434765919", birth_date=date(1960, 5, 1)),
        sender=Sender(channel="http", client="epr"),
    )


def test_an_event_survives_encode_and_decode_unchanged() -> None:
    event = clinical_event()
    assert decode(encode(event)) == event


@pytest.mark.parametrize(
    "value",
    [0.1, 1e-7, 1e22, -0.0, 12.0, 2**63 - 1, -(2**63), "é", "\u2028", "😀", "\x01\x7f", '/\\"',
     [1, [2, {"z": 3, "a": 4}]], True, {}],
)  # fmt: skip
def test_an_event_is_written_as_orjson_writes_its_json_form(value: object) -> None:
    event = clinical_event().model_copy(
        update={"resource": {"resourceType": "Condition", "id": "c1", "note": value}}
    )
    assert encode(event) == orjson.dumps(event.model_dump(mode="json"))
    assert decode(encode(event)) == event


def test_decode_as_refuses_an_event_of_another_type() -> None:
    with pytest.raises(UndecodableEvent, match="expected CancerFlag, got ClinicalEvent"):
        decode_as(encode(clinical_event()), CancerFlag)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (None, "tombstone"),
        (b"\xff\xfe garbage", "not JSON"),
        (b"[1, 2]", "not a JSON object"),
        (b'{"event_type": "weather-report", "schema_version": 1}', "unknown event_type"),
        (b'{"schema_version": 1}', "unknown event_type None"),
    ],
)
def test_undecodable_bytes_fail_loudly_with_the_reason(data: bytes | None, reason: str) -> None:
    with pytest.raises(UndecodableEvent, match=reason):
        decode(data)


def test_an_unknown_schema_version_fails_loudly() -> None:
    raw = orjson.loads(encode(clinical_event()))
    raw["schema_version"] = 99
    with pytest.raises(UndecodableEvent, match="unsupported schema_version 99"):
        decode(orjson.dumps(raw))


def test_a_known_type_with_a_missing_field_names_the_field() -> None:
    raw = orjson.loads(encode(clinical_event()))
    del raw["patient_key"]
    with pytest.raises(UndecodableEvent, match="patient_key"):
        decode(orjson.dumps(raw))


def test_stable_ids_are_deterministic_and_distinct() -> None:
    assert stable_id("a", "b") == stable_id("a", "b")
    assert stable_id("a", "b") != stable_id("ab")
