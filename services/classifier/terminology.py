"""The codes the classifier understands, loaded from `terminology.json` (data, not if-chains)."""

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from services.classifier.immutable import immutable

_DATA = Path(__file__).with_name("terminology.json")
MEANINGS_KEPT = 10_000
# The shapes of the codes matched by prefix or suffix: only such a code means anything, so a code
# in a flag is never longer than these. ICD-10: a letter, two digits, then up to four characters
# (WHO ICD-10 uses one, ICD-10-CM up to four, e.g. C50.912), with or without the dot, and an
# optional dagger or asterisk mark (WHO ICD-10 volume 2, 3.1.3). ICD-O-3 morphology: four digits,
# a slash and the behaviour digit (8140/6), sometimes written with an M.
ICD10_SHAPE = re.compile(r"[A-Z][0-9]{2}(?:\.?[0-9A-Z]{1,4})?[*+\u2020]?")
ICDO3_SHAPE = re.compile(r"(?:M-?)?[0-9]{4}/[0-9]")


@immutable
class Meaning:
    kind: str
    scope: str | None = None
    site: str | None = None
    ambiguous: bool = False
    refine_by_body_site: bool = False
    system: str = ""
    code: str = ""


@immutable
class BodySite:
    scope: str
    site: str


class Terminology:
    def __init__(self, data: dict[str, Any]) -> None:
        systems = data["systems"]
        self._family = {system: family for family, members in systems.items() for system in members}
        self._snomed = data["snomed_conditions"]
        self._icd10 = data["icd10_prefixes"]
        self._icd10_lengths = sorted({len(p) for p in self._icd10}, reverse=True)
        self._icd10_other = data["icd10_other_malignant"]
        self._icdo3 = data["icdo3_metastatic_behaviour"]
        self._body_sites = {
            code: BodySite(**entry) for code, entry in data["body_site_sites"].items()
        }
        self._laterality: dict[str, str] = data["laterality"]
        self.disease_status_values: dict[str, str] = data["disease_status"]["values"]
        self.m_category_values: dict[str, str] = data["m_category"]["values"]
        self._observation_kinds = {
            (system, code): kind
            for kind in ("disease_status", "m_category")
            for family, code in (entry.split("|", 1) for entry in data[kind]["codes"])
            for system in systems[family]
        }
        self.clinical_status: dict[str, str] = data["clinical_status"]
        self.verification_status: dict[str, str] = data["verification_status"]
        self.observation_status: dict[str, str] = data["observation_status"]
        self._meanings: dict[tuple[str | None, str | None], Meaning | None] = {}

    def family(self, system: str | None) -> str | None:
        return self._family.get(system or "")

    def condition_meaning(self, system: str | None, code: str | None) -> Meaning | None:
        """What a Condition.code coding (or an Observation value) means, or None. A feed uses
        few codes again and again; the cache is emptied when full, so odd input cannot grow it."""
        key = (system, code)
        try:
            return self._meanings[key]
        except KeyError:
            pass
        if len(self._meanings) >= MEANINGS_KEPT:
            self._meanings.clear()
        meaning = self._meanings[key] = self._look_up(system, code)
        return meaning

    def _look_up(self, system: str | None, code: str | None) -> Meaning | None:
        if not code:
            return None
        family = self.family(system)
        entry: dict[str, Any] | None = None
        if family == "snomed":
            entry = self._snomed.get(code)
        elif family == "icd10":
            entry = self._icd10_entry(code)
        elif (
            family == "icdo3"
            and ICDO3_SHAPE.fullmatch(code)
            and code.endswith(self._icdo3["suffix"])
        ):
            entry = self._icdo3
        if entry is None:
            return None
        return Meaning(
            kind=entry["kind"],
            scope=entry.get("scope"),
            site=entry.get("site"),
            ambiguous=entry.get("ambiguous", False),
            refine_by_body_site=entry.get("refine_by_body_site", False),
            system=system or "",
            code=code,
        )

    def _icd10_entry(self, code: str) -> dict[str, Any] | None:
        if not ICD10_SHAPE.fullmatch(code.strip().upper()):
            return None
        undotted = code.upper().replace(".", "").strip()
        for length in self._icd10_lengths:
            entry = self._icd10.get(undotted[:length])
            if entry is not None and len(undotted) >= length:
                return entry  # type: ignore[no-any-return]
        if undotted[:1] == self._icd10_other["letter"] and undotted[1:3].isdigit():
            return {"kind": self._icd10_other["kind"]}
        return None

    def body_site(self, code: str) -> BodySite | None:
        return self._body_sites.get(code)

    def laterality(self, code: str) -> str | None:
        return self._laterality.get(code)

    def observation_kind(self, system: str | None, code: str | None) -> str | None:
        """ "disease_status" or "m_category" when an Observation.code coding names one."""
        return self._observation_kinds.get((system, code))


@cache
def load_terminology(path: Path = _DATA) -> Terminology:
    return Terminology(json.loads(path.read_text(encoding="utf-8")))
