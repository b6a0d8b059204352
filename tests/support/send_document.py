"""Reading a GP Connect Send Document message back as the practice's system would: the STU3
models, then the PDF's text with pypdf."""

import io
from dataclasses import dataclass
from typing import Any

import orjson
import pypdf
from fhir.resources.STU3.bundle import Bundle


@dataclass(frozen=True)
class ReadDocument:
    bundle: Any  # the ITK3 message Bundle (STU3 model)
    header: Any  # its MessageHeader
    composition: Any
    patient: Any
    pdf: bytes
    text: str  # the PDF's text


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-"), data[:20]
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def read_send_document(body: bytes) -> ReadDocument:
    bundle = Bundle.model_validate(orjson.loads(body))
    by_url = {e.fullUrl: e.resource for e in bundle.entry}
    header = bundle.entry[0].resource
    assert type(header).__name__ == "MessageHeader"
    document = by_url[header.focus[0].reference]
    inner = {e.fullUrl: e.resource for e in document.entry}
    composition = document.entry[0].resource
    binary = inner[composition.section[0].entry[0].reference]
    assert binary.contentType == "application/pdf"
    pdf: bytes = binary.content  # the model holds base64Binary decoded
    return ReadDocument(
        bundle, header, composition, inner[composition.subject.reference], pdf, pdf_text(pdf)
    )
