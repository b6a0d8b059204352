import email
from email.policy import default

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.notifier.mime import LINE_SEPARATORS, Part, header, multipart


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
    with pytest.raises(ValueError, match=r"line break \(U\+000D\) in the Subject header"):
        header("Subject", "Alert\r\nBcc: someone@else")


@pytest.mark.parametrize(
    "separator", ["\r", "\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
)
def test_every_character_python_breaks_lines_at_is_refused_in_a_header(separator: str):
    with pytest.raises(ValueError, match=f"U\\+{ord(separator):04X}"):
        header("Subject", f"Alert{separator}Bcc: someone@else")
    with pytest.raises(ValueError):
        header("Subject", "é" * 60 + separator + "Bcc: someone@else")  # the folded path too


def test_the_refused_characters_are_exactly_those_str_splitlines_breaks_at():
    breaking = {chr(c) for c in range(0x110000) if len(f"a{chr(c)}b".splitlines()) > 1}
    assert breaking == LINE_SEPARATORS


header_text = st.text(
    alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters=LINE_SEPARATORS),
    max_size=300,
).filter(lambda text: "=?" not in text)  # an RFC 2047 encoded word is decoded, as mail readers do


@settings(max_examples=300, derandomize=True, deadline=None)
@given(value=header_text)
def test_any_value_without_a_line_separator_stays_one_header_whatever_its_characters(value: str):
    raw = header("Subject", value)
    message = parsed(raw + b"\r\n")
    assert raw.endswith(b"\r\n")
    assert list(message.keys()) == ["Subject"]
    # folding may turn runs of white space into one space; nothing else changes
    assert " ".join(str(message["Subject"]).split()) == " ".join(value.split())


def test_a_short_header_with_accents_is_encoded_not_written_raw():
    raw = header("Subject", "é" * 30)
    assert raw.isascii()
    assert parsed(raw + b"\r\n")["Subject"] == "é" * 30
