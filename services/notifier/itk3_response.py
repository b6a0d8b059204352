"""ITK3 responses (acknowledgements) to a Send Document message, and MESH reports (pure).

Codes and meanings from the ITK3 response code table as airslie/renalware-core carries it
(`app/models/renalware/letters/transports/mesh/api/itk3_responses.text`, lifted from the ITK3
Messaging Distribution "explore_response_codes" page); the response shape (MessageHeader event
ITK008M, `response.identifier` = the MessageHeader id answered, `response.code`, an
OperationOutcome whose issue carries the code in ITK-ResponseCodes-1) from its response scenarios
(`spec/fixtures/files/letters/transports/mesh/api/response_scenarios/`) and GPCM-SD-050..055 of
nhsconnect/gpconnect-messaging `_data/senddoc_requirements.yml`. MESH error codes (a report in the
sender's inbox) from the MESH API: 14 is "not collected by the recipient" in time.

Infrastructure acknowledgements use codes 1xxxx-2xxxx (20013 = received and processed); business
acknowledgements 3xxxx (30001 = patient known here, filed). Every negative code is final: no other
response follows it.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
from fhir.resources.STU3.bundle import Bundle

from shared.events import AlertOutcome, stable_id

RESPONSE_CODE_SYSTEM = "https://fhir.nhs.uk/STU3/CodeSystem/ITK-ResponseCodes-1"
RESPONSE_EVENT = ("ITK008M", "ITK Response")
RESPONSE_DEFINITION = "https://fhir.nhs.uk/STU3/MessageDefinition/ITK-Response-MessageDefinition-1"
EVENT_SYSTEM = "https://fhir.nhs.uk/STU3/CodeSystem/ITK-MessageEvent-2"
HANDLING_EXTENSION = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-ITK-MessageHandling-2"

INFRASTRUCTURE_OK = "20013"
PATIENT_KNOWN = "30001"
PATIENT_NOT_KNOWN = "30002"
DUPLICATE_MESSAGE = "20007"
DUPLICATE_DOCUMENT = "20008"
MESH_NOT_COLLECTED = "14"

CODES: dict[str, str] = {
    "10001": "Handling Specification Error",
    "10009": "Unreadable message received",
    "20006": "ITK3 Header validation failure",
    DUPLICATE_MESSAGE: "Duplicate Message received",
    DUPLICATE_DOCUMENT: "Duplicate Document received",
    "20009": "Payload validation failure",
    INFRASTRUCTURE_OK: "Success",
    "20014": "Unable to Process Replacement Document",
    "20015": "Message too large",
    PATIENT_KNOWN: "Patient known here",
    PATIENT_NOT_KNOWN: "Patient not known here",
    "30003": "Patient no longer at this clinical setting",
    "30004": "Patient known here and recently deceased",
}
POSITIVE = frozenset({INFRASTRUCTURE_OK, PATIENT_KNOWN, "30004"})
# the practice already has this message or document: the first copy is what it filed
DUPLICATES = frozenset({DUPLICATE_MESSAGE, DUPLICATE_DOCUMENT})


@dataclass(frozen=True)
class Acknowledgement:
    answers: str  # the MessageHeader id answered (= rmbc's alert id)
    code: str
    display: str


@dataclass(frozen=True)
class Outcome:
    """What an acknowledgement or report means for the alert; `negative` means the practice was
    not told, and the CNS team must hear of it."""

    outcome: AlertOutcome
    negative: bool
    detail: str


def read_acknowledgement(body: bytes) -> Acknowledgement:
    """Validate with the STU3 models and read the answer; raises ValueError if it is not one."""
    bundle = Bundle.model_validate(orjson.loads(body))
    entries: list[Any] = list(bundle.entry or [])
    header: Any = entries[0].resource if entries else None
    if header is None or type(header).__name__ != "MessageHeader" or header.response is None:
        raise ValueError("not an ITK3 response: no MessageHeader with a response")
    if header.event.code != RESPONSE_EVENT[0]:
        raise ValueError(f"not an ITK3 response: event {header.event.code}")
    by_url: dict[str, Any] = {e.fullUrl: e.resource for e in entries}
    code, display = "", header.response.code
    details = header.response.details
    outcome = by_url.get(details.reference) if details is not None else None
    if outcome is not None and outcome.issue:
        coding = outcome.issue[0].details.coding[0] if outcome.issue[0].details else None
        if coding is not None:
            code, display = str(coding.code), str(coding.display or CODES.get(coding.code, ""))
    if not code:
        raise ValueError("ITK3 response without a response code")
    return Acknowledgement(str(header.response.identifier), code, display)


def acknowledgement_outcome(ack: Acknowledgement) -> Outcome:
    described = f"ITK3 {ack.code} {ack.display or CODES.get(ack.code, 'unknown code')}"
    if ack.code == INFRASTRUCTURE_OK:
        return Outcome("delivered", False, described)
    if ack.code in (PATIENT_KNOWN, "30004"):
        return Outcome("filed", False, described)
    if ack.code in DUPLICATES:
        return Outcome("delivered", False, f"{described}: the practice has the first copy")
    if ack.code in (PATIENT_NOT_KNOWN, "30003"):
        return Outcome("patient_not_registered", True, described)
    return Outcome("rejected", True, described)


def report_outcome(code: str | None, description: str | None) -> Outcome:
    """A MESH report about a message rmbc sent (non-delivery, expiry)."""
    described = f"MESH error {code or '?'} {description or ''}".strip()
    if code == MESH_NOT_COLLECTED:
        return Outcome("not_collected", True, described)
    return Outcome("rejected", True, described)


def response_message(
    *,
    answers: str,
    code: str,
    sender_mailbox: str,
    sender_ods: str,
    now: datetime,
) -> dict[str, Any]:
    """An ITK3 response as a receiving system sends it (the GP-practice peer's side)."""
    header_id = stable_id("itk3-response", answers, code)
    outcome_id = stable_id("itk3-outcome", answers, code)
    org_id = stable_id("itk3-responder", sender_ods)
    fatal = code not in POSITIVE
    kind: Literal["ok", "fatal-error"] = "fatal-error" if fatal else "ok"
    return {
        "resourceType": "Bundle",
        "id": stable_id("itk3-response-bundle", answers, code),
        "meta": {"profile": ["https://fhir.nhs.uk/STU3/StructureDefinition/ITK-Message-Bundle-1"]},
        "type": "message",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{header_id}",
                "resource": {
                    "resourceType": "MessageHeader",
                    "id": header_id,
                    "extension": [
                        {
                            "url": HANDLING_EXTENSION,
                            "extension": [
                                {"url": "BusAckRequested", "valueBoolean": False},
                                {"url": "InfAckRequested", "valueBoolean": False},
                                {
                                    "url": "MessageDefinition",
                                    "valueReference": {"reference": RESPONSE_DEFINITION},
                                },
                                {"url": "SenderReference", "valueString": answers},
                            ],
                        }
                    ],
                    "event": {
                        "system": EVENT_SYSTEM,
                        "code": RESPONSE_EVENT[0],
                        "display": RESPONSE_EVENT[1],
                    },
                    "sender": {"reference": f"urn:uuid:{org_id}"},
                    "timestamp": now.isoformat(),
                    "source": {"endpoint": sender_mailbox},
                    "response": {
                        "identifier": answers,
                        "code": kind,
                        "details": {"reference": f"urn:uuid:{outcome_id}"},
                    },
                },
            },
            {
                "fullUrl": f"urn:uuid:{org_id}",
                "resource": {
                    "resourceType": "Organization",
                    "id": org_id,
                    "identifier": [
                        {
                            "system": "https://fhir.nhs.uk/Id/ods-organization-code",
                            "value": sender_ods,
                        }
                    ],
                },
            },
            {
                "fullUrl": f"urn:uuid:{outcome_id}",
                "resource": {
                    "resourceType": "OperationOutcome",
                    "id": outcome_id,
                    "issue": [
                        {
                            "severity": "fatal" if fatal else "information",
                            "code": "informational" if not fatal else "not-found",
                            "details": {
                                "coding": [
                                    {
                                        "system": RESPONSE_CODE_SYSTEM,
                                        "code": code,
                                        "display": CODES.get(code, code),
                                    }
                                ]
                            },
                        }
                    ],
                },
            },
        ],
    }
