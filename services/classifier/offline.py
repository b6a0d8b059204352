"""`rmbc classify PATH...`: the stream's rules over files, no Kafka.

Input: FHIR resources, Bundles of any type (nested too), NDJSON, or directories of them (recursive),
in any order. Output: JSON Lines on stdout, one object per patient, sorted by patient. A file that
cannot be read is reported on stderr and skipped; the exit code is then 1.
"""

import argparse
import hashlib
import os
import sys
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from services.classifier.concept_maps import ENVIRONMENT as CONCEPT_MAPS
from services.classifier.concept_maps import ConceptMapError, with_trust_maps
from services.classifier.core import apply, reflag
from services.classifier.flags import FlagContext
from services.classifier.rules import Classification
from services.classifier.state import PatientState
from services.classifier.terminology import Terminology, load_terminology
from shared.events import PatientContext
from shared.nhs_number import NHS_NUMBER_SYSTEM, ODS_SYSTEM, normalise_nhs_number

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
    loaded = load(args.paths)
    for error in loaded.errors:
        print(f"rmbc classify: {error}", file=sys.stderr)
    now = datetime.now(UTC)
    for row in classify_resources(loaded.resources, terms, now):
        sys.stdout.write(orjson.dumps(row).decode() + "\n")
    return 1 if loaded.errors else 0


def load(paths: Iterable[Path]) -> Loaded:
    loaded = Loaded()
    for path in _files(paths, loaded):
        try:
            for document in _documents(path):
                loaded.resources.extend(flatten(document))
        except UnreadableFile as error:
            loaded.errors.append(f"{path}: skipped: {error}")
    return loaded


def _files(paths: Iterable[Path], loaded: Loaded) -> Iterator[Path]:
    for path in paths:
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.is_file() and p.suffix in SUFFIXES)
        elif path.is_file():
            yield path
        else:
            loaded.errors.append(f"{path}: no such file or directory")


def _documents(path: Path) -> list[Any]:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise UnreadableFile(error.strerror or str(error)) from None
    if path.suffix != ".json":
        return _ndjson(data)
    try:
        return [orjson.loads(data)]
    except orjson.JSONDecodeError:
        return _ndjson(data)


def _ndjson(data: bytes) -> list[Any]:
    documents = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            documents.append(orjson.loads(line))
        except orjson.JSONDecodeError as error:
            raise UnreadableFile(f"line {number}: not JSON ({error})") from None
    return documents


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


def classify_resources(
    resources: list[dict[str, Any]], terms: Terminology, now: datetime
) -> list[dict[str, Any]]:
    """One output row per patient, sorted by patient."""
    patients = _patients(resources)
    by_patient: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for resource in resources:
        key = _patient_key(resource, patients)
        if key is not None:
            by_patient[key].append(resource)
    rows = []
    for key in sorted(by_patient):
        state = PatientState()
        context = _demographics(by_patient[key])
        for resource in by_patient[key]:
            if resource.get("resourceType") in ("Condition", "Observation"):
                state = apply(state, resource, None, terms) or state
        if context is not None:
            state = state.with_patient(context) or state
        change = reflag(state, FlagContext(key, now, _latest(by_patient[key], now), key))
        assert change.classification is not None  # reflag always classifies
        rows.append(
            summarise(key, change.classification)
            | {"flags": [f.model_dump(mode="json") for f in change.flags]}
        )
    return rows


def summarise(patient: str, result: Classification) -> dict[str, Any]:
    """Patient-level answer over all episodes; the episode date is the latest episode's."""
    episodes = [e for e in result.episodes if e.kind != "review"]
    return {
        "patient": patient,
        "breast_primary": result.breast_primary,
        "recurrence": any(e.recurrence for e in episodes),
        "recurrence_types": sorted({t for e in episodes for t in e.recurrence_types}),
        "metastatic": any(e.metastatic for e in episodes),
        "de_novo_metastatic": any(e.de_novo for e in episodes),
        "metastatic_sites": sorted({s for e in episodes for s in e.sites}),
        "episode_date": episodes[-1].date.isoformat() if episodes and episodes[-1].date else None,
    }


def _patients(resources: list[dict[str, Any]]) -> dict[str, str]:
    """Patient/<id> -> NHS number, for every Patient resource that carries one."""
    return {
        f"Patient/{r.get('id')}": nhs
        for r in resources
        if r.get("resourceType") == "Patient" and (nhs := _nhs_number(r.get("identifier")))
    }


def _patient_key(resource: dict[str, Any], patients: dict[str, str]) -> str | None:
    if resource.get("resourceType") == "Patient":
        return _nhs_number(resource.get("identifier")) or f"Patient/{resource.get('id')}"
    if resource.get("resourceType") not in ("Condition", "Observation"):
        return None
    subject = resource.get("subject") or {}
    nhs = _nhs_number([subject.get("identifier")])
    reference = str(subject.get("reference") or "").split("/_history/")[0]
    reference = "/".join(reference.rstrip("/").split("/")[-2:]) if reference else ""
    return nhs or patients.get(reference) or reference or None


def _nhs_number(identifiers: Any) -> str | None:
    for identifier in identifiers or []:
        if isinstance(identifier, dict) and identifier.get("system") == NHS_NUMBER_SYSTEM:
            value = identifier.get("value")
            if isinstance(value, str) and value.strip():
                return normalise_nhs_number(value.strip())
    return None


def _demographics(resources: list[dict[str, Any]]) -> PatientContext | None:
    people = sorted(
        (r for r in resources if r.get("resourceType") == "Patient"),
        key=lambda r: str((r.get("meta") or {}).get("lastUpdated") or ""),
    )
    if not people:
        return None
    latest = people[-1]
    name: dict[str, Any] = next(iter(latest.get("name") or []), {}) or {}
    return PatientContext(
        nhs_number=_nhs_number(latest.get("identifier")),
        patient_reference=f"Patient/{latest.get('id')}",
        family_name=name.get("family"),
        given_names=" ".join(name.get("given") or []) or None,
        birth_date=latest.get("birthDate") if len(str(latest.get("birthDate"))) == 10 else None,
        gp_practice_ods=_ods(latest.get("generalPractitioner")),
        provider_ods=_ods([latest.get("managingOrganization")]),
    )


def _ods(references: Any) -> str | None:
    for reference in references or []:
        identifier = (reference or {}).get("identifier") or {}
        if identifier.get("system") == ODS_SYSTEM and identifier.get("value"):
            return str(identifier["value"])
    return None


def _latest(resources: list[dict[str, Any]], default: datetime) -> datetime:
    stamps = []
    for resource in resources:
        text = (resource.get("meta") or {}).get("lastUpdated")
        try:
            stamps.append(datetime.fromisoformat(str(text).replace("Z", "+00:00")))
        except ValueError:
            continue
    aware = [s if s.tzinfo else s.replace(tzinfo=UTC) for s in stamps]
    return max(aware) if aware else default
