"""Words in a Condition whose codes mean nothing: a review flag for the CNS team quoting them, never
an outcome, and never a GP letter (checked through the notifier's decision core)."""

from datetime import UTC, datetime
from typing import Any

import pytest

from services.classifier.offline import classify_resources
from services.classifier.terminology import load_terminology
from services.notifier.decisions import plan_for
from shared.events import CancerFlag
from tests.scenarios.build import SCT, Case, truth
from tests.unit.notifier.factory import directory

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LOCAL = "https://fhir.example-trust.nhs.uk/CodeSystem/local-diagnoses"


def worded(case: Case, cid: str, text: str, onset: str, display: bool = False) -> Case:
    case.condition(cid, (LOCAL, "Z-123"), onset)
    if display:
        case.resources[-1]["code"]["coding"][0]["display"] = text
    else:
        case.resources[-1]["code"]["text"] = text
    return case


def outcome(case: Case) -> dict[str, Any]:
    rows = classify_resources(case.resources, load_terminology(), NOW)
    assert len(rows) == 1
    return rows[0]


def summary(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in truth()}


@pytest.mark.parametrize(
    "text",
    [
        "Metastatic deposits in liver",
        "Secondaries in spine",
        "bone METASTASES, see MDT outcome",
        "secondary malignant neoplasm of bone",
    ],
)
@pytest.mark.parametrize("display", [False, True])
def test_words_of_secondary_disease_after_a_breast_primary_raise_a_review_quoting_them(
    text: str, display: bool
) -> None:
    case = worded(Case(1).patient().remitted_primary(), "note", text, "2021-04-02", display)
    row = outcome(case)
    assert summary(row) == truth()  # a breast primary and nothing else
    [flag] = row["flags"]
    assert flag["kind"] == "review" and flag["needs_review"] is True
    assert "in words only" in flag["review_reason"]
    quoted = flag["evidence"][-1]
    assert quoted["display"] == text and f'"{text}"' in quoted["rule"]
    assert quoted["code"] is None  # the unread local code is not evidence


def test_a_quote_is_cut_to_its_length_whatever_the_text() -> None:
    text = "Metastatic disease " + "x" * 100_000
    case = worded(Case(1).patient().remitted_primary(), "note", text, "2021-04-02")
    [flag] = outcome(case)["flags"]
    assert flag["evidence"][-1]["display"] == text[:120]


@pytest.mark.parametrize(
    "text",
    [
        "No evidence of metastatic disease",
        "non-metastatic breast cancer",
        "Metastases ruled out on CT",
        "Family history of breast cancer",
        "Secondary hypertension",
        "Secondary care referral",
        "Ductal carcinoma in situ of breast",
        "METs 4.5 on exercise test",
    ],
)
def test_negated_unrelated_or_other_peoples_words_raise_nothing(text: str) -> None:
    case = worded(Case(1).patient().remitted_primary(), "note", text, "2021-04-02")
    assert outcome(case)["flags"] == []


def test_words_of_breast_cancer_without_any_coded_primary_ask_for_review() -> None:
    case = worded(Case(1).patient(), "note", "Left breast carcinoma, grade 2", "2021-04-02")
    row = outcome(case)
    assert row["breast_primary"] is False
    [flag] = row["flags"]
    assert flag["kind"] == "review" and flag["episode_date"] is None


def test_words_of_secondary_disease_without_a_breast_primary_raise_nothing() -> None:
    case = worded(Case(1).patient(), "note", "Liver metastases", "2021-04-02")
    assert outcome(case)["flags"] == []


def test_words_of_breast_cancer_at_the_coded_diagnosis_are_the_same_tumour() -> None:
    case = worded(Case(1).patient().primary(), "note", "Breast cancer", "2018-03-12")
    assert outcome(case)["flags"] == []


def test_words_beside_a_coded_secondary_add_evidence_but_never_change_the_outcome() -> None:
    case = Case(1).patient().remitted_primary()
    case.condition("met", (SCT, "94222008"), "2021-04-02")
    coded = outcome(case)
    worded(case, "note", "Liver metastases on CT", "2021-04-20")
    both = outcome(case)
    assert summary(both) == summary(coded)
    assert both["metastatic_sites"] == ["bone"]


def test_a_refuted_worded_condition_raises_nothing() -> None:
    case = Case(1).patient().remitted_primary()
    case.condition("note", (LOCAL, "Z-1"), "2021-04-02", verification="refuted")
    case.resources[-1]["code"]["text"] = "Liver metastases"
    assert outcome(case)["flags"] == []


def test_a_text_only_review_flag_sends_the_cns_team_a_review_and_no_gp_letter() -> None:
    case = worded(Case(1).patient().remitted_primary(), "note", "Lung metastases", "2021-04-02")
    [raised] = outcome(case)["flags"]
    flag = CancerFlag.model_validate(raised)
    plan = plan_for(flag, directory(), [], NOW)
    assert [(d.channel, d.purpose) for d in plan.deliveries] == [("smtp", "review")]
    assert not [u for u in plan.unroutable if u.channel == "mesh"]
    assert plan.record is None
    updated = flag.model_copy(update={"state": "updated", "revision": 2})
    again = plan_for(updated, directory(), [], NOW)
    assert all(d.channel != "mesh" for d in again.deliveries) and again.record is None
