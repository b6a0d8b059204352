"""Reading a GP Connect Send Document message back as the practice's system would (the STU3
models, as the GP-practice peer opens it), then the PDF's text with pypdf."""

import io
from dataclasses import dataclass

import pypdf

from services.demo.gp_practice import OpenedDocument, open_document


@dataclass(frozen=True)
class ReadDocument(OpenedDocument):
    text: str  # the PDF's text


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-"), data[:20]
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def read_send_document(body: bytes) -> ReadDocument:
    opened = open_document(body)
    return ReadDocument(
        opened.header, opened.composition, opened.patient, opened.pdf, pdf_text(opened.pdf)
    )
