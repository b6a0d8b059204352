"""A trust's local codes, translated by its own FHIR R4 ConceptMaps before classification.

Files named in RMBC_CLASSIFIER_CONCEPT_MAPS (separated by `,` or the path separator) are read and
checked when the classifier or `rmbc classify` starts; a file that is not a usable ConceptMap
stops the start with an error naming the file and the element at fault. A coding whose own code
means nothing to the classifier is then looked up by (system, code) in the maps, and each target
is read as if the sender had written it, with the certainty its equivalence allows.

Equivalence, as FHIR R4 defines it (hl7.org/fhir/R4/valueset-concept-map-equivalence.html, the
target's meaning relative to the source's):
- `equivalent`, `equal`: the same meaning: the target counts as sent.
- `wider`, `subsumes`: the target is wider, so everything it says holds for the source: counts.
- `narrower`, `specializes`: the target says more than the source does, and FHIR asks that such
  maps be used operationally with care: review only (unconfirmed evidence, never a GP alert).
- `relatedto`, `inexact`: related or overlapping meaning: review only.
- `unmatched`, `disjoint`: no mapping: ignored.
`group.unmapped` is not used: a code without a map keeps what it means on its own.
"""

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from services.classifier.terminology import Terminology

ENVIRONMENT = "RMBC_CLASSIFIER_CONCEPT_MAPS"
TARGET_FAMILIES = frozenset({"snomed", "icd10", "loinc"})
EQUIVALENCE_CERTAINTY: dict[str, str | None] = {
    "equivalent": "confirmed",
    "equal": "confirmed",
    "wider": "confirmed",
    "subsumes": "confirmed",
    "narrower": "unconfirmed",
    "specializes": "unconfirmed",
    "relatedto": "unconfirmed",
    "inexact": "unconfirmed",
    "unmatched": None,
    "disjoint": None,
}

Translation = dict[str, str]
"""A target coding: system, code, certainty (confirmed | unconfirmed)."""


class ConceptMapError(ValueError):
    """A ConceptMap file that cannot be used, with the file and element at fault."""


class ConceptMaps:
    def __init__(self, table: Mapping[tuple[str, str], tuple[Translation, ...]]) -> None:
        self._table = dict(table)

    def __len__(self) -> int:
        return len(self._table)

    def translate(self, codings: Iterable[dict[str, Any]]) -> list[Translation]:
        """Every target the maps give for these codings, in the maps' order."""
        found: list[Translation] = []
        for coding in codings:
            system, code = coding.get("system"), coding.get("code")
            if isinstance(system, str) and isinstance(code, str):
                found.extend(self._table.get((system.strip(), code.strip()), ()))
        return found


def with_trust_maps(terms: "Terminology", setting: str | None) -> "Terminology":
    """The terminology with the ConceptMaps a setting (RMBC_CLASSIFIER_CONCEPT_MAPS) names.
    Raises ConceptMapError when one cannot be used."""
    return terms.with_concept_maps(load_concept_maps(configured_paths(setting), terms.family))


def configured_paths(value: str | None) -> list[Path]:
    """The files an RMBC_CLASSIFIER_CONCEPT_MAPS value names."""
    parts = (value or "").replace(os.pathsep, ",").split(",")
    return [Path(part.strip()) for part in parts if part.strip()]


def load_concept_maps(paths: Iterable[Path], family_of: Any) -> ConceptMaps | None:
    """Read and check the files (`family_of` is `Terminology.family`); None when there are none."""
    named = []
    for path in paths:
        try:
            named.append((str(path), orjson.loads(path.read_bytes())))
        except OSError as error:
            raise ConceptMapError(f"{path}: cannot be read: {error.strerror or error}") from None
        except orjson.JSONDecodeError as error:
            raise ConceptMapError(f"{path}: not JSON: {error}") from None
    return from_resources(named, family_of) if named else None


def from_resources(named: Iterable[tuple[str, Any]], family_of: Any) -> ConceptMaps:
    table: dict[tuple[str, str], tuple[Translation, ...]] = {}
    for name, resource in named:
        for key, targets in _entries(name, resource, family_of):
            table[key] = (*table.get(key, ()), *targets)
    return ConceptMaps(table)


def _entries(
    name: str, resource: Any, family_of: Any
) -> Iterable[tuple[tuple[str, str], tuple[Translation, ...]]]:
    if not isinstance(resource, dict) or resource.get("resourceType") != "ConceptMap":
        raise ConceptMapError(f"{name}: not a FHIR ConceptMap resource")
    groups = resource.get("group")
    if not isinstance(groups, list) or not groups:
        raise ConceptMapError(f"{name}: ConceptMap.group: at least one group is needed")
    for g, group in enumerate(groups):
        where = f"{name}: ConceptMap.group[{g}]"
        source, target = _text(group, "source"), _text(group, "target")
        if source is None or target is None:
            raise ConceptMapError(f"{where}: source and target (code system URIs) are required")
        if family_of(target) not in TARGET_FAMILIES:
            raise ConceptMapError(
                f"{where}.target: {target!r} is not a code system rmbc reads "
                "(SNOMED CT, ICD-10, LOINC)"
            )
        for e, element in enumerate(_list(group, "element", where)):
            code = _text(element, "code")
            if code is None:
                raise ConceptMapError(f"{where}.element[{e}].code: required")
            targets = []
            for t, mapped in enumerate(_list(element, "target", f"{where}.element[{e}]")):
                at = f"{where}.element[{e}].target[{t}]"
                equivalence = _text(mapped, "equivalence")
                if equivalence not in EQUIVALENCE_CERTAINTY:
                    allowed = ", ".join(EQUIVALENCE_CERTAINTY)
                    raise ConceptMapError(
                        f"{at}.equivalence: {equivalence!r} is not one of {allowed}"
                    )
                certainty = EQUIVALENCE_CERTAINTY[equivalence]
                target_code = _text(mapped, "code")
                if certainty is None:
                    continue
                if target_code is None:
                    raise ConceptMapError(f"{at}.code: required when equivalence is {equivalence}")
                targets.append({"system": target, "code": target_code, "certainty": certainty})
            if targets:
                yield (source, code), tuple(targets)


def _text(element: Any, name: str) -> str | None:
    value = element.get(name) if isinstance(element, dict) else None
    return value.strip() if isinstance(value, str) and value.strip() else None


def _list(element: Any, name: str, where: str) -> list[Any]:
    value = element.get(name) if isinstance(element, dict) else None
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConceptMapError(f"{where}.{name}: must be a list")
    return value
