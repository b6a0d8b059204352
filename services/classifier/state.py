"""A patient's compact state: the facts of each resource's latest version, a short version
history (for status flips and remissions), demographics, and the flags already emitted.

Stored as compact JSON (well under 1 KB for a typical patient), in two documents on two lines: a
head of record keys and demographics, which every event reads, and a body of record rows and
emitted flags, read only by an event that changes a record (most of a feed changes none). Applying
the same version twice changes nothing, and versions may arrive in any order: the highest version
key wins.
"""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import field, fields
from datetime import date
from typing import Any

import orjson

from services.classifier.bounds import MAX_TEXT, cut
from services.classifier.facts import Fact, VersionKey
from services.classifier.immutable import immutable
from shared.events import PatientContext

HistoryEntry = tuple[VersionKey, str | None, date | None]
"""(version key, clinical status meaning, abatement date) of one Condition version."""


@immutable
class Record:
    fact: Fact
    history: tuple[HistoryEntry, ...] = ()
    row: dict[str, Any] | None = field(default=None, compare=False, repr=False)
    """The stored row this record was decoded from, written back as it is (encoding is dear)."""


@immutable
class Emitted:
    """The last flag emitted for one episode: enough to detect change and to retract it."""

    revision: int
    state: str
    digest: str
    content: dict[str, Any]
    evidence: tuple[str, ...]


class StoredBody:
    """The part of a stored state that only an event changing a record needs: the record rows and
    the emitted flags. Read once, on first use; written back as it was while nothing in it changed."""

    __slots__ = ("_by_key", "_data", "_read", "keys")

    def __init__(
        self, keys: list[str], data: bytes | None = None, read: dict[str, Any] | None = None
    ) -> None:
        self.keys = keys  # the stored records' keys, in the order of their rows
        self._data, self._read = data, read
        self._by_key: dict[str, dict[str, Any]] | None = None

    def read(self) -> dict[str, Any]:
        if self._read is None:
            self._read = orjson.loads(self._data or b"{}")
        return self._read

    def row(self, key: str) -> dict[str, Any]:
        if self._by_key is None:
            self._by_key = dict(zip(self.keys, self.read().get("r", []), strict=True))
        return self._by_key[key]

    def encoded(self) -> bytes | None:
        """The body as stored, when it was read from bytes."""
        return self._data


class _Unread:
    """A record whose row is still in the stored body."""


_UNREAD = _Unread()


class Records(Mapping[str, Record]):
    """Records by resource key, each decoded from its stored row on first use. Most events are
    routine observations that touch no record: they need the keys, never the rows."""

    __slots__ = ("_as_stored", "_body", "_entries")

    def __init__(
        self,
        entries: "dict[str, Record | _Unread] | None" = None,
        body: StoredBody | None = None,
        as_stored: bool = False,
    ) -> None:
        self._entries = entries if entries is not None else {}
        self._body, self._as_stored = body, as_stored

    @classmethod
    def stored(cls, body: StoredBody) -> "Records":
        return cls(dict.fromkeys(body.keys, _UNREAD), body, as_stored=True)

    def __getitem__(self, key: str) -> Record:
        entry = self._entries[key]
        if isinstance(entry, Record):
            return entry
        record = self._entries[key] = _record_from_row(key, self._row(key))
        return record

    def _row(self, key: str) -> dict[str, Any]:
        assert self._body is not None
        return self._body.row(key)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Records({dict(self)!r})"

    def with_record(self, record: Record) -> "Records":
        entries = {**self._entries, record.fact.key: record}
        return Records(entries, self._body)

    def unchanged_body(self) -> StoredBody | None:
        """The stored body these records came from, if they are exactly its records."""
        return self._body if self._as_stored else None

    def rows(self) -> list[dict[str, Any]]:
        """The stored form, in key order; rows never decoded are written back as they were read."""
        return [self._stored_row(key, entry) for key, entry in self._entries.items()]

    def _stored_row(self, key: str, entry: "Record | _Unread") -> dict[str, Any]:
        if isinstance(entry, _Unread):
            return self._row(key)
        return entry.row if entry.row is not None else _record_row(entry)


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
            self._decoded = {int(n): _emitted_from_row(row) for n, row in rows}
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


@immutable
class PatientState:
    """Stored as two JSON documents on two lines: a head that every event reads (record keys,
    demographics) and a body that only an event changing a record reads (record rows, flags)."""

    records: Records = field(default_factory=Records)
    patient: dict[str, Any] = field(default_factory=dict)
    emitted: Mapping[int, Emitted] = field(default_factory=dict)

    def with_fact(self, fact: Fact) -> "PatientState | None":
        """The state with this version applied, or None when it changes nothing (a replay)."""
        current = self.records.get(fact.key)
        if current is None:
            if fact.kind == "irrelevant" and fact.certainty != "void":
                return None
            record = Record(fact, _history((), fact))
        else:
            latest = fact if fact.version >= current.fact.version else current.fact
            record = Record(latest, _history(current.history, fact))
            if record == current:
                return None
        return PatientState(self.records.with_record(record), self.patient, self.emitted)

    def with_patient(self, context: PatientContext) -> "PatientState | None":
        """The state with these demographics merged in; each kept to `MAX_TEXT` characters."""
        known = {
            k: v if len(v) <= MAX_TEXT else cut(v)
            for k, v in context.model_dump(mode="json").items()
            if v is not None
        }
        merged = {**self.patient, **known}
        return None if merged == self.patient else PatientState(self.records, merged, self.emitted)

    def with_emitted(self, emitted: Mapping[int, Emitted]) -> "PatientState":
        return PatientState(self.records, self.patient, emitted)

    def patient_context(self) -> PatientContext:
        return PatientContext.model_validate(self.patient)

    def to_bytes(self) -> bytes:
        head = orjson.dumps({"k": list(self.records), "p": self.patient})
        return head + b"\n" + self._body_bytes()

    def _body_bytes(self) -> bytes:
        stored = self.records.unchanged_body()
        emitted = self.emitted
        if stored is not None and isinstance(emitted, StoredEmitted) and emitted.from_body(stored):
            encoded = stored.encoded()
            if encoded is not None:
                return encoded  # demographics changed, nothing else: the body as it was read
        return orjson.dumps({"r": self.records.rows(), "f": _emitted_rows(emitted)})

    @classmethod
    def from_bytes(cls, data: bytes | None) -> "PatientState":
        if not data:
            return cls()
        head_end = data.find(b"\n")  # JSON as orjson writes it has no raw newline
        if head_end < 0:
            return cls._from_single_document(data)
        head = orjson.loads(data[:head_end])
        body = StoredBody(head.get("k", []), data[head_end + 1 :])
        return cls(Records.stored(body), head.get("p", {}), StoredEmitted(body))

    @classmethod
    def _from_single_document(cls, data: bytes) -> "PatientState":
        """The form stored before the head and body were split: one document, keys in the rows."""
        raw = orjson.loads(data)
        rows = raw.get("r", [])
        keys = [row.pop("k") for row in rows]
        body = StoredBody(keys, read={"r": rows, "f": raw.get("f", {})})
        return cls(Records.stored(body), raw.get("p", {}), StoredEmitted(body))


def _history(history: tuple[HistoryEntry, ...], fact: Fact) -> tuple[HistoryEntry, ...]:
    if not fact.key.startswith("Condition/") or fact.kind == "irrelevant":
        return history
    entry: HistoryEntry = (fact.version, fact.status, fact.abatement)
    if entry in history:
        return history
    return tuple(sorted((*history, entry), key=lambda e: e[0]))


_FACT_FIELDS = [f.name for f in fields(Fact)]
_SHORT = {
    "key": "k",
    "version": "v",
    "version_id": "i",
    "kind": "t",
    "certainty": "c",
    "status": "s",
    "scope": "o",
    "site": "x",
    "ambiguous": "a",
    "laterality": "l",
    "date": "d",
    "abatement": "b",
    "related": "r",
    "system": "y",
    "code": "e",
    "value": "u",
}
_LONG = {short: name for name, short in _SHORT.items()}
_DEFAULTS: dict[str, Any] = {"certainty": "confirmed", "ambiguous": False, "version_id": None}
_SYSTEMS = {
    "http://snomed.info/sct": "S",
    "http://hl7.org/fhir/sid/icd-10": "I",
    "http://loinc.org": "L",
}
_SYSTEM_URLS = {alias: url for url, alias in _SYSTEMS.items()}
_WORDS = {
    "breast_primary": "bp",
    "secondary": "sec",
    "disease_free": "df",
    "recurrence": "rec",
    "active": "act",
    "disease_status": "ds",
    "m_category": "m",
    "distant": "D",
    "regional": "R",
    "non_breast_primary": "nbp",
}
_WORD_FOR = {short: word for word, short in _WORDS.items()}
_ABBREVIATED = ("kind", "status", "scope")


def _encoder(name: str) -> Callable[[Any], Any] | None:
    if name == "system":
        return lambda system: _SYSTEMS.get(system, system)
    if name in _ABBREVIATED:
        return lambda word: _WORDS.get(word, word)
    if name in ("date", "abatement"):
        return date.isoformat
    if name == "version":
        return lambda version: [_stored_number(version[0]), version[1]]
    return None


_LARGEST_STORED_NUMBER = 2**63 - 1  # JSON numbers beyond 64 bits are not read everywhere


def _stored_number(number: int) -> int | str:
    """A version number as stored: a JSON number, or decimal text above 64 bits (a versionId of
    up to 64 digits is a valid FHIR id)."""
    return number if number <= _LARGEST_STORED_NUMBER else str(number)


def _read_number(stored: int | str) -> int:
    return stored if isinstance(stored, int) else int(stored)


_NO_DEFAULT = object()
_ROW_FIELDS = [
    (name, _SHORT[name], _DEFAULTS.get(name, _NO_DEFAULT), _encoder(name))
    for name in _FACT_FIELDS
    if name not in ("key", "version_id")  # the key is in the head
]


def _record_row(record: Record) -> dict[str, Any]:
    fact = record.fact
    row: dict[str, Any] = {}
    for name, short, default, encode in _ROW_FIELDS:
        value = getattr(fact, name)
        if value is None or value == default:
            continue
        row[short] = encode(value) if encode is not None else value
    if fact.version_id is not None and fact.version_id != str(fact.version[0]):
        row["i"] = fact.version_id
    history = record.history
    if history and (len(history) > 1 or history[0][1] or history[0][2]):
        row["h"] = [
            [_stored_number(e[0][0]), e[0][1], e[1], e[2].isoformat() if e[2] else None]
            for e in history
        ]
    return row


def _record_from_row(key: str, row: dict[str, Any]) -> Record:
    values: dict[str, Any] = dict(_DEFAULTS, key=key)
    for short, value in row.items():
        name = _LONG.get(short)
        if name is None:
            continue
        if name in ("date", "abatement"):
            value = date.fromisoformat(value)
        elif name == "version":
            value = (_read_number(value[0]), value[1])
        elif name == "system":
            value = _SYSTEM_URLS.get(value, value)
        elif name in _ABBREVIATED:
            value = _WORD_FOR.get(value, value)
        values[name] = value
    if values.get("version_id") is None and values["version"][0] >= 0:
        values["version_id"] = str(values["version"][0])
    fact = Fact(**values)
    history: tuple[HistoryEntry, ...]
    if "h" in row:
        history = tuple(
            ((_read_number(n), u), s, date.fromisoformat(b) if b else None)
            for n, u, s, b in row["h"]
        )
    elif fact.key.startswith("Condition/") and fact.kind != "irrelevant":
        history = ((fact.version, fact.status, fact.abatement),)
    else:
        history = ()
    return Record(fact, history, row)


_CONTENT_DEFAULTS: dict[str, Any] = {
    "recurrence": False,
    "recurrence_types": [],
    "metastatic": False,
    "de_novo_metastatic": False,
    "metastatic_sites": [],
    "episode_date": None,
    "needs_review": False,
    "review_reason": None,
    "primary": None,
}


def _emitted_rows(emitted: Mapping[int, Emitted]) -> dict[str, list[Any]]:
    if isinstance(emitted, StoredEmitted):
        return emitted.rows()
    return {str(n): _emitted_row(e) for n, e in emitted.items()}


def _emitted_row(emitted: Emitted) -> list[Any]:
    content = {k: v for k, v in emitted.content.items() if _CONTENT_DEFAULTS.get(k, ...) != v}
    content.pop("primary", None)  # the digest covers it; a retraction takes the current one
    return [emitted.revision, emitted.state, emitted.digest, content, emitted.evidence]


def _emitted_from_row(row: list[Any]) -> Emitted:
    return Emitted(row[0], row[1], row[2], {**_CONTENT_DEFAULTS, **row[3]}, tuple(row[4]))
