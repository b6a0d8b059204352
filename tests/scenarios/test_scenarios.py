"""`rmbc classify` over the labelled scenario set meets the targets; prints the per-field table."""

import json
import subprocess
import sys
from pathlib import Path

from tests.scenarios.scoring import score

HERE = Path(__file__).parent


def test_rmbc_classify_meets_the_targets_on_the_labelled_scenarios() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "services.cli", "classify", str(HERE / "patients")],
        capture_output=True,
        check=True,
        timeout=120,
    )
    actual = {row["patient"]: row for row in map(json.loads, run.stdout.splitlines())}
    expected = [json.loads(line) for line in (HERE / "expected.jsonl").read_text().splitlines()]
    assert len(expected) >= 60
    report = score(expected, actual)
    print("\n" + report.table())
    print("\n".join(report.mismatches))
    fields = report.fields
    assert fields["metastatic"].sensitivity >= 0.98 and fields["metastatic"].ppv >= 0.98
    assert fields["recurrence"].sensitivity >= 0.95 and fields["recurrence"].ppv >= 0.95
    assert report.site_sets_exact >= 0.95
    assert report.dates_within >= 0.95


def test_a_malformed_file_is_reported_and_skipped_with_a_failing_exit(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "ok.json").write_text('{"resourceType": "Patient", "id": "p"}')
    run = subprocess.run(
        [sys.executable, "-m", "services.cli", "classify", str(tmp_path)],
        capture_output=True,
        timeout=60,
    )
    assert run.returncode == 1
    assert b"broken.json" in run.stderr
    assert len(run.stdout.splitlines()) == 1
