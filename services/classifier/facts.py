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
from services.classifier.terminology import Meaning, Terminology

CONDITION_RELATED = "http://hl7.org/fhir/StructureDefinition/condition-related"

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
    value: str | None = None  # disease status meaning or M category

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
    meaning = _first_meaning(resource.get("code"), terms)
    certainty = _status(resource.get("verificationStatus"), terms.verification_status)
    if meaning is None:
        return _irrelevant(resource, certainty or "confirmed", held)
    scope, site = meaning.scope, meaning.site
    body_codes = _codes(resource.get("bodySite"))
    laterality = next((side for c in body_codes if (side := terms.laterality(c))), None)
    if meaning.refine_by_body_site:
        refined = next((terms.body_site(c) for c in body_codes if terms.body_site(c)), None)
        if refined is not None:
            scope, site = refined.scope, refined.site
    return _fact(
        resource,
        kind=meaning.kind,
        certainty=certainty or "confirmed",
        status=_status(resource.get("clinicalStatus"), terms.clinical_status),
        scope=scope,
        site=site,
        ambiguous=meaning.ambiguous,
        laterality=laterality,
        date=_date(_onset(resource)) or _date(resource.get("recordedDate")),
        abatement=_date(
            resource.get("abatementDateTime")
            or (resource.get("abatementPeriod") or {}).get("start")
        ),
        related=_related(resource),
        system=meaning.system,
        code=meaning.code,
    )


def _observation(resource: dict[str, Any], terms: Terminology, held: Container[str]) -> Fact | None:
    certainty = terms.observation_status.get(str(resource.get("status")), "unconfirmed")
    codings = _codings(resource.get("code"))
    values = _codings(resource.get("valueCodeableConcept"))
    kinds = {terms.observation_kind(c.get("system"), c.get("code")) for c in codings}
    for kind, meanings in (
        ("disease_status", terms.disease_status_values),
        ("m_category", terms.m_category_values),
    ):
        if kind in kinds:
            matched = next((v for v in values if v.get("code") in meanings), None)
            if matched is None:
                break
            value = meanings[matched["code"]]
            return _fact(
                resource,
                kind=kind,
                certainty=certainty,
                value=value,
                scope="distant" if value == "M1" else None,
                site="unknown" if value == "M1" else None,
                date=_effective(resource),
                system=matched.get("system"),
                code=matched.get("code"),
            )
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


def _first_meaning(concept: Any, terms: Terminology) -> Meaning | None:
    """The most specific meaning among the codings: a secondary beats a primary code."""
    meanings = [
        m
        for c in _codings(concept)
        if (m := terms.condition_meaning(c.get("system"), c.get("code"))) is not None
    ]
    if len(meanings) < 2:
        return meanings[0] if meanings else None
    rank = {"secondary": 0, "distant_finding": 1, "regional_finding": 1}
    return min(meanings, key=lambda m: (rank.get(m.kind, 2), terms.family(m.system) != "icd10"))


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
        if isinstance(extension, dict) and extension.get("url") == CONDITION_RELATED:
            reference = (extension.get("valueReference") or {}).get("reference")
            if isinstance(reference, str):
                return reference.split("/_history/")[0]
    return None


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
