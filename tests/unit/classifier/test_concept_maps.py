"""A trust's FHIR ConceptMaps: local codes read as SNOMED CT / ICD-10 with the certainty their
equivalence allows, and files that cannot be used stop the start with a clear error."""

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from services.classifier.concept_maps import (
    ConceptMapError,
    configured_paths,
    load_concept_maps,
    with_trust_maps,
)
from services.classifier.offline import classify_resources
from services.classifier.terminology import load_terminology
from tests.scenarios.build import SCT, Case

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LOCAL = "https://fhir.example-trust.nhs.uk/CodeSystem/local-diagnoses"


def concept_map(*elements: tuple[str, str, str], target: str = SCT) -> dict[str, Any]:
    """(local code, target code, equivalence) rows in one group."""
    return {
        "resourceType": "ConceptMap",
        "status": "active",
        "group": [
            {
                "source": LOCAL,
                "target": target,
                "element": [
                    {"code": code, "target": [{"code": to, "equivalence": equivalence}]}
                    for code, to, equivalence in elements
                ],
            }
        ],
    }


def written(tmp_path: Path, resource: Any, name: str = "map.json") -> Path:
    path = tmp_path / name
    path.write_bytes(orjson.dumps(resource))
    return path


def outcome(case: Case, tmp_path: Path, resource: dict[str, Any]) -> dict[str, Any]:
    terms = with_trust_maps(load_terminology(), str(written(tmp_path, resource)))
    rows = classify_resources(case.resources, terms, NOW)
    assert len(rows) == 1
    return rows[0]


def local_patient() -> Case:
    case = Case(1).patient()
    case.condition("primary", (LOCAL, "BRCA-L"), "2018-03-10", body_site="80248007")
    case.condition("primary", (LOCAL, "BRCA-L"), "2018-03-10", body_site="80248007")
    case.resources[-1]["meta"] = {"versionId": "2", "lastUpdated": "2019-02-01T10:00:00Z"}
    case.resources[-1]["clinicalStatus"]["coding"][0]["code"] = "remission"
    case.condition("met", (LOCAL, "MET-BONE"), "2021-04-02")
    return case


@pytest.mark.parametrize("equivalence", ["equivalent", "equal", "wider", "subsumes"])
def test_local_codes_mapped_exactly_or_wider_classify_as_if_sent_in_snomed_ct(
    tmp_path: Path, equivalence: str
) -> None:
    maps = concept_map(("BRCA-L", "254837009", equivalence), ("MET-BONE", "94222008", equivalence))
    row = outcome(local_patient(), tmp_path, maps)
    assert row["breast_primary"] is True
    assert row["recurrence"] is True and row["metastatic_sites"] == ["bone"]
    assert row["flags"][0]["kind"] == "recurrence"


@pytest.mark.parametrize("equivalence", ["narrower", "specializes", "relatedto", "inexact"])
def test_a_narrower_or_loose_map_of_the_secondary_only_asks_for_review(
    tmp_path: Path, equivalence: str
) -> None:
    maps = concept_map(("BRCA-L", "254837009", "equivalent"), ("MET-BONE", "94222008", equivalence))
    row = outcome(local_patient(), tmp_path, maps)
    assert row["breast_primary"] is True and row["metastatic"] is False
    assert [f["kind"] for f in row["flags"]] == ["review"]


@pytest.mark.parametrize("equivalence", ["unmatched", "disjoint"])
def test_unmatched_and_disjoint_maps_are_ignored(tmp_path: Path, equivalence: str) -> None:
    maps = concept_map(("BRCA-L", "254837009", "equivalent"), ("MET-BONE", "94222008", equivalence))
    row = outcome(local_patient(), tmp_path, maps)
    assert row["breast_primary"] is True
    assert row["metastatic"] is False and row["flags"] == []


def test_an_unmatched_target_needs_no_code(tmp_path: Path) -> None:
    maps = concept_map(("MET-BONE", "94222008", "equivalent"))
    maps["group"][0]["element"].append({"code": "X", "target": [{"equivalence": "unmatched"}]})
    assert len(load_concept_maps([written(tmp_path, maps)], load_terminology().family) or []) == 1


def test_maps_map_to_icd10_too_and_several_files_combine(tmp_path: Path) -> None:
    first = written(tmp_path, concept_map(("BRCA-L", "254837009", "equivalent")), "a.json")
    icd = concept_map(("MET-BONE", "C79.5", "equivalent"), target="http://hl7.org/fhir/sid/icd-10")
    second = written(tmp_path, icd, "b.json")
    terms = with_trust_maps(load_terminology(), f"{first}, {second}")
    row = classify_resources(local_patient().resources, terms, NOW)[0]
    assert row["metastatic_sites"] == ["bone"]


def test_without_maps_local_codes_mean_nothing_and_the_shared_terminology_is_untouched(
    tmp_path: Path,
) -> None:
    mapped = with_trust_maps(load_terminology(), str(written(tmp_path, concept_map())))
    assert mapped is not load_terminology() and load_terminology().concept_maps is None
    row = classify_resources(local_patient().resources, load_terminology(), NOW)[0]
    assert row["breast_primary"] is False and row["flags"] == []


@pytest.mark.parametrize(
    ("resource", "message"),
    [
        ({"resourceType": "ValueSet"}, "not a FHIR ConceptMap resource"),
        ({"resourceType": "ConceptMap"}, "ConceptMap.group: at least one group is needed"),
        (
            {"resourceType": "ConceptMap", "group": [{"source": LOCAL}]},
            "ConceptMap.group[0]: source and target (code system URIs) are required",
        ),
        (
            concept_map(("A", "1", "equivalent"), target="http://example.org/other"),
            "ConceptMap.group[0].target: 'http://example.org/other' is not a code system",
        ),
        (
            concept_map(("A", "254837009", "same")),
            "ConceptMap.group[0].element[0].target[0].equivalence: 'same' is not one of",
        ),
        (
            concept_map(("A", "", "wider")),
            "ConceptMap.group[0].element[0].target[0].code: required when equivalence is wider",
        ),
        (concept_map(("", "254837009", "wider")), "ConceptMap.group[0].element[0].code: required"),
    ],
)
def test_an_unusable_map_is_refused_naming_the_file_and_the_problem(
    tmp_path: Path, resource: Any, message: str
) -> None:
    path = written(tmp_path, resource)
    with pytest.raises(ConceptMapError) as refused:
        with_trust_maps(load_terminology(), str(path))
    assert str(refused.value).startswith(f"{path}: ")
    assert message in str(refused.value)


def test_a_missing_or_unreadable_file_is_refused_by_name(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    with pytest.raises(ConceptMapError, match=r"missing\.json: cannot be read"):
        with_trust_maps(load_terminology(), str(tmp_path / "missing.json"))
    with pytest.raises(ConceptMapError, match=r"broken\.json: not JSON"):
        with_trust_maps(load_terminology(), str(tmp_path / "broken.json"))


def test_the_setting_names_files_separated_by_commas() -> None:
    assert configured_paths(" a.json, b.json ,") == [Path("a.json"), Path("b.json")]
    assert configured_paths("") == [] and configured_paths(None) == []


def test_rmbc_classify_reads_the_maps_and_refuses_a_bad_one_before_reading_input(
    tmp_path: Path,
) -> None:
    records = tmp_path / "records.ndjson"
    records.write_bytes(b"\n".join(orjson.dumps(r) for r in local_patient().resources))
    good = written(
        tmp_path,
        concept_map(("BRCA-L", "254837009", "equivalent"), ("MET-BONE", "94222008", "wider")),
    )
    command = [sys.executable, "-m", "services.cli", "classify", str(records)]
    run = subprocess.run(
        command,
        env={"RMBC_CLASSIFIER_CONCEPT_MAPS": str(good), "PATH": ""},
        capture_output=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert orjson.loads(run.stdout)["metastatic_sites"] == ["bone"]
    bad = written(tmp_path, {"resourceType": "Bundle"}, "bad.json")
    run = subprocess.run(
        command,
        env={"RMBC_CLASSIFIER_CONCEPT_MAPS": str(bad), "PATH": ""},
        capture_output=True,
        check=False,
    )
    assert run.returncode == 2 and run.stdout == b""
    assert f"RMBC_CLASSIFIER_CONCEPT_MAPS: {bad}: not a FHIR ConceptMap resource" in (
        run.stderr.decode()
    )


def test_the_classifier_worker_will_not_start_with_an_unusable_map(tmp_path: Path) -> None:
    bad = written(tmp_path, concept_map(("A", "254837009", "same")))
    run = subprocess.run(
        [sys.executable, "-m", "services.cli", "classifier"],
        env={
            "RMBC_CLASSIFIER_CONCEPT_MAPS": str(bad),
            "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1",  # never reached: the check comes first
            "PATH": "",
        },
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    assert f"RMBC_CLASSIFIER_CONCEPT_MAPS: {bad}: ConceptMap.group[0].element[0].target[0]" in (
        run.stderr.decode()
    )
