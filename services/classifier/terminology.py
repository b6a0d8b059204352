"""The codes the classifier understands, loaded from `terminology.json` (data, not if-chains) and
the SNOMED CT value sets in `valuesets/expansions` (every concept of the breast, secondary and other
cancer hierarchies, with its meaning decided at build time). Both are read once; a look-up is one
dictionary access, never a hierarchy walk."""

import copy
import json
import re
from functools import cache
from pathlib import Path
from typing import Any

from services.classifier.concept_maps import ConceptMaps
from services.classifier.immutable import immutable
from services.classifier.valuesets.load import active_directory, snomed_meanings
from services.classifier.words import WordList

_DATA = Path(__file__).with_name("terminology.json")
MEANINGS_KEPT = 10_000
OBSERVATION_KINDS = ("disease_status", "m_category", "stage_group", "distant_site")
# The shapes of the codes matched by prefix or suffix: only such a code means anything, so a code
# in a flag is never longer than these. ICD-10: a letter, two digits, then up to four characters
# (WHO ICD-10 uses one, ICD-10-CM up to four, e.g. C50.912), with or without the dot, and an
# optional dagger or asterisk mark (WHO ICD-10 volume 2, 3.1.3). ICD-O-3 morphology: four digits,
# a slash and the behaviour digit (8140/6), sometimes written with an M.
ICD10_SHAPE = re.compile(r"[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?[*+\u2020]?")
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
    def __init__(
        self, data: dict[str, Any], value_sets: dict[str, dict[str, Any]] | None = None
    ) -> None:
        systems = data["systems"]
        self._family = {system: family for family, members in systems.items() for system in members}
        self._system_prefixes: dict[str, str] = data["system_prefixes"]
        self._aliases: dict[str, str] = data["system_aliases"]
        self._canonical = {family: members[0] for family, members in systems.items()}
        self._variants: dict[str, str | None] = {}
        # terminology.json's anchors win: they carry what a value set cannot (refine_by_body_site)
        self._snomed = {**(value_sets or {}), **data["snomed_conditions"]}
        self._icd10 = data["icd10_prefixes"]
        self._icd10_lengths = sorted({len(p) for p in self._icd10}, reverse=True)
        self._icd10_other = data["icd10_other_malignant"]
        self._icdo3 = data["icdo3_metastatic_behaviour"]
        self._body_sites = {
            code: BodySite(**entry) for code, entry in data["body_site_sites"].items()
        }
        self._laterality: dict[str, str] = data["laterality"]
        self._observation_kinds = {
            (family, code): kind
            for kind in OBSERVATION_KINDS
            for family, code in (entry.split("|", 1) for entry in data[kind]["codes"])
        }
        self._observation_values = {
            kind: {_value_key(entry): value for entry, value in data[kind]["values"].items()}
            for kind in OBSERVATION_KINDS
        }
        self.clinical_status: dict[str, str] = data["clinical_status"]
        self.verification_status: dict[str, str] = data["verification_status"]
        self.observation_status: dict[str, str] = data["observation_status"]
        self._meanings: dict[tuple[str | None, str | None], Meaning | None] = {}
        self.words = WordList(data["free_text"])
        self.concept_maps: ConceptMaps | None = None

    def with_concept_maps(self, maps: ConceptMaps | None) -> "Terminology":
        """This terminology with a trust's ConceptMaps (concept_maps.py) consulted for codes it
        does not know; the shared terminology itself is left as it is."""
        if maps is None:
            return self
        mapped = copy.copy(self)
        mapped._meanings, mapped._variants, mapped.concept_maps = {}, {}, maps
        return mapped

    def family(self, system: str | None) -> str | None:
        """The code system family of a Coding.system, as senders write it: the canonical URI, an
        OID, a SNOMED CT edition or module URI, or any of them with stray case or spaces."""
        found = self._family.get(system or "")
        if found is not None or not system:
            return found
        variant: str | None = self._variants.get(system, UNKNOWN)
        if variant is UNKNOWN:
            variant = _remember(self._variants, system, self._variant_family(system))
        return variant

    def _variant_family(self, system: str) -> str | None:
        plain = system.strip().rstrip("/").lower()
        plain = self._aliases.get(plain, plain)
        return self._family.get(plain) or next(
            (
                family
                for prefix, family in self._system_prefixes.items()
                if plain.startswith(prefix)
            ),
            None,
        )

    def condition_meaning(self, system: str | None, code: str | None) -> Meaning | None:
        """What a Condition.code coding (or an Observation value) means, or None."""
        key = (system, code)
        meaning: Meaning | None = self._meanings.get(key, UNKNOWN)
        if meaning is UNKNOWN:
            meaning = _remember(self._meanings, key, self._look_up(system, code))
        return meaning

    def _look_up(self, system: str | None, code: str | None) -> Meaning | None:
        family = self.family(system)
        code = normalise_code(family, code)
        if not code:
            return None
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
            system=system
            if system is not None and system in self._family
            else self._canonical[family or ""],
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
        """One of OBSERVATION_KINDS when an Observation.code coding names one."""
        return self._observation_kinds.get((self.family(system), normalise_code(None, code)))

    def observation_value(self, kind: str, system: str | None, code: str | None) -> str | None:
        """What an Observation's value coding means for its kind (an M category, a stage group,
        a disease status, a COSD site), or None. A value coding without a system is read as
        SNOMED CT, as these values always were (their codes are SNOMED CT concept ids)."""
        family = self.family(system) if system else "snomed"
        key = f"{family}|{normalise_code(family, code).upper()}"
        return self._observation_values[kind].get(key)


UNKNOWN: Any = object()
"""Not yet looked up (None is a looked-up answer)."""


def _remember(cache: dict[Any, Any], key: Any, value: Any) -> Any:
    """Keep a looked-up answer. A feed uses few codes and systems again and again; the cache is
    emptied when full, so odd input cannot grow it."""
    if len(cache) >= MEANINGS_KEPT:
        cache.clear()
    cache[key] = value
    return value


def normalise_code(family: str | None, code: str | None) -> str:
    """A code as senders write it, reduced to the code: surrounding spaces go, and an ICD-10 code
    loses the marks German senders may append (side L/R/B, diagnostic certainty G/V/Z/A, the
    dagger-asterisk marks; `codings_marks` reads them)."""
    if not code:
        return ""
    code = code.strip()
    if family == "icd10":
        match = ICD10_WITH_MARKS.fullmatch(code.upper())
        if match:
            return match["code"]
    return code


ICD10_WITH_MARKS = re.compile(
    r"(?P<code>[A-Z][0-9][0-9A-Z](?:\.?[0-9A-Z]{1,4})?)"
    r"(?P<marks>(?:[\s+*!\u2020]*[LRBGVZA]){0,2})[\s+*!\u2020]*"
)
"""An ICD-10 code followed by ICD-10-GM marks, as some senders write them in Coding.code:
`C50.4 L`, `C79.5*`, `C50.4+`, `C50.4 V` (fhir.de basisprofil-de-r4 carries them as extensions):
at most a side (L/R/B) and a certainty (G/V/Z/A), and the dagger/asterisk/exclamation marks.
Anything else after a code (`C79.5 C50.9`, `C79.5;x`, `C79.50000`) is not a mark: the code is
left as written, and its shape decides."""


def _value_key(entry: str) -> str:
    family, code = entry.split("|", 1)
    return f"{family}|{code.upper()}"


@cache
def load_terminology(path: Path = _DATA, value_sets: Path | None = None) -> Terminology:
    """The classifier's terminology; the value sets from RMBC_VALUE_SETS_DIR when it is set."""
    directory = value_sets or active_directory()
    return Terminology(json.loads(path.read_text(encoding="utf-8")), snomed_meanings(directory))
