"""What the accepter decides, purely: resources in, one event or the reasons for refusal each.

No I/O, no clock: `now` and the correlation id are passed in. The accepter (`accepter.py`)
publishes what is accepted and remembers the accepted Patients in the PatientIndex.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.ingest.clinical_events import build_event, content_digest
from services.ingest.errors import Issue
from services.ingest.patients import (
    PatientIndex,
    context_from_patient,
    context_from_subject,
    fill_gaps,
    merge,
    patient_key,
    reference_key,
)
from services.ingest.validation import fhir_id_issue, full_url_id, resource_issues
from shared.events import ClinicalEvent, PatientContext, Sender, stable_id
from shared.nhs_number import RANGE_NAMES, number_range


@dataclass(frozen=True)
class ResourceInRequest:
    """One resource of a request, with where it sits in the request."""

    resource: Any
    at: str  # its FHIRPath in the request: `Condition`, `Bundle.entry[3].resource`
    full_url: str | None = None
    request_url: str | None = None  # `Condition/abc` for a PUT (or a Bundle entry's request.url)


@dataclass(frozen=True)
class Accepted:
    event: ClinicalEvent


@dataclass(frozen=True)
class Refused:
    issues: list[Issue]


Outcome = Accepted | Refused


def plan(
    items: list[ResourceInRequest],
    *,
    index: PatientIndex,
    sender: Sender,
    correlation_id: str,
    now: datetime,
    accept_test_numbers: bool,
    checked: list[list[Issue]] | None = None,
) -> list[Outcome]:
    """Validate every item, resolve its patient, build its event. Same order as `items`.
    `checked`: each item's `resource_issues`, when the caller already has them.
    `accept_test_numbers`: the deployment is a test environment, where NHS numbers of the test
    range (never issued to patients) are taken; elsewhere they are refused."""
    issues = (
        [list(found) for found in checked]
        if checked is not None
        else [resource_issues(item.resource, item.at) for item in items]
    )
    ids: list[str | None] = [None] * len(items)
    for position, item in enumerate(items):
        if not issues[position]:
            ids[position], id_issues = _resource_id(item)
            issues[position] += id_issues
    patients = _patients_in_request(items, issues, ids)
    outcomes: list[Outcome] = []
    for position, item in enumerate(items):
        if issues[position]:
            outcomes.append(Refused(issues[position]))
            continue
        resource_id = ids[position]
        assert resource_id is not None
        resource: dict[str, Any] = item.resource
        if resource["resourceType"] == "Patient":
            context = context_from_patient(resource, f"Patient/{resource_id}")
        else:
            resolved = _subject_patient(item, patients, index)
            if isinstance(resolved, Refused):
                outcomes.append(resolved)
                continue
            context, resource = resolved
        if not accept_test_numbers and _is_test_number(context):
            outcomes.append(Refused([_test_number_issue(item)]))
            continue
        if resource.get("id") != resource_id:
            # a create without an id gets the one assigned here, as a FHIR server would assign it:
            # downstream tells resources apart by id
            resource = {**resource, "id": resource_id}
        event = build_event(
            resource,
            resource_id=resource_id,
            patient=context,
            key=patient_key(context),
            sender=sender,
            correlation_id=correlation_id,
            now=now,
        )
        outcomes.append(Accepted(event))
    return outcomes


def _is_test_number(context: PatientContext) -> bool:
    return context.nhs_number is not None and number_range(context.nhs_number) == "test"


def _test_number_issue(item: ResourceInRequest) -> Issue:
    where = "identifier" if item.resource["resourceType"] == "Patient" else "subject.identifier"
    return Issue(
        "value",
        f"The patient's NHS number is {RANGE_NAMES['test']}; this deployment is not a test "
        "environment and takes only numbers issued to patients",
        f"{item.at}.{where}",
    )


def _resource_id(item: ResourceInRequest) -> tuple[str, list[Issue]]:
    """The resource's id; for a create without one, the fullUrl's uuid or a content-derived id."""
    resource = item.resource
    resource_type = resource["resourceType"]
    given = resource.get("id")
    if item.request_url and "/" in item.request_url.strip("/"):
        url_type, _, url_id = item.request_url.strip("/").partition("/")
        url_id = url_id.split("/")[0].split("?")[0]
        if url_type != resource_type:
            return "", [
                Issue(
                    "invalid",
                    f"The URL names {url_type} but the resource is a {resource_type}",
                    f"{item.at}.resourceType",
                )
            ]
        if (issue := fhir_id_issue(url_id, _request_url_path(item))) is not None:
            return "", [issue]
        if given != url_id:
            return "", [
                Issue(
                    "invalid",
                    f"An update needs the resource id to equal the id in the URL ({url_id})",
                    f"{item.at}.id",
                )
            ]
    if given:
        return str(given), []
    if item.full_url:  # checked as a FHIR id with the Bundle (`bundles.full_url_issues`)
        return full_url_id(item.full_url), []
    return stable_id("content", resource_type, content_digest(resource)), []


def _request_url_path(item: ResourceInRequest) -> str:
    """Where an update's id was read: the entry's request.url, or the id the URL must match."""
    if item.at.endswith(".resource"):
        return f"{item.at.removesuffix('.resource')}.request.url"
    return f"{item.at}.id"


def _patients_in_request(
    items: list[ResourceInRequest], issues: list[list[Issue]], ids: list[str | None]
) -> dict[str, PatientContext]:
    """Valid Patients of this request, reachable by fullUrl and by `Patient/<id>`."""
    patients: dict[str, PatientContext] = {}
    for item, item_issues, resource_id in zip(items, issues, ids, strict=True):
        if item_issues or item.resource["resourceType"] != "Patient":
            continue
        context = context_from_patient(item.resource, f"Patient/{resource_id}")
        patients[f"Patient/{resource_id}"] = context
        if item.full_url:
            patients[item.full_url] = context
    return patients


def _subject_patient(
    item: ResourceInRequest, patients: dict[str, PatientContext], index: PatientIndex
) -> tuple[PatientContext, dict[str, Any]] | Refused:
    """The patient behind `subject`, and the resource with an in-request reference made relative."""
    resource: dict[str, Any] = item.resource
    subject = resource["subject"]
    reference = subject.get("reference")
    where = f"{item.at}.subject"
    known: PatientContext | None = None
    patient_reference: str | None = None
    if reference:
        known = patients.get(reference)
        if known is not None:
            patient_reference = known.patient_reference
            earlier = index.get(patient_reference) if patient_reference else None
            if earlier is not None:  # what this request's Patient leaves empty, known before
                known = fill_gaps(known, earlier)
        elif reference.startswith(("urn:uuid:", "urn:oid:", "#")):
            return Refused(
                [
                    Issue(
                        "not-found",
                        "The subject reference does not resolve to a Patient in this request",
                        f"{where}.reference",
                    )
                ]
            )
        else:
            patient_reference = reference_key(reference)
            if patient_reference is None:
                return Refused(
                    [
                        Issue(
                            "not-supported",
                            "The subject must be a Patient",
                            f"{where}.reference",
                        )
                    ]
                )
            known = patients.get(patient_reference) or index.get(patient_reference)
    from_subject = context_from_subject(subject, patient_reference)
    if known is None:
        return from_subject, resource
    if from_subject.nhs_number and known.nhs_number and from_subject.nhs_number != known.nhs_number:
        return Refused(
            [
                Issue(
                    "value",
                    "The subject's NHS number differs from the referenced Patient's NHS number",
                    f"{where}.identifier.value",
                )
            ]
        )
    if reference != patient_reference:
        resource = {**resource, "subject": {**subject, "reference": patient_reference}}
    return merge(known, from_subject), resource
