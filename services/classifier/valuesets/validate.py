"""What a set of value sets must satisfy before the classifier may read it (build and refresh).

FHIR shape (fhir.resources R4B ValueSet: R4B is the package's FHIR 4.x model closest to R4 for
this resource), one file per VALUE_SETS entry, none empty, the required anchors (anchors.csv:
the DOMAIN concepts) present, every anchor present with its anchored meaning, no concept in two
value sets, and every entry with a meaning the rules know.
"""

from __future__ import annotations

from typing import Any

from services.classifier.valuesets.load import SNOMED, meaning_of
from services.classifier.valuesets.meanings import MeaningRules

KINDS = {"breast_primary", "in_situ", "secondary", "non_breast_primary", "unknown_primary"}
SCOPES = {"local", "regional", "distant"}
SITES = {
    "bone",
    "bone_marrow",
    "brain",
    "liver",
    "lung",
    "skin",
    "distant_lymph_nodes",
    "regional_lymph_nodes",
    "other",
    "unknown",
}


def problems(resources: dict[str, dict[str, Any]], rules: MeaningRules) -> list[str]:
    from fhir.resources.R4B.valueset import ValueSet
    from pydantic import ValidationError

    from services.classifier.valuesets.build import VALUE_SETS

    found: list[str] = []
    expected = {f"{spec.name}.json" for spec in VALUE_SETS}
    if set(resources) != expected:
        found.append(f"expected value sets {sorted(expected)}, got {sorted(resources)}")
    where: dict[str, str] = {}
    meanings: dict[str, dict[str, Any]] = {}
    for name, resource in sorted(resources.items()):
        try:
            ValueSet.model_validate(resource)
        except ValidationError as error:
            found.append(f"{name}: not a FHIR R4 ValueSet: {error.errors()[0]['msg']}")
            continue
        contains = (resource.get("expansion") or {}).get("contains") or []
        if not contains:
            found.append(f"{name}: the expansion is empty")
        for entry in contains:
            code = entry.get("code")
            if entry.get("system") != SNOMED or not isinstance(code, str) or not code.isdigit():
                found.append(f"{name}: not a SNOMED CT concept: {entry.get('system')}|{code}")
                continue
            if code in where:
                found.append(f"{code} is in both {where[code]} and {name}")
            where[code] = name
            meanings[code] = meaning_of(entry)
            found.extend(f"{name}: {code}: {p}" for p in _meaning_problems(meanings[code]))
    for code, anchored in rules.anchors.items():
        held = meanings.get(code)
        if held is None:
            if code in rules.required:
                found.append(f"anchor {code} is missing")
        elif (held.get("kind"), held.get("scope"), held.get("site")) != (
            anchored.kind,
            anchored.scope,
            anchored.site,
        ):
            found.append(f"anchor {code} means {held}, anchors.csv says {anchored}")
    return found


def _meaning_problems(meaning: dict[str, Any]) -> list[str]:
    kind, scope, site = meaning.get("kind"), meaning.get("scope"), meaning.get("site")
    if kind not in KINDS:
        return [f"unknown kind {kind!r}"]
    if kind != "secondary":
        return [] if scope is None and site is None else ["only a secondary has a scope or site"]
    if scope not in SCOPES:
        return [f"a secondary needs a scope, not {scope!r}"]
    if scope == "local":
        return [] if site is None else ["local disease has no COSD site"]
    return [] if site in SITES else [f"unknown COSD site {site!r}"]
