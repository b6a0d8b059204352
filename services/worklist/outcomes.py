"""The figures the 2012 pilot could not get (pure): how fast the CNS team acknowledges alerts,
and how often the MDT agrees with rmbc, by kind and site.

`due` gives an alert's acknowledgement deadline (working days, England bank holidays: the
worklist's `overdue` module); `now` is passed in. Percentiles are nearest-rank.
"""

import math
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from services.worklist.items import WorklistItem

Deadline = Callable[[datetime], datetime]
MDT_DECISIONS = ("confirmed", "not_confirmed")


@dataclass(frozen=True)
class Outcomes:
    acknowledged_in_time: int
    acknowledgement_due: int
    hours_to_acknowledge_median: float | None
    hours_to_acknowledge_p90: float | None
    by_kind: dict[tuple[str, str], int]  # (kind, confirmed | not_confirmed) -> items
    by_site: dict[tuple[str, str], int]  # (site, confirmed | not_confirmed) -> items
    open_overdue: int

    @property
    def share_acknowledged_in_time(self) -> float | None:
        if not self.acknowledgement_due:
            return None
        return self.acknowledged_in_time / self.acknowledgement_due

    def precision(self, kind: str) -> float | None:
        """Of the findings of `kind` the MDT decided on, the share it confirmed."""
        confirmed = self.by_kind.get((kind, "confirmed"), 0)
        decided = confirmed + self.by_kind.get((kind, "not_confirmed"), 0)
        return confirmed / decided if decided else None


def is_overdue(item: WorklistItem, due: Deadline, now: datetime) -> bool:
    return item.needs_acknowledgement and now >= due(item.alerted_at)


def outcomes(items: Iterable[WorklistItem], due: Deadline, now: datetime) -> Outcomes:
    in_time = counted = overdue = 0
    hours: list[float] = []
    by_kind: Counter[tuple[str, str]] = Counter()
    by_site: Counter[tuple[str, str]] = Counter()
    for item in items:
        deadline = due(item.alerted_at)
        acknowledged = item.acknowledged_at
        if acknowledged is not None:
            counted += 1
            in_time += acknowledged <= deadline
            hours.append((acknowledged - item.alerted_at).total_seconds() / 3600)
        elif item.state != "closed" and now >= deadline:
            counted += 1
            overdue += 1
        decision = _mdt_decision(item)
        if decision:
            by_kind[(item.flag.kind, decision)] += 1
            sites: list[str] = list(item.flag.metastatic_sites) or ["none"]
            for site in sites:
                by_site[(site, decision)] += 1
    return Outcomes(
        acknowledged_in_time=in_time,
        acknowledgement_due=counted,
        hours_to_acknowledge_median=_percentile(hours, 50),
        hours_to_acknowledge_p90=_percentile(hours, 90),
        by_kind=dict(by_kind),
        by_site=dict(by_site),
        open_overdue=overdue,
    )


def _mdt_decision(item: WorklistItem) -> str | None:
    """The MDT's latest decision on the item (a later one replaces an earlier one)."""
    decisions = [r.action for r in item.reviews if r.action in MDT_DECISIONS]
    return decisions[-1] if decisions else None


def _percentile(values: list[float], percent: int) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent / 100 * len(ordered)))
    return ordered[rank - 1]


def prometheus_text(figures: Outcomes, trust: str) -> str:
    """The figures in the Prometheus text exposition format, labelled by trust."""
    lines: list[str] = []

    def metric(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        lines.extend([f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"])
        lines.extend(f"{name}{{{labels}}} {value:g}" for labels, value in samples)

    base = f'trust="{trust}"'
    metric(
        "rmbc_worklist_acknowledged_in_time",
        "gauge",
        "Alerts acknowledged within the deadline (working days).",
        [(base, figures.acknowledged_in_time)],
    )
    metric(
        "rmbc_worklist_acknowledgement_due",
        "gauge",
        "Alerts acknowledged, or not acknowledged and past their deadline.",
        [(base, figures.acknowledgement_due)],
    )
    for name, value in (
        ("median", figures.hours_to_acknowledge_median),
        ("p90", figures.hours_to_acknowledge_p90),
    ):
        if value is not None:
            metric(
                f"rmbc_worklist_hours_to_acknowledge_{name}",
                "gauge",
                f"Hours from the CNS alert to acknowledgement, {name}.",
                [(base, value)],
            )
    metric(
        "rmbc_worklist_mdt_decisions_by_kind",
        "gauge",
        "Findings the MDT confirmed or did not confirm, by rmbc's kind.",
        [(f'{base},kind="{k}",decision="{d}"', n) for (k, d), n in sorted(figures.by_kind.items())],
    )
    metric(
        "rmbc_worklist_mdt_decisions_by_site",
        "gauge",
        "Findings the MDT confirmed or did not confirm, by metastatic site.",
        [(f'{base},site="{s}",decision="{d}"', n) for (s, d), n in sorted(figures.by_site.items())],
    )
    metric(
        "rmbc_worklist_open_overdue",
        "gauge",
        "Items not acknowledged past their deadline.",
        [(base, figures.open_overdue)],
    )
    return "\n".join(lines) + "\n"
