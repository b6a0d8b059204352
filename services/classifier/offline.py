"""`rmbc classify PATH...`: the stream's rules over files, no Kafka.

Input: FHIR resources, Bundles of any type (nested too), NDJSON, or directories of them (recursive),
in any order. Output: JSON Lines on stdout, one object per patient, sorted by patient. A file that
cannot be read is reported on stderr and skipped; the exit code is then 1. NDJSON is read line by
line and each resource applied as it is read (batch.py): memory follows the number of patients.
"""

__all__ = ["classify_resources", "flatten", "load", "main", "summarise"]

import argparse
import hashlib
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from services.classifier.batch import Batch, classify_resources, summarise
from services.classifier.concept_maps import ENVIRONMENT as CONCEPT_MAPS
from services.classifier.concept_maps import ConceptMapError, with_trust_maps
from services.classifier.terminology import load_terminology

SUFFIXES = (".json", ".ndjson", ".jsonl")


class UnreadableFile(ValueError):
    pass


@dataclass
class Loaded:
    resources: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="rmbc classify",
        description="Classify FHIR R4 files (resources, Bundles, NDJSON, directories) offline "
        "with the stream's rules; prints JSON Lines, one object per patient.",
    )
    parser.add_argument("paths", nargs="+", type=Path, help="files or directories")
    args = parser.parse_args(argv)
    try:  # a trust's ConceptMaps, as the stream reads them
        terms = with_trust_maps(load_terminology(), os.environ.get(CONCEPT_MAPS))
    except ConceptMapError as unusable:
        print(f"rmbc classify: {CONCEPT_MAPS}: {unusable}", file=sys.stderr)
        return 2
    batch, errors = Batch(terms), Loaded()
    for path in _files(args.paths, errors):
        batch.begin()  # a file adds all it holds or, when unreadable, nothing
        try:
            for document in _documents(path):
                for resource in flatten(document):
                    batch.add(resource)
        except UnreadableFile as error:
            batch.discard()
            errors.errors.append(f"{path}: skipped: {error}")
        else:
            batch.commit()
    for message in errors.errors:
        print(f"rmbc classify: {message}", file=sys.stderr)
    for row in batch.rows(datetime.now(UTC)):
        sys.stdout.write(orjson.dumps(row).decode() + "\n")
    return 1 if errors.errors else 0


def load(paths: Iterable[Path]) -> Loaded:
    loaded = Loaded()
    for path in _files(paths, loaded):
        try:
            resources = [r for document in _documents(path) for r in flatten(document)]
        except UnreadableFile as error:
            loaded.errors.append(f"{path}: skipped: {error}")
        else:
            loaded.resources.extend(resources)
    return loaded


def _files(paths: Iterable[Path], loaded: Loaded) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
        elif path.is_file():
            yield path
        else:
            loaded.errors.append(f"{path}: no such file or directory")


def _documents(path: Path) -> Iterator[Any]:
    """The JSON documents of a file, one at a time: a .json file is one document (or, if it is
    not, NDJSON); any other file is NDJSON, read line by line, never whole."""
    try:
        if path.suffix == ".json":
            data = path.read_bytes()
            try:
                yield orjson.loads(data)
            except orjson.JSONDecodeError:
                yield from _ndjson(data.splitlines())
            return
        with path.open("rb") as lines:
            yield from _ndjson(lines)
    except OSError as error:
        raise UnreadableFile(error.strerror or str(error)) from None


def _ndjson(lines: Iterable[bytes]) -> Iterator[Any]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield orjson.loads(line)
        except orjson.JSONDecodeError as error:
            raise UnreadableFile(f"line {number}: not JSON ({error})") from None


def flatten(document: Any) -> list[dict[str, Any]]:
    """Resources out of a resource or a Bundle, with urn:uuid / absolute references rewritten to
    `Type/id` so that a Condition's subject finds the Bundle's Patient."""
    if not isinstance(document, dict) or not isinstance(document.get("resourceType"), str):
        raise UnreadableFile("not a FHIR resource")
    if document["resourceType"] != "Bundle":
        return [document]
    entries = [e for e in document.get("entry") or [] if isinstance(e, dict)]
    resources = [_with_id(e["resource"], e.get("fullUrl")) for e in entries if _has_resource(e)]
    aliases: dict[str, str] = {}
    for entry, resource in zip([e for e in entries if _has_resource(e)], resources, strict=True):
        if isinstance(entry.get("fullUrl"), str):
            aliases[entry["fullUrl"]] = f"{resource.get('resourceType')}/{resource['id']}"
    return [_resolve(r, aliases) for resource in resources for r in flatten(resource)]


def _has_resource(entry: dict[str, Any]) -> bool:
    return isinstance(entry.get("resource"), dict)


def _with_id(resource: dict[str, Any], full_url: Any) -> dict[str, Any]:
    """Every resource needs an id of its own, or two patients' resources would merge: a POST
    transaction's entries often have none. Take it from the fullUrl, else from the content."""
    if resource.get("id"):
        return resource
    if isinstance(full_url, str) and full_url:
        tail = full_url.rsplit(":", 1)[-1] if full_url.startswith("urn:") else full_url
        return {**resource, "id": tail.rstrip("/").rsplit("/", 1)[-1]}
    digest = hashlib.sha256(orjson.dumps(resource, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return {**resource, "id": f"anonymous-{digest[:16]}"}


def _resolve(resource: dict[str, Any], aliases: dict[str, str]) -> dict[str, Any]:
    subject = resource.get("subject")
    if isinstance(subject, dict) and subject.get("reference") in aliases:
        resource = {**resource, "subject": {**subject, "reference": aliases[subject["reference"]]}}
    focus = resource.get("focus")  # an Observation's primary (mCODE staging, MII Onkologie)
    if isinstance(focus, list) and any(_aliased(f, aliases) for f in focus):
        resolved_focus = [
            {**f, "reference": aliases[f["reference"]]} if _aliased(f, aliases) else f
            for f in focus
        ]
        resource = {**resource, "focus": resolved_focus}
    extensions = resource.get("extension")
    if isinstance(extensions, list):
        resolved = []
        for extension in extensions:
            reference = (extension.get("valueReference") or {}).get("reference")
            if reference in aliases:
                extension = {**extension, "valueReference": {"reference": aliases[reference]}}
            resolved.append(extension)
        resource = {**resource, "extension": resolved}
    return resource


def _aliased(reference: Any, aliases: dict[str, str]) -> bool:
    return isinstance(reference, dict) and reference.get("reference") in aliases
