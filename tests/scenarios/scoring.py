"""Scores `rmbc classify` output against `expected.jsonl`: per-field sensitivity and PPV, exact
site sets and episode dates within 60 days."""

from dataclasses import dataclass
from datetime import date
from typing import Any

FIELDS = ("breast_primary", "recurrence", "metastatic", "de_novo_metastatic")
DATE_TOLERANCE_DAYS = 60


@dataclass
class Score:
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0

    @property
    def sensitivity(self) -> float:
        found = self.true_positive + self.false_negative
        return self.true_positive / found if found else 1.0

    @property
    def ppv(self) -> float:
        called = self.true_positive + self.false_positive
        return self.true_positive / called if called else 1.0


@dataclass
class Report:
    fields: dict[str, Score]
    site_sets_exact: float
    types_exact: float
    dates_within: float
    mismatches: list[str]

    def table(self) -> str:
        lines = [f"{'field':<22}{'TP':>5}{'FP':>5}{'FN':>5}{'sens':>8}{'PPV':>8}"]
        for name, s in self.fields.items():
            lines.append(
                f"{name:<22}{s.true_positive:>5}{s.false_positive:>5}{s.false_negative:>5}"
                f"{s.sensitivity:>8.3f}{s.ppv:>8.3f}"
            )
        lines.append(f"{'exact site sets':<22}{self.site_sets_exact:>31.3f}")
        lines.append(f"{'exact recurrence types':<22}{self.types_exact:>31.3f}")
        lines.append(f"{'episode date +-60 days':<22}{self.dates_within:>31.3f}")
        return "\n".join(lines)


def score(expected: list[dict[str, Any]], actual: dict[str, dict[str, Any]]) -> Report:
    fields = {name: Score() for name in FIELDS}
    sites = types = dates = 0
    mismatches = []
    for truth in expected:
        got = actual.get(truth["patient"], {})
        for name in FIELDS:
            want, have = bool(truth[name]), bool(got.get(name))
            s = fields[name]
            s.true_positive += want and have
            s.false_positive += have and not want
            s.false_negative += want and not have
        site_ok = sorted(got.get("metastatic_sites", [])) == truth["metastatic_sites"]
        type_ok = sorted(got.get("recurrence_types", [])) == truth["recurrence_types"]
        date_ok = _close(truth["episode_date"], got.get("episode_date"))
        sites, types, dates = sites + site_ok, types + type_ok, dates + date_ok
        wrong = [n for n in FIELDS if bool(truth[n]) != bool(got.get(n))]
        wrong += [] if site_ok else ["metastatic_sites"]
        wrong += [] if type_ok else ["recurrence_types"]
        wrong += [] if date_ok else ["episode_date"]
        if wrong:
            mismatches.append(f"{truth['scenario']}: {', '.join(wrong)} (got {got})")
    n = len(expected) or 1
    return Report(fields, sites / n, types / n, dates / n, mismatches)


def _close(want: str | None, have: str | None) -> bool:
    if want is None or have is None:
        return want == have
    delta = date.fromisoformat(want) - date.fromisoformat(have)
    return abs(delta.days) <= DATE_TOLERANCE_DAYS
