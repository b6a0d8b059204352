"""The registry analyst's figures from v2 records (pure: records in, numbers out).

Episodes counted once: the latest version of each episode (flag) that stands (a rules proposal made
after the MDT agreed the episode does not); withdrawn episodes are left out.
An episode's date is its CR6500 (non-primary) or, for de novo disease, the record's episode date."""

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from services.registry.standing import standing_records
from shared.events import RegistryRecordV2

SITE_NAMES = {
    "02": "brain",
    "03": "liver",
    "04": "lung",
    "07": "unknown",
    "08": "skin",
    "09": "distant lymph nodes",
    "10": "bone",
    "11": "bone marrow",
    "12": "regional lymph nodes",
    "97": "not applicable",
    "98": "other",
}
TYPE_NAMES = {"01": "local", "02": "regional", "03": "distant"}


@dataclass(frozen=True)
class Episode:
    month: str
    kind: str  # recurrence | progression | de novo
    types: tuple[str, ...]
    sites: tuple[str, ...]
    recurrence_free_days: int | None
    evidence_to_record_days: float
    complete: bool
    agreed: bool
    incomplete_items: tuple[str, ...]


def current_episodes(records: Iterable[RegistryRecordV2]) -> list[RegistryRecordV2]:
    latest: dict[str, RegistryRecordV2] = {}
    for record in standing_records(records):
        held = latest.get(record.flag_id)
        if held is None or record.recorded_at >= held.recorded_at:
            latest[record.flag_id] = record
    return [r for r in latest.values() if r.action != "withdraw"]


def episode(record: RegistryRecordV2) -> Episode:
    pairs: list[tuple[str, str]]
    if record.primary is not None:
        kind = "de novo"
        pairs = [
            (m.cr6960_metastatic_type, m.cr6970_metastatic_site)
            for m in record.primary.metastases_at_diagnosis
        ]
    else:
        items = record.recurrence or record.progression
        kind = "recurrence" if record.recurrence is not None else "progression"
        pairs = (
            [(m.cr6520_metastatic_type, m.cr1590_metastatic_site) for m in items.metastases]
            if items
            else []
        )
    episode_date = record.occurred_at.date()
    start = record.original_primary_diagnosis_date
    interval = (episode_date - start).days if kind == "recurrence" and start is not None else None
    return Episode(
        month=episode_date.strftime("%Y-%m"),
        kind=kind,
        types=tuple(sorted({TYPE_NAMES[t] for t, _ in pairs})),
        sites=tuple(SITE_NAMES[s] for _, s in pairs if s != "97"),
        recurrence_free_days=interval,
        evidence_to_record_days=(record.recorded_at - record.occurred_at).total_seconds() / 86400,
        complete=not record.incomplete_items,
        agreed=record.provenance == "agreed",
        incomplete_items=tuple(record.incomplete_items),
    )


def episodes_between(
    records: Iterable[RegistryRecordV2], start: date | None, end: date | None
) -> list[Episode]:
    chosen = []
    for record in current_episodes(records):
        day = record.occurred_at.date()
        if (start is None or day >= start) and (end is None or day <= end):
            chosen.append(episode(record))
    return sorted(chosen, key=lambda e: e.month)


def by_month_and_kind(episodes: list[Episode]) -> Counter[tuple[str, str]]:
    return Counter((e.month, e.kind) for e in episodes)


def by_site(episodes: list[Episode]) -> Counter[tuple[str, str]]:
    return Counter((e.kind, site) for e in episodes for site in e.sites)


def by_type(episodes: list[Episode]) -> Counter[tuple[str, str]]:
    return Counter((e.kind, t) for e in episodes for t in e.types)


@dataclass(frozen=True)
class Completeness:
    records: int
    complete: int
    agreed: int
    missing_by_item: dict[str, int]


def completeness(episodes: list[Episode]) -> Completeness:
    missing = Counter(item for e in episodes for item in e.incomplete_items)
    return Completeness(
        records=len(episodes),
        complete=sum(e.complete for e in episodes),
        agreed=sum(e.agreed for e in episodes),
        missing_by_item=dict(sorted(missing.items())),
    )
