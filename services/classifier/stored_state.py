"""A patient's state as stored: two JSON documents on two lines. The head (record keys and
demographics) is read by every event; the body (record rows and emitted flags, `stored_rows.py`)
only by an event that changes a record, since most of a feed changes none. A body nothing changed
is written back as it was read: encoding is the dear part. The single document stored before the
split is still read, and written back in the new form.
"""

from collections.abc import Iterator, Mapping
from typing import Any

import orjson

from services.classifier.records import Emitted, Record, Records
from services.classifier.stored_rows import (
    emitted_from_row,
    emitted_row,
    record_from_row,
    record_row,
)

Parts = tuple[Records, dict[str, Any], Mapping[int, Emitted]]
"""A state's records, demographics and emitted flags."""


class StoredBody:
    """The record rows and emitted flags of one stored state. Read once, on first use; the
    records decoded from it are remembered, so that a row is written back as it was read while
    its record is unchanged."""

    __slots__ = ("_by_key", "_data", "_read", "decoded", "keys")

    def __init__(
        self, keys: list[str], data: bytes | None = None, read: dict[str, Any] | None = None
    ) -> None:
        self.keys = keys  # the stored records' keys, in the order of their rows
        self._data, self._read = data, read
        self._by_key: dict[str, dict[str, Any]] | None = None
        self.decoded: dict[str, Record] = {}

    def read(self) -> dict[str, Any]:
        if self._read is None:
            self._read = orjson.loads(self._data or b"{}")
        return self._read

    def row(self, key: str) -> dict[str, Any]:
        if self._by_key is None:
            self._by_key = dict(zip(self.keys, self.read().get("r", []), strict=True))
        return self._by_key[key]

    def record(self, key: str) -> Record:
        record = self.decoded[key] = record_from_row(key, self.row(key))
        return record

    def encoded(self) -> bytes | None:
        """The body as stored, when it was read from bytes."""
        return self._data


class _Unread:
    """A record whose row is still in the stored body."""


_UNREAD = _Unread()


class StoredRecords(Records):
    """Records by resource key, each decoded from its stored row on first use: until then its
    entry is `_UNREAD`, which `__getitem__` replaces. Most events are routine observations that
    touch no record: they need the keys, never the rows."""

    __slots__ = ("_as_stored", "_body")

    def __init__(
        self, entries: "dict[str, Record | _Unread]", body: StoredBody, as_stored: bool = False
    ) -> None:
        # `_UNREAD` entries too, replaced in __getitem__ (set here: no call per state read)
        self._entries = entries  # type: ignore[assignment]
        self._body, self._as_stored = body, as_stored

    @classmethod
    def of(cls, body: StoredBody) -> "StoredRecords":
        return cls(dict.fromkeys(body.keys, _UNREAD), body, as_stored=True)

    def __getitem__(self, key: str) -> Record:
        entry: Record | _Unread = self._entries[key]
        if isinstance(entry, Record):
            return entry
        record = self._entries[key] = self._body.record(key)
        return record

    def with_record(self, record: Record) -> "StoredRecords":
        return StoredRecords({**self._entries, record.fact.key: record}, self._body)

    def unchanged_body(self) -> StoredBody | None:
        """The stored body these records came from, if they are exactly its records."""
        return self._body if self._as_stored else None

    def rows(self) -> list[dict[str, Any]]:
        """The stored form, in key order; rows of unchanged records are written back as read."""
        return [self._row(key, entry) for key, entry in self._entries.items()]

    def _row(self, key: str, entry: "Record | _Unread") -> dict[str, Any]:
        if isinstance(entry, _Unread) or self._body.decoded.get(key) is entry:
            return self._body.row(key)
        return record_row(entry)


class StoredEmitted(Mapping[int, Emitted]):
    """The emitted flags as stored, decoded on first use: only an event that changes a record
    compares flags, and most events change none."""

    __slots__ = ("_body", "_decoded")

    def __init__(self, body: StoredBody) -> None:
        self._body = body
        self._decoded: dict[int, Emitted] | None = None

    def _flags(self) -> dict[int, Emitted]:
        if self._decoded is None:
            rows = self.rows().items()
            self._decoded = {int(n): emitted_from_row(row) for n, row in rows}
        return self._decoded

    def __getitem__(self, number: int) -> Emitted:
        return self._flags()[number]

    def __iter__(self) -> Iterator[int]:
        return iter(self._flags())

    def __len__(self) -> int:
        return len(self._flags())

    def __repr__(self) -> str:
        return repr(self._flags())

    def rows(self) -> dict[str, list[Any]]:
        rows: dict[str, list[Any]] = self._body.read().get("f", {})
        return rows

    def from_body(self, body: StoredBody) -> bool:
        return self._body is body


def written(records: Records, patient: dict[str, Any], emitted: Mapping[int, Emitted]) -> bytes:
    """The stored form of a state's parts: head, newline, body."""
    head = orjson.dumps({"k": list(records), "p": patient})
    return head + b"\n" + _body(records, emitted)


def _body(records: Records, emitted: Mapping[int, Emitted]) -> bytes:
    if isinstance(records, StoredRecords):
        stored = records.unchanged_body()
        if stored is not None and isinstance(emitted, StoredEmitted) and emitted.from_body(stored):
            encoded = stored.encoded()
            if encoded is not None:
                return encoded  # demographics changed, nothing else: the body as it was read
        rows = records.rows()
    else:
        rows = [record_row(record) for record in records.values()]
    return orjson.dumps({"r": rows, "f": _emitted_rows(emitted)})


def _emitted_rows(emitted: Mapping[int, Emitted]) -> dict[str, list[Any]]:
    if isinstance(emitted, StoredEmitted):
        return emitted.rows()
    return {str(n): emitted_row(e) for n, e in emitted.items()}


def read(data: bytes) -> Parts:
    """A state's parts from its stored form, in any form ever stored; `data` is not empty."""
    head_end = data.find(b"\n")  # JSON as orjson writes it has no raw newline
    if head_end < 0:
        return _single_document(data)
    head = orjson.loads(data[:head_end])
    body = StoredBody(head.get("k", []), data[head_end + 1 :])
    return StoredRecords.of(body), head.get("p", {}), StoredEmitted(body)


def _single_document(data: bytes) -> Parts:
    """The form stored before the head and body were split: one document, keys in the rows."""
    raw = orjson.loads(data)
    rows = raw.get("r", [])
    keys = [row.pop("k") for row in rows]
    body = StoredBody(keys, read={"r": rows, "f": raw.get("f", {})})
    return StoredRecords.of(body), raw.get("p", {}), StoredEmitted(body)
