"""The blind clinical scenario set through `rmbc classify`, field by field, against the targets.

The expected outcomes were written from the classification rules before the classifier was read.
Patients marked `ambiguous` (or fields in `ambiguous_fields`) are reported but not held to the targets.
Run with `-rP` (or `-s`) to see the table.
"""

from __future__ import annotations

import datetime as dt
import filecmp
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.clinical import build_scenarios

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
SCENARIOS = HERE / "scenarios"
BOOLEAN_FIELDS = ("breast_primary", "recurrence", "metastatic", "de_novo_metastatic")
SET_FIELDS = ("recurrence_types", "metastatic_sites")
DATE_WINDOW = dt.timedelta(days=60)

Row = dict[str, Any]
NOTHING: Row = {
    "breast_primary": False,
    "recurrence": False,
    "recurrence_types": [],
    "metastatic": False,
    "de_novo_metastatic": False,
    "metastatic_sites": [],
    "episode_date": None,
    "flags": [],
}


@dataclass
class Counts:
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    true_negative: int = 0

    def add(self, expected: bool, actual: bool) -> None:
        if expected and actual:
            self.true_positive += 1
        elif actual:
            self.false_positive += 1
        elif expected:
            self.false_negative += 1
        else:
            self.true_negative += 1

    @property
    def sensitivity(self) -> float:
        positives = self.true_positive + self.false_negative
        return self.true_positive / positives if positives else 1.0

    @property
    def ppv(self) -> float:
        called = self.true_positive + self.false_positive
        return self.true_positive / called if called else 1.0


@dataclass
class Agreement:
    agreed: int = 0
    total: int = 0

    def add(self, same: bool) -> None:
        self.total += 1
        self.agreed += same

    @property
    def rate(self) -> float:
        return self.agreed / self.total if self.total else 1.0


@dataclass
class Report:
    booleans: dict[str, Counts] = field(
        default_factory=lambda: {f: Counts() for f in BOOLEAN_FIELDS}
    )
    sets: dict[str, Agreement] = field(default_factory=lambda: {f: Agreement() for f in SET_FIELDS})
    sites_on_episodes: Agreement = field(default_factory=Agreement)
    episode_within_60_days: Agreement = field(default_factory=Agreement)
    no_episode_no_date: Agreement = field(default_factory=Agreement)
    disagreements: list[str] = field(default_factory=list)
    ambiguous: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    def table(self) -> str:
        lines = ["field                 sens    PPV     TP  FP  FN  TN"]
        for name, c in self.booleans.items():
            lines.append(
                f"{name:<20} {c.sensitivity:6.3f}  {c.ppv:6.3f}  {c.true_positive:3} "
                f"{c.false_positive:3} {c.false_negative:3} {c.true_negative:3}"
            )
        lines.append("")
        for name, a in self.sets.items():
            lines.append(f"exact {name:<27} {a.rate:6.3f}  ({a.agreed}/{a.total})")
        s = self.sites_on_episodes
        lines.append(f"exact sites, episodes only         {s.rate:6.3f}  ({s.agreed}/{s.total})")
        e = self.episode_within_60_days
        lines.append(f"episode date within 60 days        {e.rate:6.3f}  ({e.agreed}/{e.total})")
        z = self.no_episode_no_date
        lines.append(f"no episode -> null date            {z.rate:6.3f}  ({z.agreed}/{z.total})")
        for title, items in (
            ("missing patients", self.missing),
            ("unexpected patients", self.unexpected),
            ("disagreements (held to the targets)", self.disagreements),
            ("ambiguous cases (reported, not held to the targets)", self.ambiguous),
        ):
            if items:
                lines += ["", f"{title}:", *(f"  {item}" for item in items)]
        return "\n".join(lines)


def normalised(value: Any) -> Any:
    return sorted(value) if isinstance(value, list) else value


def compare(expected_rows: list[Row], actual_rows: list[Row]) -> Report:
    report = Report()
    actual_by_patient = {row["patient"]: row for row in actual_rows}
    expected_patients = {row["patient"] for row in expected_rows}
    for row in actual_rows:
        if row["patient"] not in expected_patients:
            report.unexpected.append(
                f"{row['patient']}: "
                + ", ".join(f"{f}={row[f]}" for f in (*BOOLEAN_FIELDS, *SET_FIELDS, "episode_date"))
            )
            for name in BOOLEAN_FIELDS:
                report.booleans[name].add(False, bool(row[name]))
    for expected in expected_rows:
        actual = actual_by_patient.get(expected["patient"])
        if actual is None:
            report.missing.append(f"{expected['scenario']} ({expected['patient']})")
            actual = NOTHING
        excluded = set(expected.get("ambiguous_fields", []))
        for name in (*BOOLEAN_FIELDS, *SET_FIELDS, "episode_date"):
            if normalised(expected[name]) == normalised(actual[name]):
                continue
            line = (
                f"{expected['scenario']}: {name} expected {expected[name]!r}, got {actual[name]!r}"
            )
            if expected.get("ambiguous") or name in excluded:
                report.ambiguous.append(line)
            else:
                report.disagreements.append(line)
        if expected.get("ambiguous"):
            continue
        for name in BOOLEAN_FIELDS:
            if name not in excluded:
                report.booleans[name].add(expected[name], bool(actual[name]))
        for name in SET_FIELDS:
            if name not in excluded:
                same = normalised(expected[name]) == normalised(actual[name])
                report.sets[name].add(same)
                if name == "metastatic_sites" and (expected[name] or actual[name]):
                    report.sites_on_episodes.add(same)
        if "episode_date" not in excluded:
            if expected["episode_date"] is None:
                report.no_episode_no_date.add(actual["episode_date"] is None)
            else:
                report.episode_within_60_days.add(
                    actual["episode_date"] is not None
                    and abs(
                        dt.date.fromisoformat(actual["episode_date"])
                        - dt.date.fromisoformat(expected["episode_date"])
                    )
                    <= DATE_WINDOW
                )
    return report


@pytest.fixture(scope="module")
def expected_rows() -> list[Row]:
    lines = (HERE / "expected.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def actual_rows() -> list[Row]:
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "classify", str(SCENARIOS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"rmbc classify failed ({done.returncode}):\n{done.stderr}"
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def report(expected_rows: list[Row], actual_rows: list[Row]) -> Report:
    found = compare(expected_rows, actual_rows)
    print("\n" + found.table())
    return found


def test_the_committed_scenarios_are_what_the_builder_writes(tmp_path: Path) -> None:
    build_scenarios.write(tmp_path)
    written = sorted(p.name for p in (tmp_path / "scenarios").iterdir())
    committed = sorted(p.name for p in SCENARIOS.iterdir())
    assert written == committed
    _, mismatch, errors = filecmp.cmpfiles(
        tmp_path / "scenarios", SCENARIOS, written, shallow=False
    )
    assert mismatch == [] and errors == []
    assert (tmp_path / "expected.jsonl").read_text() == (HERE / "expected.jsonl").read_text()


def test_the_set_holds_at_least_fifty_patients_with_unique_keys(expected_rows: list[Row]) -> None:
    keys = [row["patient"] for row in expected_rows]
    assert len(keys) >= 50
    assert len(set(keys)) == len(keys)


def test_every_patient_in_the_set_is_reported_once_and_no_other(
    actual_rows: list[Row], report: Report
) -> None:
    keys = [row["patient"] for row in actual_rows]
    assert len(set(keys)) == len(keys), "a patient was reported twice"
    assert report.missing == [], report.table()
    assert report.unexpected == [], report.table()


def test_metastatic_sensitivity_and_ppv_reach_0_98(report: Report) -> None:
    counts = report.booleans["metastatic"]
    assert counts.sensitivity >= 0.98 and counts.ppv >= 0.98, report.table()


def test_recurrence_sensitivity_and_ppv_reach_0_95(report: Report) -> None:
    counts = report.booleans["recurrence"]
    assert counts.sensitivity >= 0.95 and counts.ppv >= 0.95, report.table()


def test_exact_site_sets_reach_0_95(report: Report) -> None:
    assert report.sets["metastatic_sites"].rate >= 0.95, report.table()
    assert report.sites_on_episodes.rate >= 0.95, report.table()


def test_episode_dates_within_60_days_reach_0_95(report: Report) -> None:
    assert report.episode_within_60_days.rate >= 0.95, report.table()


def test_a_later_separate_episode_gets_its_own_flag(
    expected_rows: list[Row], actual_rows: list[Row]
) -> None:
    actual_by_patient = {row["patient"]: row for row in actual_rows}
    counted = {
        row["scenario"]: len(
            {
                flag["episode"]
                for flag in actual_by_patient.get(row["patient"], NOTHING)["flags"]
                if flag["state"] != "retracted" and not flag.get("needs_review")
            }
        )
        for row in expected_rows
        if "episodes" in row
    }
    wanted = {row["scenario"]: row["episodes"] for row in expected_rows if "episodes" in row}
    assert counted == wanted
