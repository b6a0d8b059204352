"""What a crafted resource can make of the state and of a flag: bounded, encodable, within the
message size, and never without its alert."""

from datetime import UTC, datetime

import orjson
import pytest

from services.classifier.bounds import MAX_TEXT, FlagTooLarge, fitted, refusal
from services.classifier.core import handle
from services.classifier.flags import FlagContext
from services.classifier.state import PatientState
from services.classifier.terminology import load_terminology
from shared.codec import decode_as, encode
from shared.events import CancerFlag, Evidence, PatientContext
from tests.scenarios.build import ICD, Case
from tests.unit.notifier.factory import flag

NOW = datetime(2024, 1, 1, tzinfo=UTC)
CONTEXT = FlagContext("p", NOW, NOW, "c")
TERMS = load_terminology()


def applied(case: Case, patient: PatientContext | None = None) -> tuple[PatientState, list]:  # type: ignore[type-arg]
    state, flags = PatientState(), []
    for resource in case.resources:
        change = handle(state, resource, patient, TERMS, CONTEXT)
        state, flags = change.state, flags + change.flags
    return state, flags


@pytest.mark.parametrize("version_id", [2**64, 10**64 - 1])
def test_a_version_id_beyond_64_bits_is_stored_read_back_and_ordered_as_a_number(
    version_id: int,
) -> None:
    case = Case(1).remitted_primary().condition("met", (ICD, "C79.5"), "2021-04-02")
    case.condition("met", (ICD, "C79.5"), "2021-04-02", version=version_id, clinical="remission")
    case.condition("met", (ICD, "C79.5"), "2021-04-02", version=version_id - 1)
    state, flags = applied(case)
    read = PatientState.from_bytes(state.to_bytes())
    latest = read.records["Condition/met-1"]
    assert latest.fact.version[0] == version_id and latest.fact.status == "disease_free"
    assert [entry[0][0] for entry in latest.history] == [1, version_id - 1, version_id]
    assert read.to_bytes() == state.to_bytes()
    assert flags and flags[0].kind == "recurrence"


def test_text_from_a_resource_and_the_demographics_enters_the_state_cut_to_its_bound() -> None:
    case = Case(1).remitted_primary().condition("met", (ICD, "C79.5"), "2021-04-02")
    case.resources[-1]["extension"] = [
        {
            "url": "http://hl7.org/fhir/StructureDefinition/condition-related",
            "valueReference": {"reference": "Condition/" + "r" * 100_000},
        }
    ]
    long_name = PatientContext(family_name="N" * 100_000, nhs_number="9434765919")
    state, _ = applied(case, long_name)
    fact = state.records["Condition/met-1"].fact
    assert fact.related is not None and len(fact.related) == MAX_TEXT
    assert fact.related.endswith("\u2026")
    assert len(state.patient_context().family_name or "") == MAX_TEXT
    assert state.patient_context().nhs_number == "9434765919"
    assert len(state.to_bytes()) < 4_000


@pytest.mark.parametrize(
    ("resource", "reason"),
    [
        ({"id": "x" * 65}, "resource id"),
        ({"id": "a/b"}, "resource id"),
        ({"id": 7}, "resource id"),
        ({"id": "ok", "meta": {"versionId": "1" * 65}}, "versionId"),
        ({"id": "ok", "meta": {"versionId": 2}}, "versionId"),
    ],
)
def test_a_resource_whose_id_or_version_id_is_not_a_fhir_id_is_refused(
    resource: dict,
    reason: str,  # type: ignore[type-arg]
) -> None:
    refused = refusal(resource)
    assert refused is not None and reason in refused


def test_a_resource_with_fhir_ids_is_not_refused() -> None:
    assert refusal({"id": "met-1.A", "meta": {"versionId": "9" * 64}}) is None


def evidence(number: int) -> Evidence:
    return Evidence(
        reference=f"Condition/c{number}/_history/1",
        rule="3: secondary malignancy",
        system="http://hl7.org/fhir/sid/icd-10",
        code="C79.5",
    )


def test_a_flag_within_the_limit_is_sent_as_encoded() -> None:
    small = flag()
    assert fitted(small, 1_000_000) == (encode(small), 0)


def test_a_flag_over_the_limit_lists_the_first_evidence_that_fits_and_says_so() -> None:
    many = flag(evidence=[evidence(n) for n in range(5_000)])
    assert len(encode(many)) > 300_000
    data, left_out = fitted(many, 300_000)
    assert len(data) <= 300_000
    sent = decode_as(data, CancerFlag)
    kept = len(sent.evidence)
    assert left_out == 5_000 - kept and kept > 1_000
    assert sent.evidence == many.evidence[:kept]
    assert (
        sent.reason == f"evidence: the first {kept} of 5000 items are listed (message size limit)"
    )
    one_more = many.model_copy(update={"evidence": many.evidence[: kept + 1]})
    assert len(encode(one_more)) > 300_000 - 100  # no room was left for another item
    assert (sent.flag_id, sent.state, sent.kind) == (many.flag_id, many.state, many.kind)


def test_a_retraction_keeps_its_reason_ahead_of_the_evidence_note() -> None:
    retracted = flag(state="retracted", reason="entered in error: Condition/c1")
    retracted = retracted.model_copy(update={"evidence": [evidence(n) for n in range(2_000)]})
    sent = decode_as(fitted(retracted, 100_000)[0], CancerFlag)
    assert sent.reason is not None
    assert sent.reason.startswith("entered in error: Condition/c1; evidence: the first ")


def test_a_limit_too_small_for_any_flag_is_an_error_not_a_dropped_alert() -> None:
    with pytest.raises(FlagTooLarge):
        fitted(flag(), 200)


def test_the_state_of_a_crafted_patient_encodes_as_json() -> None:
    case = Case(1).remitted_primary()
    case.condition("met", (ICD, "C79.5"), "2021-04-02", version=2**70)
    case.resources[-1]["meta"]["lastUpdated"] = "0001-01-01T00:00:00+14:00"
    state, flags = applied(case)
    head, body = state.to_bytes().split(b"\n")
    assert orjson.loads(head)["k"] and orjson.loads(body)["r"]
    assert flags and flags[0].episode_date is not None
