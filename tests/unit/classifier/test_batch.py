"""`rmbc classify` reads an export resource by resource: a patient named two ways is one patient,
whichever file names her first, and a file unreadable half way adds nothing."""

from pathlib import Path
from typing import Any

import orjson
import pytest

from services.classifier import offline
from shared.nhs_number import NHS_NUMBER_SYSTEM
from tests.scenarios.build import ICD, Case


def ndjson(path: Path, resources: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in resources))
    return path


def classify(capsys: pytest.CaptureFixture[str], *paths: Path) -> tuple[int, list[Any], str]:
    code = offline.main([str(p) for p in paths])
    out, err = capsys.readouterr()
    return code, [orjson.loads(line) for line in out.splitlines()], err


def bulk_export(tmp_path: Path) -> tuple[Path, Case]:
    """A bulk export's three files; the primary names the patient by NHS number, the secondary by
    reference, and Patient.ndjson, read last, joins them."""
    case = Case(7).patient().remitted_primary()
    case.condition("met", (ICD, "C79.5"), "2021-04-02")
    for resource in case.resources:
        if resource["id"].startswith("primary"):
            resource["subject"] = {"identifier": {"system": NHS_NUMBER_SYSTEM, "value": case.nhs}}
    folder = tmp_path / "export"
    folder.mkdir()
    for kind in ("Patient", "Condition"):
        ndjson(folder / f"{kind}.ndjson", [r for r in case.resources if r["resourceType"] == kind])
    return folder, case


def test_a_patient_named_by_nhs_number_and_by_reference_is_one_patient(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, case = bulk_export(tmp_path)
    code, rows, _ = classify(capsys, folder)
    assert code == 0 and [row["patient"] for row in rows] == [case.nhs]
    assert rows[0]["recurrence"] is True and rows[0]["metastatic_sites"] == ["bone"]
    assert rows[0]["flags"][0]["patient"]["gp_practice_ods"] == "A81001"


def test_versions_of_one_condition_under_both_names_keep_the_latest_and_all_history(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, case = bulk_export(tmp_path)
    remission = next(r for r in case.resources if r["meta"]["versionId"] == "2")
    remission["subject"] = {"reference": f"Patient/{case.pid}"}  # version 2 under the other name
    ndjson(
        folder / "Condition.ndjson", [r for r in case.resources if r["resourceType"] != "Patient"]
    )
    code, rows, _ = classify(capsys, folder)
    assert code == 0 and rows[0]["recurrence"] is True  # the remission is still known


def test_a_file_unreadable_half_way_adds_nothing_and_the_others_still_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder, case = bulk_export(tmp_path)
    other = Case(8).patient().remitted_primary()
    other.condition("met", (ICD, "C78.7"), "2021-04-02")
    broken = folder / "More.ndjson"
    lines = [orjson.dumps(r) for r in other.resources]
    broken.write_bytes(b"\n".join([*lines[:-1], b"{not json", lines[-1]]) + b"\n")
    code, rows, err = classify(capsys, folder)
    assert code == 1
    assert f"{broken}: skipped: line {len(lines)}: not JSON" in err
    assert [row["patient"] for row in rows] == [case.nhs]
