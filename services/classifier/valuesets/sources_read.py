"""Concepts out of a source list: a FHIR ValueSet with an expansion, or a CSV code list with a
code column (`code` or `id`) and a term column (`term` or `name`), as OpenCodelists exports them."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from services.classifier.valuesets.load import SNOMED
from services.classifier.valuesets.meanings import Concept


def read_source(path: Path, hint: str | None) -> Iterator[Concept]:
    if path.suffix == ".json":
        yield from expansion_concepts(orjson.loads(path.read_bytes()), hint)
    else:
        yield from csv_concepts(path.read_text(encoding="utf-8-sig"), hint)


def expansion_concepts(resource: dict[str, Any], hint: str | None) -> Iterator[Concept]:
    for entry in (resource.get("expansion") or {}).get("contains") or []:
        if entry.get("system") == SNOMED and entry.get("code"):
            yield Concept(str(entry["code"]), str(entry.get("display") or ""), hint)


def csv_concepts(text: str, hint: str | None) -> Iterator[Concept]:
    for row in csv.DictReader(io.StringIO(text)):
        code = (row.get("code") or row.get("id") or "").strip()
        if code.isdigit():
            yield Concept(code, (row.get("term") or row.get("name") or "").strip(), hint)
