"""Whole patients from public implementation guides (tests/examples/README.md names each source
and licence), classified as their authors meant, through `rmbc classify`'s loader and rules."""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.classifier.offline import classify_resources, load
from services.classifier.terminology import load_terminology
from tests.scenarios.build import truth

EXAMPLES = Path(__file__).parents[2] / "examples"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
NOTHING = {key: value for key, value in truth().items() if key != "breast_primary"}


def patient(name: str) -> dict[str, Any]:
    loaded = load([EXAMPLES / name])
    assert loaded.errors == []
    rows = classify_resources(loaded.resources, load_terminology(), NOW)
    assert len(rows) == 1
    return rows[0]


def outcome(row: dict[str, Any]) -> dict[str, Any]:
    return {key: row[key] for key in NOTHING}


def test_mcodes_lung_cancer_patient_with_brain_metastases_is_not_breast_cancer() -> None:
    row = patient("mcode-john-anyperson.json")
    assert row["breast_primary"] is False and outcome(row) == NOTHING
    assert row["flags"] == []


def test_the_same_patient_linked_as_mcode_stu1_senders_link_it_is_not_breast_cancer() -> None:
    row = patient("mcode-john-anyperson-stu1-link.json")
    assert row["breast_primary"] is False and outcome(row) == NOTHING
    assert row["flags"] == []


def test_mcodes_breast_cancer_patient_in_remission_with_cm0_raises_no_alert() -> None:
    row = patient("mcode-jenny-m.json")
    assert row["breast_primary"] is True  # her primary's SNOMED CT concept is in the value sets
    assert outcome(row) == NOTHING
    assert row["flags"] == []


def test_a_uk_core_patient_bleeding_from_the_ear_is_nothing_to_rmbc() -> None:
    row = patient("uk-core-richard-smith.json")
    assert row["patient"] == "9912003888"  # keyed by the NHS number, as the stream keys it
    assert row["breast_primary"] is False and outcome(row) == NOTHING
    assert row["flags"] == []


def test_a_synthea_style_stage_iv_patient_is_de_novo_metastatic_with_the_site_unknown() -> None:
    row = patient("synthea-style-stage-iv.json")
    assert row["breast_primary"] is True
    assert outcome(row) == {
        **NOTHING,
        "metastatic": True,
        "de_novo_metastatic": True,
        "metastatic_sites": ["unknown"],
        "episode_date": "2019-05-02",
    }
    [flag] = row["flags"]
    assert flag["kind"] == "de_novo_metastatic" and flag["needs_review"] is False
    assert [e["rule"] for e in flag["evidence"]] == ["3: breast primary", "5: stage group IV"]
