import email
from email.policy import default

import pytest

from services.notifier.mime import Part, header, multipart


def parsed(data: bytes) -> email.message.EmailMessage:
    message = email.message_from_bytes(data, policy=default)
    assert isinstance(message, email.message.EmailMessage)
    return message


def test_parts_read_back_byte_for_byte_whatever_their_characters_and_line_lengths():
    html = "<p>Siobhán Ó Ceallaigh, 943 476 5919</p>" + "x" * 5000 + "\n.\nFrom here\n"
    data = multipart(
        [("Subject", "Recurrent breast cancer (distant)")],
        "mixed",
        [
            Part('text/html; charset="utf-8"', html.encode()),
            Part("application/fhir+json", b'{"resourceType": "Communication"}', "c.json"),
        ],
        boundary="=_rmbc_x",
    )
    message = parsed(data)
    assert message.get_content_type() == "multipart/mixed"
    assert message.get_body(("html",)).get_content() == html
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "c.json"
    assert attachment.get_content() == b'{"resourceType": "Communication"}'


def test_every_line_ends_in_crlf_and_stays_short():
    data = multipart([("To", "a@b")], "alternative", [Part("text/plain", b"y" * 3000)], "=_b")
    lines = data.split(b"\r\n")
    assert all(b"\n" not in line and b"\r" not in line for line in lines)
    assert max(len(line) for line in lines) <= 78


def test_a_header_that_is_not_short_plain_ascii_is_folded_and_encoded():
    subject = "Revue: récidive " + "très longue " * 10
    raw = header("Subject", subject)
    assert raw.isascii() and all(len(line) <= 78 for line in raw.split(b"\r\n"))
    assert parsed(raw + b"\r\n")["Subject"] == subject
    assert header("To", "breast-cns@trust.nhs.net") == b"To: breast-cns@trust.nhs.net\r\n"


def test_a_line_break_in_a_header_value_is_refused_rather_than_start_a_header_of_its_own():
    with pytest.raises(ValueError, match="line break in the Subject header"):
        header("Subject", "Alert\r\nBcc: someone@else")
