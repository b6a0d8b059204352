"""One record, or one emitted flag, as a row of the stored state: short keys, abbreviated code
systems and words, defaults left out, so that a typical patient stays well under 1 KB. Rows
written by every earlier version are read (`stored_state.py` holds the documents around them)."""

from collections.abc import Callable
from dataclasses import fields
from datetime import date
from typing import Any

from services.classifier.facts import Fact
from services.classifier.records import Emitted, HistoryEntry, Record

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
    "text": "w",
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


def record_row(record: Record) -> dict[str, Any]:
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


def record_from_row(key: str, row: dict[str, Any]) -> Record:
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
    return Record(fact, history)


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


def emitted_row(emitted: Emitted) -> list[Any]:
    content = {k: v for k, v in emitted.content.items() if _CONTENT_DEFAULTS.get(k, ...) != v}
    content.pop("primary", None)  # the digest covers it; a retraction takes the current one
    return [emitted.revision, emitted.state, emitted.digest, content, emitted.evidence]


def emitted_from_row(row: list[Any]) -> Emitted:
    return Emitted(row[0], row[1], row[2], {**_CONTENT_DEFAULTS, **row[3]}, tuple(row[4]))
