"""Coverage of real SNOMED CT codes: one minimal patient per concept of a public code list, run
through `rmbc classify`'s engine (services/classifier/offline.py), scored by meaning and site.

    .venv/bin/python -m tests.terminology.coverage        (prints the figures)

Patients (onsets fixed; a remission documented before any later evidence, so a recurrence can be
told from progression):
- breast primary X: X in 2020 (in remission 2021) and a bone secondary in 2022 -> metastatic, bone;
- secondary X: a breast primary (254837009) in 2020 (remission 2021) and X in 2022 -> the expected
  recurrence type and COSD site (distant: metastatic at that site; regional: regional nodes; local:
  local, no site);
- other primary X: X in 2019, a breast primary in 2020 (remission 2021) and an unlinked bone
  secondary in 2022 -> the episode asks for review because another primary is on record;
- non-cancer X: a breast primary in 2020 (remission 2021) and X in 2022 -> no flag at all.
"""

from __future__ import annotations

import csv
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from services.classifier.offline import classify_resources
from services.classifier.terminology import _DATA, Terminology, load_terminology
from services.classifier.valuesets.build import (
    SOURCES,
    assign,
    load_rules,
    read_sources,
    value_sets,
)
from services.classifier.valuesets.load import meaning_of
from services.classifier.valuesets.sources_read import read_source
from tests.terminology.oracle import Expectation, expect

LISTS = Path(__file__).with_name("lists")
SNOMED = "http://snomed.info/sct"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
BREAST, BONE = "254837009", "94222008"
CATEGORIES = ("breast_primary", "secondary", "other_primary", "non_cancer")

NON_CANCER_LISTS = [
    LISTS / f"nhsd-primary-care-domain-refsets-{name}_cod.csv"
    for name in ("afib", "ast", "chd", "copd", "dem", "dm", "epil", "hf", "hyp", "osteo", "strk")
]


@dataclass
class Tally:
    total: int = 0
    right: int = 0
    wrong: int = 0  # a flag with another meaning or site (or any flag for a non-cancer concept)
    misses: list[str] = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.right / self.total if self.total else 1.0


@dataclass
class Coverage:
    tallies: dict[str, Tally]
    left_out: int
    unseen_by_build: Counter[str]

    def table(self, title: str) -> str:
        lines = [title, f"{'category':<16}{'right':>7}{'of':>7}{'share':>8}{'wrong':>7}{'new':>7}"]
        for name, tally in self.tallies.items():
            lines.append(
                f"{name:<16}{tally.right:>7}{tally.total:>7}{tally.share:>8.3f}{tally.wrong:>7}"
                f"{self.unseen_by_build[name]:>7}"
            )
        lines.append(f"left out as debatable or not a disorder: {self.left_out}")
        lines.append(
            "new = concepts in neither the mCODE expansions nor the NHS PCD cancer refsets"
        )
        return "\n".join(lines)


def read_list(path: Path) -> list[tuple[str, str]]:
    """(code, term) pairs of a CSV code list or a FHIR expansion; an expansion's displays have no
    semantic tag, so they are read as the disorders the value set holds."""
    if path.suffix == ".json":
        return [
            (c.code, f"{c.term} (disorder)" if not c.term.endswith(")") else c.term)
            for c in read_source(path, None)
        ]
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    pairs = [
        ((r.get("code") or r.get("id") or ""), (r.get("term") or r.get("name") or "")) for r in rows
    ]
    return [(code.strip(), term.strip()) for code, term in pairs if code.strip().isdigit()]


def scored_lists() -> list[tuple[Path, str]]:
    """The OpenSAFELY cancer lists (filed as cancer) and the NHS PCD non-cancer refsets."""
    cancer = [(SOURCES / s.file, "cancer") for s in read_sources(SOURCES) if s.scored]
    return cancer + [(path, "non_cancer") for path in NON_CANCER_LISTS]


def expectations(
    lists: Iterable[tuple[Path, str]],
) -> tuple[dict[str, tuple[str, Expectation]], int]:
    """code -> (term, expectation) over the lists (a code in two lists: the first), and how
    many concepts were left out as debatable or not disorders."""
    concepts: dict[str, tuple[str, Expectation]] = {}
    left_out = 0
    for path, category in lists:
        for code, term in read_list(path):
            if code in concepts:
                continue
            expectation = expect(term, category)
            if expectation is None:
                left_out += 1
            else:
                concepts[code] = (term, expectation)
    return concepts, left_out


def unscored_source_lists() -> list[tuple[Path, str]]:
    """The build's other sources (mCODE expansions, NHS PCD cancer refsets), as CSV-like pairs."""
    return [(SOURCES / s.file, "cancer") for s in read_sources(SOURCES) if not s.scored]


def measure(
    concepts: dict[str, tuple[str, Expectation]], terms: Terminology, left_out: int = 0
) -> Coverage:
    built = {
        c.code for source in read_sources(SOURCES) if not source.scored for c in source.concepts
    }
    resources: list[dict[str, Any]] = []
    for number, (code, (_, expectation)) in enumerate(sorted(concepts.items())):
        resources.extend(patient(f"p{number}", code, expectation.category))
    rows = {row["patient"]: row for row in classify_resources(resources, terms, NOW)}
    tallies = {name: Tally() for name in CATEGORIES}
    unseen: Counter[str] = Counter()
    for number, (code, (term, expectation)) in enumerate(sorted(concepts.items())):
        tally = tallies[expectation.category]
        tally.total += 1
        unseen[expectation.category] += code not in built
        verdict = judge(expectation, rows.get(f"Patient/p{number}", {}))
        if verdict == "right":
            tally.right += 1
            continue
        tally.wrong += verdict == "wrong"
        tally.misses.append(f"{verdict}: {code} {term} (expected {expectation})")
    return Coverage(tallies, left_out, unseen)


def patient(pid: str, code: str, category: str) -> list[dict[str, Any]]:
    if category == "breast_primary":
        return [
            _condition(pid, "a", code, "2020-01-01", True),
            _condition(pid, "b", BONE, "2022-06-01"),
        ]
    primary = _condition(pid, "a", BREAST, "2020-01-01", True)
    if category == "other_primary":
        other = _condition(pid, "o", code, "2019-06-01")
        return [primary, other, _condition(pid, "b", BONE, "2022-06-01")]
    return [primary, _condition(pid, "b", code, "2022-06-01")]


def judge(expectation: Expectation, row: dict[str, Any]) -> str:
    """right | missed (no flag, or the concept not read) | wrong (a flag saying something else)."""
    flags = row.get("flags") or []
    if expectation.category == "non_cancer":
        return "wrong" if flags else "right"
    if not row.get("breast_primary") or not flags:
        return "missed"
    if expectation.category == "other_primary":
        reason = flags[-1].get("review_reason") or ""
        return "right" if "another primary" in reason else "missed"
    if expectation.category == "breast_primary":
        got = (row["metastatic"], row["metastatic_sites"])
        return "right" if got == (True, ["bone"]) else "wrong"
    want = {
        "distant": (True, ["distant"], [expectation.site]),
        "regional": (False, ["regional"], ["regional_lymph_nodes"]),
        "local": (False, ["local"], []),
    }[expectation.scope or "distant"]
    got = (row["metastatic"], row["recurrence_types"], row["metastatic_sites"])
    return "right" if got == want else "wrong"


def _condition(
    pid: str, rid: str, code: str, onset: str, remission: bool = False
) -> dict[str, Any]:
    status = "remission" if remission else "active"
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": f"{pid}-{rid}",
        "subject": {"reference": f"Patient/{pid}"},
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": status,
                }
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed",
                }
            ]
        },
        "code": {"coding": [{"system": SNOMED, "code": code}]},
        "onsetDateTime": onset,
    }
    if remission:
        resource["abatementDateTime"] = "2021-01-01"
    return resource


def anchors_only() -> Terminology:
    """The terminology before the value sets: terminology.json alone (the issue's 'before')."""
    return Terminology(json.loads(_DATA.read_text(encoding="utf-8")), {})


def without_scored_lists() -> Terminology:
    """Value sets built in memory from the sources the suite does not score against (mCODE, NHS
    PCD cancer refsets): the independent figure."""
    sources = [s for s in read_sources(SOURCES) if not s.scored]
    resources = value_sets(assign(sources, load_rules()), sources, "independent", "")
    table = {
        entry["code"]: meaning_of(entry)
        for resource in resources.values()
        for entry in resource["expansion"]["contains"]
    }
    return Terminology(json.loads(_DATA.read_text(encoding="utf-8")), table)


def runs() -> list[tuple[str, Coverage]]:
    scored, left_out = expectations(scored_lists())
    own, own_left_out = expectations(unscored_source_lists())
    return [
        (
            "OpenSAFELY + PCD non-cancer lists, before (terminology.json only)",
            measure(scored, anchors_only(), left_out),
        ),
        (
            "OpenSAFELY + PCD non-cancer lists, value sets built without them (independent)",
            measure(scored, without_scored_lists(), left_out),
        ),
        (
            "OpenSAFELY + PCD non-cancer lists, shipped value sets (built from them too)",
            measure(scored, load_terminology(), left_out),
        ),
        (
            "mCODE + PCD cancer source lists, shipped value sets",
            measure(own, load_terminology(), own_left_out),
        ),
    ]


def main() -> None:
    print("\n\n".join(coverage.table(title) for title, coverage in runs()))


if __name__ == "__main__":
    main()
