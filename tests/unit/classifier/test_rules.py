"""The rules through the pure core: every labelled scenario, any order of arrival, corrections
that retract, provisional evidence that only asks for review, and the size of the state."""

import random
from datetime import UTC, date, datetime
from typing import Any

import orjson
import pytest

from services.classifier.core import handle, reflag
from services.classifier.flags import FlagContext
from services.classifier.offline import classify_resources
from services.classifier.state import PatientState
from services.classifier.terminology import load_terminology
from shared.events import CancerFlag, PatientContext, PrimaryTumour
from tests.scenarios.build import ICD, SCENARIOS, Case

NOW = datetime(2024, 1, 1, tzinfo=UTC)
OUTCOME = (
    "breast_primary",
    "recurrence",
    "recurrence_types",
    "metastatic",
    "de_novo_metastatic",
    "metastatic_sites",
    "episode_date",
)


def feed(resources: list[dict[str, Any]], key: str = "p") -> tuple[PatientState, list[CancerFlag]]:
    state, flags = PatientState(), []
    context = FlagContext(key, NOW, NOW, "c")
    for resource in resources:
        change = handle(state, resource, None, load_terminology(), context)
        state = change.state
        flags += change.flags
    return state, flags


@pytest.mark.parametrize(
    ("name", "build", "expected"), SCENARIOS, ids=[name for name, *_ in SCENARIOS]
)
def test_each_labelled_scenario_gets_its_expected_outcome(name, build, expected) -> None:
    case = build(Case(1))
    rows = classify_resources(case.resources, load_terminology(), NOW)
    assert len(rows) == 1
    assert {k: rows[0][k] for k in OUTCOME} == expected


@pytest.mark.parametrize(
    ("name", "build", "expected"), SCENARIOS[::4], ids=[n for n, *_ in SCENARIOS[::4]]
)
def test_the_order_of_arrival_does_not_change_the_answer(name, build, expected) -> None:
    resources = build(Case(1)).resources
    for seed in range(5):
        shuffled = resources[:]
        random.Random(seed).shuffle(shuffled)
        rows = classify_resources(shuffled, load_terminology(), NOW)
        assert {k: rows[0][k] for k in OUTCOME} == expected


def test_an_entered_in_error_correction_retracts_the_raised_flag() -> None:
    case = Case(1).remitted_primary().condition("met", (ICD, "C79.5"), "2021-04-02")
    case.condition("met", (ICD, "C79.5"), "2021-04-02", verification="entered-in-error", version=2)
    _, flags = feed(case.resources)
    assert [(f.state, f.revision, f.kind) for f in flags] == [
        ("raised", 1, "recurrence"),
        ("retracted", 2, "recurrence"),
    ]
    assert flags[1].reason and "entered in error" in flags[1].reason
    assert flags[1].metastatic_sites == ["bone"] and flags[0].flag_id == flags[1].flag_id


def test_a_secondary_recoded_as_something_else_retracts_its_flag() -> None:
    # the new version has no code the rules know: it still replaces the version on record
    case = Case(1).remitted_primary().condition("met", (ICD, "C79.5"), "2021-04-02")
    case.condition("met", (ICD, "M85.8"), "2021-04-02", version=2)
    state, flags = feed(case.resources)
    assert [(f.state, f.revision) for f in flags] == [("raised", 1), ("retracted", 2)]
    assert state.records["Condition/met-1"].fact.kind == "irrelevant"


def test_a_routine_observation_leaves_the_state_as_it_was() -> None:
    case = Case(1).remitted_primary()
    case.observation("bp", ("http://loinc.org", "8480-6"), "0", "2021-01-01")
    state, _ = feed(case.resources[:-1])
    change = handle(
        state, case.resources[-1], None, load_terminology(), FlagContext("p", NOW, NOW, "c")
    )
    assert not change.changed and change.state is state and "Observation/bp-1" not in state.records


def test_a_replayed_version_emits_nothing() -> None:
    case = Case(1).remitted_primary().condition("met", (ICD, "C79.5"), "2021-04-02")
    state, flags = feed(case.resources)
    again = handle(
        state, case.resources[-1], None, load_terminology(), FlagContext("p", NOW, NOW, "c")
    )
    assert len(flags) == 1 and again.flags == [] and not again.changed


def test_a_new_site_in_the_same_episode_updates_the_flag() -> None:
    case = Case(1).remitted_primary().condition("bone", (ICD, "C79.5"), "2021-04-02")
    case.condition("liver", (ICD, "C78.7"), "2021-08-02")
    _, flags = feed(case.resources)
    assert [(f.state, f.episode, f.metastatic_sites) for f in flags] == [
        ("raised", 1, ["bone"]),
        ("updated", 1, ["bone", "liver"]),
    ]


def test_a_later_episode_after_remission_gets_its_own_flag() -> None:
    case = Case(1).remitted_primary().condition("bone", (ICD, "C79.5"), "2020-04-02")
    case.condition(
        "bone",
        (ICD, "C79.5"),
        "2020-04-02",
        clinical="remission",
        version=2,
        abatement="2021-01-20",
    )
    case.condition("liver", (ICD, "C78.7"), "2022-09-01")
    _, flags = feed(case.resources)
    assert [(f.state, f.episode, f.metastatic_sites) for f in flags] == [
        ("raised", 1, ["bone"]),
        ("raised", 2, ["liver"]),
    ]


def test_provisional_evidence_raises_only_a_review_flag_and_confirmation_raises_the_finding() -> (
    None
):
    case = Case(1).remitted_primary()
    case.condition("met", (ICD, "C78.7"), "2021-04-02", verification="provisional")
    case.condition("met", (ICD, "C78.7"), "2021-04-02", version=2)
    _, flags = feed(case.resources)
    review, confirmed = flags
    assert (review.kind, review.needs_review, review.metastatic, review.episode_date) == (
        "review",
        True,
        False,
        None,
    )
    assert (confirmed.state, confirmed.kind, confirmed.metastatic_sites) == (
        "raised",
        "recurrence",
        ["liver"],
    )


def test_a_flag_carries_its_evidence_with_rules_codes_and_dates() -> None:
    case = Case(1).remitted_primary().condition("met", (ICD, "C79.5"), "2021-04-02")
    _, (flag,) = feed(case.resources)
    rules = {e.rule.split(":")[0] for e in flag.evidence}
    assert {"3", "5", "7"} <= rules
    assert any(e.code == "C79.5" and str(e.date) == "2021-04-02" for e in flag.evidence)
    assert flag.primary and flag.primary.icd10 == "C50.4" and flag.primary.laterality == "left"


def test_a_flags_content_digest_is_unchanged_so_stored_flags_are_not_emitted_again() -> None:
    """The digest decides whether a flag changed; a new form of it would re-send every flag."""
    case = Case(1).remitted_primary().condition("met", (ICD, "C79.5"), "2021-04-02")
    state, (flag,) = feed(case.resources)
    assert state.emitted[1].digest == "0c9a6cbbaac17161"
    assert flag.primary == PrimaryTumour(
        icd10="C50.4",
        laterality="left",
        diagnosis_date=date(2018, 3, 10),
        reference="Condition/primary-1/_history/2",
    )


def test_flag_ids_are_deterministic_per_patient_and_episode() -> None:
    case = Case(1).remitted_primary().condition("met", (ICD, "C79.5"), "2021-04-02")
    _, first = feed(case.resources, key="9430000071")
    _, second = feed(case.resources[::-1], key="9430000071")
    assert first[0].flag_id == second[-1].flag_id and first[0].event_id == second[-1].event_id


def test_a_typical_patients_state_stays_under_one_kilobyte() -> None:
    case = Case(1).patient().remitted_primary().condition("bone", (ICD, "C79.5"), "2021-04-02")
    case.observation("status", ("http://loinc.org", "97509-4"), "271299001", "2021-05-01")
    case.condition("liver", (ICD, "C78.7"), "2021-08-02")
    state, _ = feed(case.resources)
    data = state.to_bytes()
    assert len(data) <= 1024, len(data)
    assert PatientState.from_bytes(data) == state


def test_state_survives_a_round_trip_and_reclassifies_identically() -> None:
    case = Case(1).remitted_primary().condition("met", (ICD, "C79.5"), "2021-04-02")
    state, _ = feed(case.resources)
    restored = PatientState.from_bytes(state.to_bytes())
    assert reflag(restored, FlagContext("p", NOW, NOW, "c")).flags == []


@pytest.mark.parametrize(
    ("name", "build", "expected"), SCENARIOS[::3], ids=[n for n, *_ in SCENARIOS[::3]]
)
def test_state_stored_after_every_event_gives_what_state_in_memory_gives(
    name, build, expected
) -> None:
    """As the stream does (load the bytes, apply, store the bytes), with routine observations and
    a change of GP practice between: records read back and never decoded are stored unchanged."""
    case = build(Case(1))
    for number in range(3):
        case.observation(f"bp{number}", ("http://loinc.org", "8480-6"), "0", "2021-01-01")
    resources = case.resources[::2] + case.resources[1::2]
    moved = {len(resources) - 2: PatientContext(gp_practice_ods="B86001")}
    context = FlagContext("p", NOW, NOW, "c")
    in_memory, flags_in_memory = PatientState(), []
    stored: bytes | None = None
    flags_stored: list[CancerFlag] = []
    for number, resource in enumerate(resources):
        patient = moved.get(number)
        change = handle(in_memory, resource, patient, load_terminology(), context)
        in_memory, flags_in_memory = change.state, flags_in_memory + change.flags
        change = handle(
            PatientState.from_bytes(stored), resource, patient, load_terminology(), context
        )
        flags_stored += change.flags
        if change.changed:
            stored = change.state.to_bytes()
    assert flags_stored == flags_in_memory
    assert documents(stored) == documents(in_memory.to_bytes())
    assert PatientState.from_bytes(stored) == in_memory
    assert in_memory.patient == {"gp_practice_ods": "B86001"}


def documents(stored: bytes | None) -> list[Any]:
    """A stored state's head and body, decoded (key order within a document aside)."""
    assert stored is not None
    return [orjson.loads(line) for line in stored.split(b"\n")]


def test_cancer_of_unknown_primary_after_breast_cancer_asks_the_cns_team_to_review_it() -> None:
    case = Case(1).remitted_primary().condition("cup", (ICD, "C80.9"), "2022-06-01")
    _, flags = feed(case.resources)
    assert [(f.state, f.kind, f.needs_review) for f in flags] == [("raised", "review", True)]
    assert not flags[0].metastatic and not flags[0].recurrence and flags[0].metastatic_sites == []
    rows = classify_resources(case.resources, load_terminology(), NOW)
    assert (rows[0]["metastatic"], rows[0]["recurrence"], rows[0]["episode_date"]) == (
        False, False, None,
    )  # fmt: skip


def test_an_undated_m1_observation_is_metastatic_with_no_episode_date() -> None:
    primary = {
        "resourceType": "Condition",
        "id": "primary",
        "subject": {"reference": "Patient/p"},
        "code": {"coding": [{"system": ICD, "code": "C50.4"}]},
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed",
                }
            ]
        },
        "onsetDateTime": "2019-03-01",
    }
    m1 = {
        "resourceType": "Observation",
        "id": "m1",
        "status": "final",
        "subject": {"reference": "Patient/p"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "399387003"}]},
        "valueCodeableConcept": {
            "coding": [{"system": "http://snomed.info/sct", "code": "1229903009"}]
        },
    }
    [row] = classify_resources([primary, m1], load_terminology(), NOW)
    assert row["metastatic"] is True
    assert row["episode_date"] is None
    assert all(flag["episode_date"] is None for flag in row["flags"])
