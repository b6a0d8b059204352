"""Build the classifier's SNOMED CT value sets from the committed source lists.

    python -m services.classifier.valuesets.build [--check]     (or: rmbc terminology build)

Reads `sources/` (lists named in sources/sources.toml and sources/README.md), gives each concept
its meaning with `anchors.csv` and `rules.toml` (meanings.py), and writes one FHIR R4 ValueSet
per value set below into `expansions/`: a `compose` with the ECL definition a terminology server
can expand (SNOMED CT in FHIR: filter property `constraint`), and an `expansion` whose entries
each carry the classifier meaning as an extension. The output depends only on the inputs: the
version is a digest of them and the timestamp the newest source date, so a rebuild of unchanged
inputs gives identical files (`--check` fails when the committed files differ).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tomllib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson

from services.classifier.immutable import immutable
from services.classifier.valuesets.load import INDEX, MEANING_URL, SNOMED, write_json
from services.classifier.valuesets.meanings import Concept, ConceptMeaning, MeaningRules
from services.classifier.valuesets.sources_read import read_source

HERE = Path(__file__).parent
SOURCES = HERE / "sources"
EXPANSIONS = HERE / "expansions"
RULE_FILES = (HERE / "anchors.csv", HERE / "rules.toml")


@immutable
class ValueSetSpec:
    name: str
    title: str
    ecl: str
    kinds: tuple[str, ...]
    hint: str | None  # what membership of the ECL expansion says (used by refresh)


VALUE_SETS = (
    ValueSetSpec(
        "breast-primary",
        "Malignant neoplasm of breast (primary)",
        "<< 254837009",
        ("breast_primary",),
        "breast",
    ),
    ValueSetSpec(
        "breast-carcinoma-in-situ",
        "Carcinoma in situ of breast",
        "<< 109889007 OR << 109888004",
        ("in_situ",),
        "in_situ",
    ),
    ValueSetSpec(
        "secondary",
        "Secondary malignant neoplasm, and local recurrence of breast cancer",
        "<< 128462008 OR << 314955001",
        ("secondary",),
        "secondary",
    ),
    ValueSetSpec(
        "other-primary",
        "Other primary malignant neoplasm (not breast, not secondary)",
        "<< 363346000 MINUS (<< 254837009 OR << 128462008)",
        ("non_breast_primary", "unknown_primary"),
        "primary",
    ),
)
FILE_OF_KIND = {kind: spec for spec in VALUE_SETS for kind in spec.kinds}


@immutable
class Source:
    name: str
    url: str
    version: str
    date: str
    concepts: tuple[Concept, ...]
    file: str
    scored: bool  # also a list the coverage suite scores against (tests/terminology/README.md)


def load_rules(anchors: Path = RULE_FILES[0], rules: Path = RULE_FILES[1]) -> MeaningRules:
    return MeaningRules(
        anchors.read_text(encoding="utf-8"), tomllib.loads(rules.read_text(encoding="utf-8"))
    )


def read_sources(directory: Path = SOURCES) -> list[Source]:
    manifest = tomllib.loads((directory / "sources.toml").read_text(encoding="utf-8"))
    return [
        Source(
            name=entry["name"],
            url=entry["url"],
            version=entry["version"],
            date=entry["date"],
            concepts=tuple(read_source(directory / entry["file"], entry.get("hint"))),
            file=entry["file"],
            scored=entry.get("independent_check", False),
        )
        for entry in manifest["source"]
    ]


def assign(
    sources: Iterable[Source], rules: MeaningRules, add_anchors: bool = True
) -> dict[str, tuple[Concept, ConceptMeaning]]:
    """Each concept once: the first source that says its kind wins over one that does not,
    otherwise the first source's term is kept. Concepts that mean nothing are left out. The
    build adds the anchors; a refresh takes only what the server returned."""
    chosen: dict[str, Concept] = {}
    for source in sources:
        for concept in source.concepts:
            held = chosen.get(concept.code)
            if held is None or (held.hint is None and concept.hint is not None):
                chosen[concept.code] = concept
    for code in rules.anchors if add_anchors else ():
        chosen.setdefault(code, Concept(code, rules.terms[code], None))
    assigned = {}
    for code, concept in chosen.items():
        meaning = rules.meaning(concept)
        if meaning is not None:
            assigned[code] = (concept, meaning)
    return assigned


def value_sets(
    assigned: dict[str, tuple[Concept, ConceptMeaning]],
    sources: list[Source],
    version: str,
    timestamp: str,
) -> dict[str, dict[str, Any]]:
    """One ValueSet resource per VALUE_SETS entry, keyed by file name."""
    parameters = [
        {"name": "source", "valueString": f"{s.name}; {s.url}; version {s.version}; {s.date}"}
        for s in sources
    ]
    members: dict[str, list[dict[str, Any]]] = {spec.name: [] for spec in VALUE_SETS}
    for code in sorted(assigned, key=lambda c: (len(c), c)):
        concept, meaning = assigned[code]
        members[FILE_OF_KIND[meaning.kind].name].append(_entry(concept, meaning))
    return {
        f"{spec.name}.json": _value_set(spec, members[spec.name], parameters, version, timestamp)
        for spec in VALUE_SETS
    }


def _value_set(
    spec: ValueSetSpec,
    contains: list[dict[str, Any]],
    parameters: list[dict[str, Any]],
    version: str,
    timestamp: str,
) -> dict[str, Any]:
    return {
        "resourceType": "ValueSet",
        "id": spec.name,
        "url": f"urn:rmbc:fhir:ValueSet:{spec.name}",
        "version": version,
        "name": "".join(part.title() for part in spec.name.split("-")),
        "title": spec.title,
        "status": "active",
        "experimental": False,
        "date": timestamp[:10],
        "description": (
            f"SNOMED CT concepts {spec.ecl}, each with its meaning for the rmbc classifier "
            "(extension classifier-meaning: kind, scope, COSD site, ambiguous, deciding rule)."
        ),
        "compose": {
            "include": [
                {
                    "system": SNOMED,
                    "filter": [{"property": "constraint", "op": "=", "value": spec.ecl}],
                }
            ]
        },
        "expansion": {
            "identifier": f"urn:rmbc:fhir:ValueSet:{spec.name}|{version}",
            "timestamp": timestamp,
            "total": len(contains),
            "parameter": parameters,
            "contains": contains,
        },
    }


def _entry(concept: Concept, meaning: ConceptMeaning) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [{"url": "kind", "valueCode": meaning.kind}]
    if meaning.scope:
        parts.append({"url": "scope", "valueCode": meaning.scope})
    if meaning.site:
        parts.append({"url": "site", "valueCode": meaning.site})
    if meaning.ambiguous:
        parts.append({"url": "ambiguous", "valueBoolean": True})
    parts.append({"url": "rule", "valueString": meaning.rule})
    entry: dict[str, Any] = {"system": SNOMED, "code": concept.code}
    if concept.term:
        entry["display"] = concept.term
    entry["extension"] = [{"url": MEANING_URL, "extension": parts}]
    return entry


def inputs_digest(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def build(sources_dir: Path = SOURCES) -> dict[str, dict[str, Any]]:
    sources = read_sources(sources_dir)
    rules = load_rules()
    newest = max(s.date for s in sources)
    manifest = sources_dir / "sources.toml"
    inputs = [manifest, *(sources_dir / s.file for s in sources), *RULE_FILES]
    version = f"{newest}+{inputs_digest(inputs)}"
    return value_sets(assign(sources, rules), sources, version, f"{newest}T00:00:00Z")


def rendered(resources: dict[str, dict[str, Any]]) -> Iterator[tuple[str, bytes]]:
    index = {"value_sets": sorted(resources)}
    for name in sorted(resources):
        yield name, write_json(resources[name])
    yield INDEX, orjson.dumps(index, option=orjson.OPT_INDENT_2) + b"\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rmbc terminology build",
        description="Regenerate the SNOMED CT value sets from the committed source lists.",
    )
    parser.add_argument("--out", type=Path, default=EXPANSIONS, help="output directory")
    parser.add_argument(
        "--check", action="store_true", help="fail if the files in --out differ from a rebuild"
    )
    args = parser.parse_args(argv)
    from services.classifier.valuesets.validate import problems

    resources = build()
    found = problems(resources, load_rules())
    if found:
        for problem in found:
            print(f"rmbc terminology build: {problem}", file=sys.stderr)
        return 1
    differing = []
    for name, data in rendered(resources):
        target = args.out / name
        if args.check:
            if not target.is_file() or target.read_bytes() != data:
                differing.append(name)
            continue
        args.out.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    for name, resource in sorted(resources.items()):
        print(f"{name}: {resource['expansion']['total']} concepts")
    if differing:
        print(f"rmbc terminology build: out of date: {', '.join(differing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
