"""Bundles in, the resources to accept out; and the Bundles ingest answers with. Pure.

- transaction, collection and message: all or nothing (any bad entry refuses the whole Bundle);
- batch: each entry stands alone and gets its own outcome in a batch-response;
- message: the first entry is a MessageHeader; the other entries are the resources.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from services.ingest.acceptance import Accepted, Outcome, Refused, ResourceInRequest
from services.ingest.errors import InvalidInput, Issue, refusal_status
from services.ingest.fhir.outcomes import information_outcome, operation_outcome
from services.ingest.fhir.request_body import bundle_shell_issues, message_header_issues
from services.ingest.validation import fhir_id_issue, full_url_id
from shared.events import ClinicalEvent

STATUS_TEXT = {
    201: "201 Created",
    400: "400 Bad Request",
    413: "413 Content Too Large",
    422: "422 Unprocessable Entity",
}


@dataclass(frozen=True)
class BundleRequest:
    bundle_type: str
    items: list[ResourceInRequest]
    message_id: str | None  # MessageHeader.id for a message, else Bundle.id
    header: dict[str, Any] | None = None

    @property
    def atomic(self) -> bool:
        return self.bundle_type != "batch"


def read_bundle(
    raw: dict[str, Any], *, max_entries: int, message_only: bool = False
) -> BundleRequest:
    """The entries of a Bundle as items, or InvalidInput (413 over `max_entries`, else 400/422)."""
    if raw.get("resourceType") != "Bundle":
        raise InvalidInput(
            [Issue("structure", "Expected a Bundle", f"{raw.get('resourceType')}.resourceType")],
            status=400,
        )
    entries = raw.get("entry", [])
    if isinstance(entries, list) and len(entries) > max_entries:
        raise InvalidInput(
            [
                Issue(
                    "too-costly",
                    f"The Bundle has {len(entries)} entries; the limit is {max_entries}",
                    "Bundle.entry",
                )
            ],
            status=413,
        )
    issues = bundle_shell_issues(raw)
    if not issues and message_only and raw["type"] != "message":
        issues = [
            Issue("invalid", "$process-message takes a Bundle of type message", "Bundle.type")
        ]
    if issues:
        raise InvalidInput(issues)
    issues = full_url_issues(entries)
    if issues:  # the Bundle's own envelope is wrong: a bad request, whatever its resources
        raise InvalidInput(issues, status=400)
    bundle_type = raw["type"]
    header = None
    first = 0
    if bundle_type == "message":
        at = "Bundle.entry[0].resource"
        header = entries[0]["resource"] if entries else None
        issues = message_header_issues(header, at)
        if issues:
            raise InvalidInput(issues)
        first = 1
    items = [
        ResourceInRequest(
            resource=entry["resource"],
            at=f"Bundle.entry[{position}].resource",
            full_url=entry.get("fullUrl"),
            request_url=_update_url(entry.get("request")),
        )
        for position, entry in enumerate(entries)
        if position >= first
    ]
    message_id = header.get("id") if header else raw.get("id")
    return BundleRequest(bundle_type, items, message_id, header)


def full_url_issues(entries: list[dict[str, Any]]) -> list[Issue]:
    """Each fullUrl ends in a FHIR id (a resource without an id takes it: `..`, U+2028 or 5,000
    characters must not become one), and no two resources take one id from different fullUrls
    (`https://a/fhir/Condition/1`, `https://b/fhir/Condition/1`): refused rather than let the
    later replace the earlier downstream, since an id cannot keep the base."""
    issues = []
    first: dict[tuple[str, str], str] = {}
    for position, entry in enumerate(entries):
        full_url = entry.get("fullUrl")
        if not full_url:
            continue
        at = f"Bundle.entry[{position}].fullUrl"
        tail = full_url_id(full_url)
        if (issue := fhir_id_issue(tail, at)) is not None:
            issues.append(issue)
            continue
        resource = entry.get("resource")
        if not isinstance(resource, dict) or resource.get("id"):
            continue
        if first.setdefault((str(resource.get("resourceType")), tail), full_url) != full_url:
            text = (
                f"Another entry's fullUrl also gives the id {tail}; give each resource its own id"
            )
            issues.append(Issue("duplicate", text, at))
    return issues


def _update_url(request: dict[str, Any] | None) -> str | None:
    if request and request.get("method") == "PUT":
        return str(request["url"])
    return None


def batch_response(outcomes: list[Outcome]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "batch-response",
        "entry": [_response_entry(outcome) for outcome in outcomes],
    }


def transaction_response(events: list[ClinicalEvent]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction-response",
        "entry": [_response_entry(Accepted(event)) for event in events],
    }


ResponseCode = Literal["ok", "transient-error", "fatal-error"]


def message_response(
    header: dict[str, Any] | None,
    outcome: dict[str, Any],
    *,
    code: ResponseCode,
    response_id: str,
    outcome_id: str,
    now: datetime,
) -> dict[str, Any]:
    """The response message FHIR R4 defines for `$process-message` (messaging.html,
    MessageHeader.response): a MessageHeader whose response names the request's MessageHeader.id,
    says `ok`, `transient-error` (resend later) or `fatal-error` (do not resend unchanged), and
    refers to the OperationOutcome that follows from `response.details`. The request's event is
    copied in the form it came in (`eventCoding` or `eventUri`)."""
    request = header or {}
    response_header: dict[str, Any] = {"resourceType": "MessageHeader", "id": response_id}
    # a refused request's header may itself be malformed: only well-typed values are copied
    if isinstance(request.get("eventCoding"), dict):
        response_header["eventCoding"] = request["eventCoding"]
    elif isinstance(request.get("eventUri"), str):
        response_header["eventUri"] = request["eventUri"]
    response: dict[str, Any] = {"code": code, "details": {"reference": f"urn:uuid:{outcome_id}"}}
    if isinstance(request.get("id"), str) and request["id"]:
        response["identifier"] = request["id"]
    response_header["source"] = {"endpoint": "urn:rmbc:ingest", "name": "rmbc ingest"}
    response_header["response"] = response
    return {
        "resourceType": "Bundle",
        "id": response_id,
        "type": "message",
        "timestamp": now.isoformat(),
        "entry": [
            {"fullUrl": f"urn:uuid:{response_id}", "resource": response_header},
            {"fullUrl": f"urn:uuid:{outcome_id}", "resource": {**outcome, "id": outcome_id}},
        ],
    }


def request_header(raw: Any) -> dict[str, Any] | None:
    """The MessageHeader a request message starts with, when there is one to answer."""
    entries = raw.get("entry") if isinstance(raw, dict) else None
    first = entries[0] if isinstance(entries, list) and entries else None
    resource = first.get("resource") if isinstance(first, dict) else None
    if isinstance(resource, dict) and resource.get("resourceType") == "MessageHeader":
        return resource
    return None


def accepted_outcome(events: list[ClinicalEvent]) -> dict[str, Any]:
    accepted = ", ".join(f"{e.resource_type}/{e.resource_id}" for e in events)
    return information_outcome(f"Accepted {len(events)} resource(s): {accepted}")


def location(event: ClinicalEvent) -> str:
    base = f"{event.resource_type}/{event.resource_id}"
    return f"{base}/_history/{event.version_id}" if event.version_id else base


def _response_entry(outcome: Outcome) -> dict[str, Any]:
    if isinstance(outcome, Refused):
        return {
            "response": {
                "status": STATUS_TEXT[refusal_status(outcome.issues)],
                "outcome": operation_outcome(outcome.issues),
            }
        }
    event = outcome.event
    response: dict[str, Any] = {"status": STATUS_TEXT[201], "location": location(event)}
    if event.version_id:
        response["etag"] = f'W/"{event.version_id}"'
    return {"response": response}
