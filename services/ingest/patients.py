"""Who a resource is about: the patient key (the Kafka key) and the PatientContext an event carries.

The key is the NHS number when one is known, else a local identifier `system|value`, else the
subject reference `Patient/<id>`. Demographics come, in this order, from a Patient in the same
request (Bundle entry or earlier in the list), from an earlier Patient event this process accepted
(the index below), and from the subject's own identifier.

`PatientIndex` limits, on purpose:
- it lives in memory; at start it is rebuilt from the Patient events on the clinical-events topic
  (`patient_history.py`) before the first event is accepted, so a restart loses nothing;
- after the start it is per process: two ingest replicas each learn only the Patients they accept;
- it is bounded (least recently used entries are dropped beyond `max_patients`).
So a Condition that only says `Patient/<id>`, sent to another replica than the one that accepted
its Patient since both started, is keyed `Patient/<id>` with no NHS number. Senders that put `subject.identifier` (the NHS
number) on every resource, as UK Core recommends, are not affected. The classifier, which keeps
durable per-patient state, stays the owner of patient identity over time.
"""

from collections import OrderedDict
from datetime import date
from typing import Any

from shared.events import PatientContext
from shared.nhs_number import NHS_NUMBER_SYSTEM, ODS_SYSTEM, normalise_nhs_number

NHS_NUMBER_STATUS_EXTENSION = (
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus"
)


def patient_key(context: PatientContext) -> str:
    key = context.nhs_number or context.local_identifier or context.patient_reference
    if key is None:  # every context is built with at least one of the three
        raise ValueError("a patient context without any identifier")
    return key


def reference_key(reference: str) -> str | None:
    """`Patient/<id>` for a relative or absolute Patient reference; None for anything else."""
    parts = reference.rstrip("/").split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2 and parts[-2] == "Patient" and parts[-1]:
        return f"Patient/{parts[-1]}"
    return None


def context_from_patient(patient: dict[str, Any], reference: str) -> PatientContext:
    """The demographics a Patient resource carries. `reference` is its `Patient/<id>`."""
    nhs_number, status, local = _identifiers(patient.get("identifier", []))
    family, given = _name(patient.get("name", []))
    return PatientContext(
        nhs_number=nhs_number,
        nhs_number_status=status,
        local_identifier=local,
        patient_reference=reference,
        family_name=family,
        given_names=given,
        birth_date=_date(patient.get("birthDate")),
        gp_practice_ods=_first_ods(patient.get("generalPractitioner", [])),
        provider_ods=_first_ods([patient["managingOrganization"]])
        if "managingOrganization" in patient
        else None,
    )


def context_from_subject(subject: dict[str, Any], reference: str | None) -> PatientContext:
    """What `subject` alone says: its identifier (NHS number or local) and its reference."""
    identifier = subject.get("identifier")
    nhs_number, status, local = _identifiers([identifier] if identifier else [])
    return PatientContext(
        nhs_number=nhs_number,
        nhs_number_status=status,
        local_identifier=local,
        patient_reference=reference,
    )


def merge(known: PatientContext, subject: PatientContext) -> PatientContext:
    """`known` (from a Patient) completed by what the subject adds. Caller checks for conflicts."""
    updates = {
        field: value
        for field, value in subject.model_dump(exclude_none=True).items()
        if getattr(known, field) is None
    }
    return known.model_copy(update=updates) if updates else known


def fill_gaps(latest: PatientContext, earlier: PatientContext) -> PatientContext:
    """`latest` with its empty fields taken from `earlier`, when both name the same patient: a
    different NHS number is another identity, and nothing of it is carried over."""
    if latest.nhs_number and earlier.nhs_number and latest.nhs_number != earlier.nhs_number:
        return latest
    return merge(latest, earlier)


class PatientIndex:
    """Patient contexts this process accepted, by `Patient/<id>`, bounded, least recently used out.

    See the module docstring for what it does not do (survive a restart, span replicas).
    """

    def __init__(self, max_patients: int = 100_000) -> None:
        self.max_patients = max_patients
        self._by_reference: OrderedDict[str, PatientContext] = OrderedDict()

    def __len__(self) -> int:
        return len(self._by_reference)

    def get(self, reference: str) -> PatientContext | None:
        context = self._by_reference.get(reference)
        if context is not None:
            self._by_reference.move_to_end(reference)
        return context

    def remember(self, context: PatientContext) -> None:
        """Keep `context`; what it leaves empty keeps its earlier value (an HL7 result without
        PD1 does not forget the practice an ADT gave), as the classifier merges demographics."""
        reference = context.patient_reference
        if reference is None:
            return
        earlier = self._by_reference.get(reference)
        if earlier is not None:
            context = fill_gaps(context, earlier)
        self._by_reference[reference] = context
        self._by_reference.move_to_end(reference)
        while len(self._by_reference) > self.max_patients:
            self._by_reference.popitem(last=False)


def _identifiers(identifiers: list[Any]) -> tuple[str | None, str | None, str | None]:
    nhs_number = status = local = None
    for identifier in identifiers:
        system, value = identifier.get("system"), identifier.get("value")
        if not system or not value:
            continue
        if system == NHS_NUMBER_SYSTEM:
            if nhs_number is None:
                nhs_number = normalise_nhs_number(value)
                status = _nhs_number_status(identifier)
        elif local is None:
            local = f"{system}|{value}"
    return nhs_number, status, local


def _nhs_number_status(identifier: dict[str, Any]) -> str | None:
    for extension in identifier.get("extension", []):
        if extension.get("url") == NHS_NUMBER_STATUS_EXTENSION:
            for coding in extension.get("valueCodeableConcept", {}).get("coding", []):
                if coding.get("code"):
                    return str(coding["code"])
    return None


def _name(names: list[dict[str, Any]]) -> tuple[str | None, str | None]:
    if not names:
        return None, None
    official = next((n for n in names if n.get("use") == "official"), names[0])
    given = " ".join(official.get("given", [])) or None
    return official.get("family"), given


def _first_ods(references: list[dict[str, Any]]) -> str | None:
    for reference in references:
        identifier = reference.get("identifier") or {}
        if identifier.get("system") == ODS_SYSTEM and identifier.get("value"):
            return str(identifier["value"])
    return None


def _date(value: str | None) -> date | None:
    """A FHIR date; a partial date (`1970` or `1970-05`) means its first day."""
    if not value:
        return None
    parts = value.split("-")
    year = int(parts[0])
    month = int(parts[1]) if len(parts) > 1 else 1
    day = int(parts[2][:2]) if len(parts) > 2 else 1
    return date(year, month, day)
