"""Which records go in a month's COSD file (pure).

A record belongs to the month it was recorded in. An episode (flag) changed in a later month is
resubmitted in that month's file as its latest version, under the same COSD record id (the flag id),
so the registry replaces what it had; see services/registry/README.md. A rules proposal made after
the MDT agreed the episode never goes (services/registry/standing.py)."""

from collections.abc import Iterable
from datetime import date

from services.registry.standing import standing_records
from shared.events import RegistryRecordV2


def month_bounds(month: str) -> tuple[date, date]:
    """`YYYY-MM` -> first and last day of that month."""
    first = date.fromisoformat(f"{month}-01")
    following = date(first.year + first.month // 12, first.month % 12 + 1, 1)
    return first, date.fromordinal(following.toordinal() - 1)


def records_for_month(
    records: Iterable[RegistryRecordV2], month: str, *, agreed_only: bool = False
) -> list[RegistryRecordV2]:
    """The latest version, within the month, of each episode recorded in it; ordered by record."""
    first, last = month_bounds(month)
    latest: dict[str, RegistryRecordV2] = {}
    for record in standing_records(records):
        if not first <= record.recorded_at.date() <= last:
            continue
        if agreed_only and record.provenance != "agreed":
            continue
        held = latest.get(record.flag_id)
        if held is None or record.recorded_at >= held.recorded_at:
            latest[record.flag_id] = record
    return sorted(latest.values(), key=lambda r: (r.recorded_at, r.flag_id))
