"""Patients classified from resources read one by one, as `rmbc classify` reads a bulk export.

Each resource is applied to its patient's compact state as it is read (the stream's own `apply`),
so memory grows with the number of patients, not with the size of the export: a routine
observation is read, found irrelevant and forgotten. A patient is first known by what each
resource names - the NHS number in `subject.identifier`, else `Patient/<id>` - and only at the
end, once every Patient resource has been read (a bulk export writes Patient.ndjson after
Condition.ndjson), by the NHS number of its Patient; states known under two names are merged
then, record by record, as versions of the same resource are merged in a state.

Reading is in steps: `begin()` opens one (a file), `commit()` keeps what it added and `discard()`
forgets it, so a file found unreadable half way adds nothing.
"""

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from services.classifier.core import apply, reflag
from services.classifier.flags import FlagContext
from services.classifier.records import Record
from services.classifier.rules import Classification
from services.classifier.state import PatientState
from services.classifier.terminology import Terminology
from shared.events import PatientContext
from shared.nhs_number import NHS_NUMBER_SYSTEM, ODS_SYSTEM, normalise_nhs_number

PATIENT_FIELDS = (
    "id",
    "meta",
    "identifier",
    "name",
    "birthDate",
    "generalPractitioner",
    "managingOrganization",
)
"""What is kept of a Patient resource: what the flags' patient context is made of."""


class Batch:
    def __init__(self, terms: Terminology) -> None:
        self._terms = terms
        self._states: dict[str, PatientState] = {}
        self._people: dict[str, dict[str, Any]] = {}  # the latest Patient resource, trimmed
        self._latest: dict[str, datetime] = {}
        self._nhs: dict[str, str] = {}  # Patient/<id> -> NHS number
        self._step: _Step | None = None

    def begin(self) -> None:
        self._step = _Step()

    def commit(self) -> None:
        step, self._step = self._step, None
        if step is not None:
            self._states.update(step.states)
            for key, person in step.people.items():
                self._people[key] = _later(self._people.get(key), person)
            for key, when in step.latest.items():
                self._latest[key] = max(when, self._latest.get(key, when))
            self._nhs.update(step.nhs)

    def discard(self) -> None:
        self._step = None

    def add(self, resource: dict[str, Any]) -> None:
        key = _provisional_key(resource)
        if key is None:
            return
        step = self._step or _Step()
        stamp = _last_updated(resource)
        if stamp is not None:
            step.latest[key] = max(stamp, step.latest.get(key, stamp))
        if resource.get("resourceType") == "Patient":
            person = {f: resource.get(f) for f in PATIENT_FIELDS}
            step.people[key] = _later(step.people.get(key), person)
            nhs = _nhs_number(resource.get("identifier"))
            if nhs is not None:
                step.nhs[key] = nhs
        else:
            state = step.states.get(key) or self._states.get(key) or PatientState()
            updated = apply(state, resource, None, self._terms)
            if updated is not None:
                step.states[key] = updated
        if self._step is None:  # outside a step: kept at once
            self._step = step
            self.commit()

    def rows(self, now: datetime) -> Iterator[dict[str, Any]]:
        """One output row per patient, sorted by patient, each made when it is asked for."""
        groups: dict[str, list[str]] = {}
        for key in dict.fromkeys([*self._people, *self._states]):
            groups.setdefault(self._nhs.get(key, key), []).append(key)
        for patient in sorted(groups):
            names = groups[patient]
            state = _merged([self._states[n] for n in names if n in self._states])
            context = _demographics([self._people[n] for n in names if n in self._people])
            if context is not None:
                state = state.with_patient(context) or state
            stamps = [self._latest[n] for n in names if n in self._latest]
            flagged = reflag(state, FlagContext(patient, now, max(stamps, default=now), patient))
            assert flagged.classification is not None  # reflag always classifies
            yield summarise(patient, flagged.classification) | {
                "flags": [f.model_dump(mode="json") for f in flagged.flags]
            }


class _Step:
    def __init__(self) -> None:
        self.states: dict[str, PatientState] = {}
        self.people: dict[str, dict[str, Any]] = {}
        self.latest: dict[str, datetime] = {}
        self.nhs: dict[str, str] = {}


def classify_resources(
    resources: Iterable[dict[str, Any]], terms: Terminology, now: datetime
) -> list[dict[str, Any]]:
    """Resources already in memory, classified as `rmbc classify` does: one row per patient."""
    batch = Batch(terms)
    for resource in resources:
        batch.add(resource)
    return list(batch.rows(now))


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


def _merged(states: list[PatientState]) -> PatientState:
    """One patient's states known under several names, as one: a resource's records in two
    states keep the latest version's fact and both histories."""
    if not states:
        return PatientState()
    merged = states[0]
    for other in states[1:]:
        records = merged.records
        for key, record in other.records.items():
            mine = records.get(key)
            if mine is not None:
                latest = record.fact if record.fact.version >= mine.fact.version else mine.fact
                history = dict.fromkeys([*mine.history, *record.history])
                record = Record(latest, tuple(sorted(history, key=lambda entry: entry[0])))
            records = records.with_record(record)
        merged = PatientState(records, merged.patient, merged.emitted)
    return merged


def _provisional_key(resource: dict[str, Any]) -> str | None:
    """The patient a resource names by itself: its Patient/<id>, or the NHS number in
    `subject.identifier`, else the subject reference as `Patient/<id>`."""
    kind = resource.get("resourceType")
    if kind == "Patient":
        return f"Patient/{resource.get('id')}"
    if kind not in ("Condition", "Observation"):
        return None
    subject = resource.get("subject") or {}
    nhs = _nhs_number([subject.get("identifier")])
    reference = str(subject.get("reference") or "").split("/_history/")[0]
    reference = "/".join(reference.rstrip("/").split("/")[-2:]) if reference else ""
    return nhs or reference or None


def _nhs_number(identifiers: Any) -> str | None:
    for identifier in identifiers or []:
        if isinstance(identifier, dict) and identifier.get("system") == NHS_NUMBER_SYSTEM:
            value = identifier.get("value")
            if isinstance(value, str) and value.strip():
                return normalise_nhs_number(value.strip())
    return None


def _later(kept: dict[str, Any] | None, person: dict[str, Any]) -> dict[str, Any]:
    """The Patient version to keep: the latest lastUpdated; of equals, the one read last."""
    return person if kept is None or _updated(person) >= _updated(kept) else kept


def _updated(person: dict[str, Any]) -> str:
    return str((person.get("meta") or {}).get("lastUpdated") or "")


def _demographics(people: list[dict[str, Any]]) -> PatientContext | None:
    if not people:
        return None
    latest = sorted(people, key=_updated)[-1]
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


def _last_updated(resource: dict[str, Any]) -> datetime | None:
    text = (resource.get("meta") or {}).get("lastUpdated")
    if not isinstance(text, str):
        return None
    try:
        stamp = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
