"""The GP practice's MESH message: a GP Connect Send Document ITK3 message, FHIR STU3 (pure).

Followed: nhsconnect/gpconnect-messaging `_data/senddoc_requirements.yml` (GPCM-SD-039..048 the
ITK3 header, GPCM-SD-103..124 the payload, GPCM-SD-131/132 replacement, GPCM-SD-064 the MESH
subject), `pages/integration/integration_itk3.md`; the message shape that airslie/renalware-core
sends (`app/models/renalware/letters/formats/fhir/resources/`: message Bundle = MessageHeader,
sender Organization, document Bundle = Composition, Organization, author, Patient, Binary).

- Message Bundle (ITK-Message-Bundle-1): MessageHeader (ITK-MessageHeader-2, event ITK007C, the
  ITKMessageHandling extension asking for infrastructure and business acknowledgements, recipient
  type "For action", sender reference = the alert id), the sender Organization, the recipient
  practice Organization, and the document Bundle it focuses on.
- Document Bundle (ITK-Document-Bundle-1): Composition (CareConnect-Composition-1, SNOMED document
  type, subject Patient with NHS number, custodian the trust, author, date, `relatesTo` replaces
  for a correction), the trust Organization, the author Device, the Patient and the letter as an
  ITK-Attachment-Binary-1 PDF, the first (and only) section entry.

Ids are derived from the alert id, so the same alert always makes the same MessageHeader id and
document id: a resend after a crash is a duplicate the practice's system recognises (ITK3 codes
20007/20008) rather than a second letter. The whole message is validated with the STU3 models
before it leaves; a message that fails validation is never sent.
"""

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import orjson
from fhir.resources.STU3.bundle import Bundle

from services.notifier.facts import Facts
from services.notifier.letter_pdf import document_title, document_version, letter_pdf
from shared.events import stable_id

CONTENT_TYPE = "application/fhir+json"
NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"
UUID_SYSTEM = "https://tools.ietf.org/html/rfc4122"
SNOMED = "http://snomed.info/sct"
ITK_EVENT_SYSTEM = "https://fhir.nhs.uk/STU3/CodeSystem/ITK-MessageEvent-2"
SEND_DOCUMENT_EVENT = ("ITK007C", "ITK GP Connect Send Document")
MESSAGE_DEFINITION = (
    "https://fhir.nhs.uk/STU3/MessageDefinition/ITK-GPConnectSendDocument-MessageDefinition-1"
)
HANDLING_EXTENSION = "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-ITK-MessageHandling-2"
RECIPIENT_TYPE_SYSTEM = "https://fhir.nhs.uk/STU3/CodeSystem/ITK-RecipientType-1"
# SNOMED CT document type: 371531000 "Report of clinical encounter" is the one GPCM-SD-115 fixes
# for consultation reports; an alert about a finding is a clinical report on the patient.
DOCUMENT_TYPE = ("371531000", "Report of clinical encounter")
PROFILES = {
    "message_bundle": "https://fhir.nhs.uk/STU3/StructureDefinition/ITK-Message-Bundle-1",
    "header": "https://fhir.nhs.uk/STU3/StructureDefinition/ITK-MessageHeader-2",
    "document_bundle": "https://fhir.nhs.uk/STU3/StructureDefinition/ITK-Document-Bundle-1",
    "composition": "https://fhir.hl7.org.uk/STU3/StructureDefinition/CareConnect-Composition-1",
    "organization": "https://fhir.hl7.org.uk/STU3/StructureDefinition/CareConnect-Organization-1",
    "header_org": "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-ITK-Header-Organization-1",
    "patient": "https://fhir.hl7.org.uk/STU3/StructureDefinition/CareConnect-Patient-1",
    "binary": "https://fhir.nhs.uk/STU3/StructureDefinition/ITK-Attachment-Binary-1",
}


@dataclass(frozen=True)
class SendDocument:
    """What goes to MESH, and the ids the ledger records before the send."""

    body: bytes
    message_header_id: str  # = the alert id: the MESH local id and the ITK3 SenderReference
    document_id: str  # the Composition's identifier, which a replacement names
    subject: str
    pdf: bytes  # the letter the message carries (the CNS team's e-mail attaches the same bytes)


def document_id(alert_id: str) -> str:
    return stable_id("gp-document", alert_id)


def mesh_subject(facts: Facts) -> str:
    """GPCM-SD-064's form: '{title} for {name} , NHS Number {n}, seen at {org}, ODS Code {ods},
    Version {v}'. The practice's worklist shows it; it goes only to the practice's mailbox and is
    never logged."""
    return (
        f"{document_title(facts)} for {facts.patient_name} , NHS Number "
        f"{facts.nhs_number or 'not known'}, seen at {facts.trust_name}, ODS Code "
        f"{facts.trust_ods or 'not known'}, Version {document_version(facts)}"
    )


def send_document(
    facts: Facts, sent_at: datetime, *, sender_mailbox: str, recipient_ods: str | None
) -> SendDocument:
    pdf = letter_pdf(facts, sent_at)
    message = message_bundle(facts, sent_at, sender_mailbox, recipient_ods, pdf)
    Bundle.model_validate(message)  # raises on anything the STU3 models refuse
    return SendDocument(
        orjson.dumps(message), facts.alert_id, document_id(facts.alert_id), mesh_subject(facts), pdf
    )


def message_bundle(
    facts: Facts, sent_at: datetime, sender_mailbox: str, recipient_ods: str | None, pdf: bytes
) -> dict[str, Any]:
    ids = _Ids(facts.alert_id)
    when = sent_at.isoformat()
    header: dict[str, Any] = {
        "resourceType": "MessageHeader",
        "id": ids.header,
        "meta": {"profile": [PROFILES["header"]]},
        "extension": [_handling(facts.alert_id)],
        "event": {
            "system": ITK_EVENT_SYSTEM,
            "code": SEND_DOCUMENT_EVENT[0],
            "display": SEND_DOCUMENT_EVENT[1],
        },
        "timestamp": when,
        "sender": {"reference": f"urn:uuid:{ids.of('sender')}"},
        "source": {"endpoint": sender_mailbox},
        "focus": [{"reference": f"urn:uuid:{ids.of('document-bundle')}"}],
    }
    entries = [
        _entry(header),
        _entry(_organization(ids.of("sender"), facts.trust_ods, facts.trust_name, "header_org")),
    ]
    if recipient_ods:
        recipient = _organization(
            ids.of("recipient"), recipient_ods, f"GP practice {recipient_ods}"
        )
        header["receiver"] = {"reference": f"urn:uuid:{ids.of('recipient')}"}
        entries.append(_entry(recipient))
    entries.append(_entry(_document_bundle(facts, sent_at, ids, pdf)))
    return {
        "resourceType": "Bundle",
        "id": ids.of("message-bundle"),
        "meta": {"profile": [PROFILES["message_bundle"]], "lastUpdated": when},
        "identifier": {"system": UUID_SYSTEM, "value": ids.of("message-bundle")},
        "type": "message",
        "entry": entries,
    }


Role = Literal[
    "message-bundle",
    "document-bundle",
    "sender",
    "recipient",
    "custodian",
    "author",
    "patient",
    "binary",
]


@dataclass(frozen=True)
class _Ids:
    """Every resource id of one alert's message, derived from the alert id (so the same alert
    always makes the same message): the MessageHeader's is the alert id itself, the
    Composition's the document id; the rest are stable_id(role, alert id)."""

    alert_id: str

    @property
    def header(self) -> str:
        return self.alert_id

    @property
    def composition(self) -> str:
        return document_id(self.alert_id)

    def of(self, role: Role) -> str:
        return stable_id(f"itk-{role}", self.alert_id)


def _handling(sender_reference: str) -> dict[str, Any]:
    return {
        "url": HANDLING_EXTENSION,
        "extension": [
            {"url": "BusAckRequested", "valueBoolean": True},
            {"url": "InfAckRequested", "valueBoolean": True},
            {
                "url": "RecipientType",
                "valueCoding": {
                    "system": RECIPIENT_TYPE_SYSTEM,
                    "code": "FA",
                    "display": "For Action",
                },
            },
            {"url": "MessageDefinition", "valueReference": {"reference": MESSAGE_DEFINITION}},
            {"url": "SenderReference", "valueString": sender_reference},
            {"url": "LocalExtension", "valueString": "None"},
        ],
    }


def _entry(resource: dict[str, Any]) -> dict[str, Any]:
    return {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}


def _organization(
    resource_id: str, ods: str | None, name: str, profile: str = "organization"
) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Organization",
        "id": resource_id,
        "meta": {"profile": [PROFILES[profile]]},
        "name": name,
    }
    if ods:
        resource["identifier"] = [{"system": ODS_SYSTEM, "value": ods}]
    return resource


def _document_bundle(facts: Facts, sent_at: datetime, ids: _Ids, pdf: bytes) -> dict[str, Any]:
    when = sent_at.isoformat()
    composition: dict[str, Any] = {
        "resourceType": "Composition",
        "id": ids.composition,
        "meta": {"profile": [PROFILES["composition"]]},
        "identifier": {"system": UUID_SYSTEM, "value": ids.composition},
        "status": "final",
        "type": {
            "coding": [{"system": SNOMED, "code": DOCUMENT_TYPE[0], "display": DOCUMENT_TYPE[1]}]
        },
        "subject": {"reference": f"urn:uuid:{ids.of('patient')}"},
        "date": when,
        "author": [{"reference": f"urn:uuid:{ids.of('author')}"}],
        "custodian": {"reference": f"urn:uuid:{ids.of('custodian')}"},
        "title": document_title(facts),
        "confidentiality": "N",
        "section": [
            {
                "title": document_title(facts),
                "entry": [{"reference": f"urn:uuid:{ids.of('binary')}"}],
            }
        ],
    }
    if facts.corrects:
        composition["relatesTo"] = [
            {
                "code": "replaces",
                "targetIdentifier": {"system": UUID_SYSTEM, "value": document_id(facts.corrects)},
            }
        ]
    author = {
        "resourceType": "Device",
        "id": ids.of("author"),
        "type": {"text": "rmbc: automated breast cancer alerting"},
        "owner": {"reference": f"urn:uuid:{ids.of('custodian')}"},
    }
    binary = {
        "resourceType": "Binary",
        "id": ids.of("binary"),
        "meta": {"profile": [PROFILES["binary"]]},
        "contentType": "application/pdf",
        "content": base64.b64encode(pdf).decode("ascii"),
    }
    return {
        "resourceType": "Bundle",
        "id": ids.of("document-bundle"),
        "meta": {"profile": [PROFILES["document_bundle"]], "lastUpdated": when},
        "identifier": {"system": UUID_SYSTEM, "value": ids.of("document-bundle")},
        "type": "document",
        "entry": [
            _entry(composition),
            _entry(_organization(ids.of("custodian"), facts.trust_ods, facts.trust_name)),
            _entry(author),
            _entry(_patient(facts, ids.of("patient"))),
            _entry(binary),
        ],
    }


def _patient(facts: Facts, resource_id: str) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": resource_id,
        "meta": {"profile": [PROFILES["patient"]]},
        "name": [
            {
                "use": "official",
                **({"family": facts.family_name} if facts.family_name else {}),
                **({"given": facts.given_names.split()} if facts.given_names else {}),
                "text": facts.patient_name,
            }
        ],
    }
    if facts.nhs_number:
        resource["identifier"] = [{"system": NHS_NUMBER_SYSTEM, "value": facts.nhs_number}]
    if facts.birth_date:
        resource["birthDate"] = facts.birth_date.isoformat()
    return resource
