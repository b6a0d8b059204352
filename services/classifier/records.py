"""What the classifier keeps of a patient's resources: each resource's latest facts with a short
version history, and the last flag emitted per episode. Values only: how they are stored is
`stored_state.py`."""

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from services.classifier.facts import Fact, VersionKey
from services.classifier.immutable import immutable

HistoryEntry = tuple[VersionKey, str | None, date | None]
"""(version key, clinical status meaning, abatement date) of one Condition version."""


@immutable
class Record:
    fact: Fact
    history: tuple[HistoryEntry, ...] = ()


@immutable
class Emitted:
    """The last flag emitted for one episode: enough to detect change and to retract it."""

    revision: int
    state: str
    digest: str
    content: dict[str, Any]
    evidence: tuple[str, ...]


class Records(Mapping[str, Record]):
    """Records by resource key; `with_record` gives the mapping with one record put in."""

    __slots__ = ("_entries",)

    def __init__(self, entries: dict[str, Record] | None = None) -> None:
        self._entries = entries if entries is not None else {}

    def __getitem__(self, key: str) -> Record:
        return self._entries[key]

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Records({dict(self)!r})"

    def with_record(self, record: Record) -> "Records":
        return Records({**self._entries, record.fact.key: record})
