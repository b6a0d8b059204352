"""A GP practice's system at the far end of MESH, for the demo and the tests.

It collects Send Document messages from its mesh-sandbox mailbox with mesh-client, validates each
with the FHIR STU3 models, takes out the PDF, and answers the sender on the acknowledgement
workflow as GP Connect Send Document asks (nhsconnect/gpconnect-messaging
`_data/senddoc_requirements.yml`, GPCM-SD-050..055): an infrastructure acknowledgement (20013, or
20007 for a MessageHeader id it has already filed, 20009 for a message it cannot validate), then a
business acknowledgement (30001 patient known here, or 30002 for the NHS numbers it is told are not
registered). A replacement document (Composition.relatesTo replaces) is filed in place of the one
it names. Run it alone: `python -m services.demo.gp_practice URL MAILBOX ODS [NOT_REGISTERED...]`.
"""

import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from fhir.resources.STU3.bundle import Bundle
from mesh_client import MeshClient

from services.notifier.itk3_response import (
    DUPLICATE_MESSAGE,
    INFRASTRUCTURE_OK,
    PATIENT_KNOWN,
    PATIENT_NOT_KNOWN,
    response_message,
)


@dataclass(frozen=True)
class OpenedDocument:
    header: Any  # the ITK3 MessageHeader (STU3 model)
    composition: Any
    patient: Any
    pdf: bytes


def open_document(body: bytes) -> OpenedDocument:
    """Validate a Send Document message with the STU3 models and take out its parts and PDF."""
    bundle = Bundle.model_validate(orjson.loads(body))
    entries: list[Any] = list(bundle.entry or [])
    header = entries[0].resource
    if type(header).__name__ != "MessageHeader" or header.event.code != "ITK007C":
        raise ValueError("not a Send Document message (MessageHeader ITK007C first)")
    by_url = {e.fullUrl: e.resource for e in entries}
    document = by_url[header.focus[0].reference]
    inner = {e.fullUrl: e.resource for e in document.entry}
    composition = document.entry[0].resource
    binary = inner[composition.section[0].entry[0].reference]
    if binary.contentType != "application/pdf":
        raise ValueError(f"the first section entry is {binary.contentType}, not a PDF")
    pdf: bytes = binary.content  # the model holds base64Binary decoded
    return OpenedDocument(header, composition, inner[composition.subject.reference], pdf)


@dataclass
class Filed:
    header_id: str
    document_id: str
    nhs_number: str
    pdf: bytes
    replaces: str | None


@dataclass
class GpPractice:
    url: str
    mailbox: str
    ods: str
    document_workflow: str
    ack_workflow: str
    password: str = "password"
    shared_key: str = "TestKey"
    not_registered: frozenset[str] = frozenset()
    business_acks: bool = True  # False: a practice that takes documents in but never files them
    pdf_folder: Path | None = None
    filed: dict[str, Filed] = field(default_factory=dict)  # by document id, replaced ones gone
    seen_headers: set[str] = field(default_factory=set)
    answers: Counter[str] = field(default_factory=Counter)  # response code -> count
    received: int = 0  # Send Document messages collected

    def client(self) -> MeshClient:
        return MeshClient(
            self.url,
            self.mailbox,
            self.password,
            shared_key=self.shared_key.encode(),
            max_retries=0,
        )

    def poll_once(self) -> int:
        """Collect, file and answer everything waiting; return how many messages were handled."""
        handled = 0
        with self.client() as client:
            for message_id in client.list_messages():
                message = client.retrieve_message(message_id)
                body, sender = message.read(), message.sender
                if message.workflow_id == self.document_workflow:
                    self.received += 1
                    for code in self._file(body):
                        self.answer(client, sender, body, code)
                message.acknowledge()
                handled += 1
        return handled

    def _file(self, body: bytes) -> list[str]:
        try:
            document = open_document(body)
        except (ValueError, KeyError, IndexError, TypeError, AttributeError):  # refused: 20009
            return ["20009"]
        header_id = document.header.id
        if header_id in self.seen_headers:
            return [DUPLICATE_MESSAGE]
        self.seen_headers.add(header_id)
        nhs_number = document.patient.identifier[0].value
        if nhs_number in self.not_registered:
            return [INFRASTRUCTURE_OK, PATIENT_NOT_KNOWN]
        if not self.business_acks:
            return [INFRASTRUCTURE_OK]
        self._keep(document, header_id, nhs_number)
        return [INFRASTRUCTURE_OK, PATIENT_KNOWN]

    def _keep(self, document: OpenedDocument, header_id: str, nhs_number: str) -> None:
        composition = document.composition
        replaces = (
            composition.relatesTo[0].targetIdentifier.value if composition.relatesTo else None
        )
        if replaces is not None:
            self.filed.pop(replaces, None)
        filed = Filed(
            header_id,
            composition.identifier.value,
            nhs_number,
            document.pdf,
            replaces,
        )
        self.filed[filed.document_id] = filed
        if self.pdf_folder is not None:
            self.pdf_folder.mkdir(parents=True, exist_ok=True)
            (self.pdf_folder / f"{filed.document_id}.pdf").write_bytes(filed.pdf)

    def answer(self, client: MeshClient, sender: str, body: bytes, code: str) -> None:
        header = orjson.loads(body)["entry"][0]["resource"]
        response = response_message(
            answers=header.get("id", "unknown"),
            code=code,
            sender_mailbox=self.mailbox,
            sender_ods=self.ods,
            now=datetime.now(UTC),
        )
        client.send_message(
            sender,
            orjson.dumps(response),
            workflow_id=self.ack_workflow,
            subject=f"ITK3 response {code}",
            local_id=response["entry"][0]["resource"]["id"],
            content_type="application/fhir+json",
        )
        self.answers[code] += 1


def main(argv: list[str]) -> int:
    url, mailbox, ods, *not_registered = argv
    practice = GpPractice(
        url,
        mailbox,
        ods,
        "GPCONNECT_SEND_DOCUMENT",
        "GPCONNECT_SEND_DOCUMENT_ACK",
        not_registered=frozenset(not_registered),
        pdf_folder=Path("demo-output") / "gp-practice" / mailbox,
    )
    while True:
        practice.poll_once()
        time.sleep(1.0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
