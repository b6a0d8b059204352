"""From one FHIR resource version to the few facts the rules need (pure; no FHIR models).

Facts are compact so that a patient's state stays small: the classifier stores facts, never
resources.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Container
from datetime import UTC, date, datetime
from typing import Any

from services.classifier.immutable import immutable
from services.classifier.terminology import ICD10_WITH_MARKS, Meaning, Terminology, normalise_code

CONDITION_RELATED = "http://hl7.org/fhir/StructureDefinition/condition-related"
RELATED_PRIMARY = frozenset(
    {
        CONDITION_RELATED,  # FHIR core; mCODE STU2+ slices it as relatedPrimaryCancerCondition
        "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-related-primary-cancer-condition",
        "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-condition-related",  # mCODE STU1
        "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-related-condition",  # mCODE STU4
    }
)
"""Extensions that link a secondary to its primary (HL7/fhir-mCODE-ig input/fsh/SD_Condition.fsh,
SD_Extensions.fsh, and the STU1 profiles): each counts as `condition-related` does."""
ASSERTED_DATE = "http://hl7.org/fhir/StructureDefinition/condition-assertedDate"
GM_CERTAINTY = "http://fhir.de/StructureDefinition/icd-10-gm-diagnosesicherheit"
GM_SIDE = "http://fhir.de/StructureDefinition/seitenlokalisation"
GM_CERTAINTIES = {"A": "void", "V": "unconfirmed"}
"""ICD-10-GM Diagnosesicherheit (fhir.de basisprofil-de-r4): A excluded, V suspected; G confirmed
and Z (status after) leave the Condition's own verification status as it is."""
GM_SIDES = {"L": "left", "R": "right", "B": "bilateral"}

VersionKey = tuple[int, str]
"""(numeric meta.versionId or -1, meta.lastUpdated as UTC ISO text or "")."""
MAX_ID_DIGITS = 64  # a FHIR id holds at most 64 characters, so the number stays below 10^64


@immutable
class Fact:
    """What one resource's version says, in the rules' terms."""

    key: str  # "Condition/<id>"
    version: VersionKey
    version_id: str | None
    kind: str  # a terminology kind, "disease_status", "m_category" or "irrelevant"
    certainty: str  # confirmed | unconfirmed | void
    status: str | None = None  # active | recurrence | disease_free (clinicalStatus meaning)
    scope: str | None = None  # regional | distant
    site: str | None = None
    ambiguous: bool = False
    laterality: str | None = None
    date: dt.date | None = None
    abatement: dt.date | None = None
    related: str | None = None
    system: str | None = None
    code: str | None = None
    value: str | None = None  # disease status meaning, M category or stage group
    text: str | None = None  # the words of a text_* fact (words.py), quoted as evidence

    @property
    def reference(self) -> str:
        return f"{self.key}/_history/{self.version_id}" if self.version_id else self.key

    @property
    def updated(self) -> dt.date | None:
        return _date(self.version[1]) if self.version[1] else None


def version_key(resource: dict[str, Any]) -> VersionKey:
    meta = resource.get("meta") or {}
    raw = str(meta.get("versionId") or "")
    # FHIR's versionId is an id: compared as a number when it is all (ASCII) digits
    number = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= MAX_ID_DIGITS else -1
    return number, _instant(meta.get("lastUpdated"))


def extract(resource: dict[str, Any], terms: Terminology, held: Container[str] = ()) -> Fact | None:
    """The facts of a Condition or Observation version. None for other resource types, and for a
    version the rules have no use for of a resource not in `held` (the keys of the patient's
    records): a routine observation, most of the feed, then costs no more than its codes."""
    kind = resource.get("resourceType")
    if kind == "Condition":
        return _condition(resource, terms, held)
    if kind == "Observation":
        return _observation(resource, terms, held)
    return None


def _condition(resource: dict[str, Any], terms: Terminology, held: Container[str]) -> Fact | None:
    meaning, mapped = _first_meaning(resource.get("code"), terms)
    certainty = _status(resource.get("verificationStatus"), terms.verification_status)
    if meaning is None:
        return _from_words(resource, terms, certainty or "confirmed", held)
    gm_certainty, gm_side = _gm_marks(resource.get("code"), meaning)
    certainty = certainty or "confirmed"
    if gm_certainty or mapped:
        certainty = _least_certain(certainty, gm_certainty, mapped)
    scope, site = meaning.scope, meaning.site
    body_codes = _codes(resource.get("bodySite"))
    laterality = gm_side or next((side for c in body_codes if (side := terms.laterality(c))), None)
    if meaning.refine_by_body_site:
        refined = next((terms.body_site(c) for c in body_codes if terms.body_site(c)), None)
        if refined is not None:
            scope, site = refined.scope, refined.site
    return _fact(
        resource,
        kind=meaning.kind,
        certainty=certainty,
        status=_status(resource.get("clinicalStatus"), terms.clinical_status),
        scope=scope,
        site=site,
        ambiguous=meaning.ambiguous,
        laterality=laterality,
        date=_condition_date(resource),
        abatement=_date(
            resource.get("abatementDateTime")
            or (resource.get("abatementPeriod") or {}).get("start")
        ),
        related=_related(resource),
        system=meaning.system,
        code=meaning.code,
    )


def _from_words(
    resource: dict[str, Any], terms: Terminology, certainty: str, held: Container[str]
) -> Fact | None:
    """A Condition whose codes mean nothing: its text and displays may still name breast cancer
    or secondary disease in words (words.py). Such a fact only ever asks for review."""
    concept = resource.get("code")
    texts = [c["display"] for c in _codings(concept) if isinstance(c.get("display"), str)]
    if isinstance(concept, dict) and isinstance(concept.get("text"), str):
        texts.insert(0, concept["text"])
    words = terms.words.read(texts) if texts and certainty != "void" else None
    if words is None:
        return _irrelevant(resource, certainty, held)
    return _fact(  # no code: it means nothing here, and an unread code may be any size
        resource,
        kind=words.kind,
        certainty=certainty,
        status=_status(resource.get("clinicalStatus"), terms.clinical_status),
        date=_condition_date(resource),
        related=_related(resource),
        text=words.quote,
    )


def _condition_date(resource: dict[str, Any]) -> date | None:
    """Onset, else the assertedDate extension, else recordedDate (DECISIONS.md "Dates")."""
    return (
        _date(_onset(resource))
        or _date(_extension_value(resource, ASSERTED_DATE, "valueDateTime"))
        or _date(resource.get("recordedDate"))
    )


def _observation(resource: dict[str, Any], terms: Terminology, held: Container[str]) -> Fact | None:
    certainty = terms.observation_status.get(str(resource.get("status")), "unconfirmed")
    codings = _mapped(_codings(resource.get("code")), terms)
    values = _mapped(_codings(resource.get("valueCodeableConcept")), terms)
    kind = next(
        (k for c in codings if (k := terms.observation_kind(c.get("system"), c.get("code")))), None
    )
    if kind is not None:
        named = values if kind != "distant_site" else [*values, *_codings(resource.get("bodySite"))]
        for coding in named:
            value = terms.observation_value(kind, coding.get("system"), coding.get("code"))
            if value is not None:
                return _observation_fact(resource, kind, value, coding, certainty, terms)
        if kind != "distant_site":
            return _irrelevant(resource, certainty, held)
    # A finding carried as the value (e.g. "distant metastasis present") or as the code.
    for coding in [*values, *codings]:
        meaning = terms.condition_meaning(coding.get("system"), coding.get("code"))
        if meaning is not None and meaning.kind in ("distant_finding", "regional_finding"):
            return _fact(
                resource,
                kind=meaning.kind,
                certainty=certainty,
                scope=meaning.scope,
                site=meaning.site,
                date=_effective(resource),
                system=meaning.system,
                code=meaning.code,
            )
    return _irrelevant(resource, certainty, held)


def _observation_fact(
    resource: dict[str, Any],
    kind: str,
    value: str,
    coding: dict[str, Any],
    certainty: str,
    terms: Terminology,
) -> Fact:
    """An M category, stage group, disease status or site of distant metastasis. M1 and stage IV
    are distant disease with no site (rule 5: `unknown`); a site observation names its site.
    `focus` (mCODE, MII Onkologie) names the primary the observation is about."""
    distant = kind == "distant_site" or value in DISTANT_VALUES
    return _fact(
        resource,
        kind="distant_finding" if kind == "distant_site" else kind,
        certainty=certainty,
        value=None if kind == "distant_site" else value,
        scope="distant" if distant else None,
        site=value if kind == "distant_site" else "unknown" if distant else None,
        date=_effective(resource),
        related=_reference(next(iter(resource.get("focus") or []), None)),
        system=coding.get("system"),
        code=normalise_code(terms.family(coding.get("system")), coding.get("code")),
    )


DISTANT_VALUES = frozenset({"M1", "IV"})
"""Observation values that mean distant metastasis: an M1 category, a stage group IV."""


def _effective(resource: dict[str, Any]) -> date | None:
    return (
        _date(resource.get("effectiveDateTime"))
        or _date((resource.get("effectivePeriod") or {}).get("start"))
        or _date(resource.get("issued"))
    )


def _irrelevant(resource: dict[str, Any], certainty: str, held: Container[str]) -> Fact | None:
    """A version with nothing for the rules: it matters only as news of a resource on record (a
    correction), or when it voids the resource."""
    if certainty != "void" and _key(resource) not in held:
        return None
    return _fact(resource, kind="irrelevant", certainty=certainty)


def _key(resource: dict[str, Any]) -> str:
    return f"{resource.get('resourceType')}/{resource.get('id')}"


def _fact(resource: dict[str, Any], **facts: Any) -> Fact:
    """This version's Fact. A relevant fact without a date of its own is dated by the version's
    lastUpdated; an irrelevant one keeps no date."""
    meta = resource.get("meta") or {}
    version_id = meta.get("versionId")
    version = version_key(resource)
    if facts["kind"] != "irrelevant" and facts.get("date") is None:
        facts["date"] = _date(version[1]) if version[1] else None
    return Fact(
        key=_key(resource),
        version=version,
        version_id=str(version_id) if version_id is not None else None,
        **facts,
    )


def _first_meaning(concept: Any, terms: Terminology) -> tuple[Meaning | None, str | None]:
    """The most specific meaning among the codings (a secondary beats a primary code), and, when
    only a trust's ConceptMap gave it, the map's certainty for it."""
    codings = _codings(concept)
    meaning = _most_specific(codings, terms)
    if meaning is not None or terms.concept_maps is None:
        return meaning, None
    translated = terms.concept_maps.translate(codings)
    exact = _most_specific([t for t in translated if t["certainty"] == "confirmed"], terms)
    if exact is not None:
        return exact, "confirmed"
    loose = _most_specific(translated, terms)
    return loose, "unconfirmed" if loose is not None else None


def _most_specific(codings: list[dict[str, Any]], terms: Terminology) -> Meaning | None:
    meanings = [
        m
        for c in codings
        if (m := terms.condition_meaning(c.get("system"), c.get("code"))) is not None
    ]
    if len(meanings) < 2:
        return meanings[0] if meanings else None
    rank = {"secondary": 0, "distant_finding": 1, "regional_finding": 1}
    return min(meanings, key=lambda m: (rank.get(m.kind, 2), terms.family(m.system) != "icd10"))


def _mapped(codings: list[dict[str, Any]], terms: Terminology) -> list[dict[str, Any]]:
    """Codings with what a trust's ConceptMap translates them to, for Observation codes and
    values: only exact (equivalent/equal) and wider translations are used there."""
    if terms.concept_maps is None or not codings:
        return codings
    extra = [t for t in terms.concept_maps.translate(codings) if t["certainty"] == "confirmed"]
    return [*codings, *extra] if extra else codings


CERTAINTY_ORDER = {"void": 0, "unconfirmed": 1, "confirmed": 2}


def _least_certain(*certainties: str | None) -> str:
    return min((c for c in certainties if c), key=CERTAINTY_ORDER.__getitem__)


def _gm_marks(concept: Any, meaning: Meaning) -> tuple[str | None, str | None]:
    """Diagnostic certainty and side of an ICD-10-GM coding, from its extensions
    (fhir.de basisprofil-de-r4) or from marks written after the code (`C50.4 L`, `C50.4 V`)."""
    if meaning.system not in GM_SYSTEMS:
        return None, None
    coding = next((c for c in _codings(concept) if c.get("system") == meaning.system), {})
    marks = ICD10_WITH_MARKS.fullmatch(str(coding.get("code") or "").strip().upper())
    letters = set(marks["marks"].replace(" ", "")) if marks else set()
    certainty = _extension_code(coding, GM_CERTAINTY) or next(
        (c for c in letters if c in GM_CERTAINTIES), None
    )
    side = _extension_code(coding, GM_SIDE) or next((c for c in letters if c in GM_SIDES), None)
    return GM_CERTAINTIES.get(certainty or ""), GM_SIDES.get(side or "")


GM_SYSTEMS = frozenset(
    {
        "http://fhir.de/CodeSystem/bfarm/icd-10-gm",
        "http://fhir.de/CodeSystem/dimdi/icd-10-gm",
        "http://hl7.org/fhir/sid/icd-10-gm",
    }
)


def _extension_code(element: dict[str, Any], url: str) -> str | None:
    coding = _extension_value(element, url, "valueCoding")
    code = coding.get("code") if isinstance(coding, dict) else None
    return code.strip().upper() if isinstance(code, str) else None


def _extension_value(element: dict[str, Any], url: str, kind: str) -> Any:
    for extension in element.get("extension") or []:
        if isinstance(extension, dict) and extension.get("url") == url:
            return extension.get(kind)
    return None


def _status(concept: Any, table: dict[str, str]) -> str | None:
    return next((table[c["code"]] for c in _codings(concept) if c.get("code") in table), None)


def _codings(concept: Any) -> list[dict[str, Any]]:
    if isinstance(concept, list):
        return [c for item in concept for c in _codings(item)]
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding") or [] if isinstance(c, dict)]


def _codes(concepts: Any) -> list[str]:
    return [str(c.get("code")) for c in _codings(concepts) if c.get("code")]


def _onset(resource: dict[str, Any]) -> Any:
    return resource.get("onsetDateTime") or (resource.get("onsetPeriod") or {}).get("start")


def _related(resource: dict[str, Any]) -> str | None:
    for extension in resource.get("extension") or []:
        if isinstance(extension, dict) and extension.get("url") in RELATED_PRIMARY:
            reference = _reference(extension.get("valueReference"))
            if reference is not None:
                return reference
    return None


def _reference(value: Any) -> str | None:
    """A reference to a Condition as a record key: relative (`Condition/x`), absolute
    (`https://.../Condition/x`), versioned, or an in-Bundle `urn:uuid:x` (ingest keys a resource
    without an id of its own by its fullUrl's tail)."""
    reference = value.get("reference") if isinstance(value, dict) else None
    if not isinstance(reference, str):
        return None
    reference = reference.strip().split("/_history/")[0]
    if reference.startswith("urn:uuid:"):
        return f"Condition/{reference[9:]}"
    parts = reference.rstrip("/").split("/")
    return "/".join(parts[-2:]) if len(parts) > 2 else reference


def _date(value: Any) -> date | None:
    """A FHIR date or dateTime; a partial date means its first day."""
    if not isinstance(value, str) or len(value) < 4:
        return None
    text = value[:10]
    try:
        if len(text) == 4:
            return date(int(text), 1, 1)
        if len(text) == 7:
            return date(int(text[:4]), int(text[5:7]), 1)
        return date.fromisoformat(text)
    except ValueError:
        return None


def _instant(value: Any) -> str:
    if not isinstance(value, str) or not value:
        return ""
    if len(value) == 20 and value[19] == "Z":  # UTC to the second, as most senders write it
        try:
            return datetime.fromisoformat(value[:19]).isoformat()
        except ValueError:
            return _dated(value)
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return _dated(value)
    if parsed.tzinfo is not None:
        try:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        except (
            OverflowError
        ):  # e.g. 0001-01-01T00:00:00+14:00: before year 1 (or after 9999) in UTC
            parsed = datetime.min if parsed.year == 1 else datetime.max.replace(microsecond=0)
    return parsed.isoformat(timespec="seconds")


def _dated(value: str) -> str:
    """Text no datetime parser reads, kept only when it starts with a date (the rules date a status
    change by its first ten characters): "" otherwise, as for no lastUpdated."""
    try:
        date.fromisoformat(value[:10])
    except ValueError:
        return ""
    return value
