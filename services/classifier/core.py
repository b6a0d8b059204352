"""The classifier's one entry point, shared by the stream and `rmbc classify`: apply a resource
version to a patient's state, reclassify, and return the flag changes."""

from typing import Any

from services.classifier.bounds import bounded_fact
from services.classifier.facts import extract
from services.classifier.flags import FlagContext, diff
from services.classifier.immutable import immutable
from services.classifier.rules import Classification, classify
from services.classifier.state import PatientState
from services.classifier.terminology import Terminology
from shared.events import CancerFlag, PatientContext


@immutable
class Change:
    state: PatientState
    flags: list[CancerFlag]
    changed: bool
    classification: Classification | None = None


def apply(
    state: PatientState,
    resource: dict[str, Any],
    patient: PatientContext | None,
    terms: Terminology,
) -> PatientState | None:
    """The state with this resource version (and any demographics) applied; None if unchanged.
    What enters the state is bounded (`bounds`)."""
    updated = state
    if patient is not None:
        updated = updated.with_patient(patient) or updated
    fact = extract(resource, terms, state.records)
    if fact is not None:
        updated = updated.with_fact(bounded_fact(fact)) or updated
    return None if updated is state else updated


def handle(
    state: PatientState,
    resource: dict[str, Any],
    patient: PatientContext | None,
    terms: Terminology,
    context: FlagContext,
) -> Change:
    updated = apply(state, resource, patient, terms)
    if updated is None:
        return Change(state, [], changed=False)
    if updated.records is state.records:
        return Change(updated, [], changed=True)  # demographics only: flags keep their content
    return reflag(updated, context)


def reflag(state: PatientState, context: FlagContext) -> Change:
    result = classify(state.records.values())
    updated, flags = diff(state, result, context)
    return Change(updated, flags, changed=True, classification=result)


def current(state: PatientState) -> Classification:
    return classify(state.records.values())
