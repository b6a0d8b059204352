import email
import io
from email.policy import default

import orjson
import pypdf
import pytest
from fhir.resources.STU3.bundle import Bundle

from services.notifier.cns_email import cns_email
from services.notifier.decisions import EarlierAlert, plan_for
from services.notifier.facts import facts_for
from services.notifier.gp_message import document_id, send_document
from services.notifier.letter_pdf import letter_pdf
from tests.unit.notifier.factory import (
    CNS_EMAIL,
    GP_ODS,
    NHS_NUMBER,
    NOW,
    directory,
    flag,
    patient,
)

SENDER_MAILBOX = "X26ABC1"


def pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def gp_message(facts, recipient_ods=GP_ODS):
    """The Send Document message as the practice's system reads it: STU3 models, then the PDF."""
    sent = send_document(facts, NOW, sender_mailbox=SENDER_MAILBOX, recipient_ods=recipient_ods)
    bundle = Bundle.model_validate(orjson.loads(sent.body))
    return sent, bundle


def resources(bundle):
    return {type(e.resource).__name__: e.resource for e in bundle.entry}


def the_pdf(bundle) -> bytes:
    document = resources(bundle)["Bundle"]
    binary = resources(document)["Binary"]
    assert binary.contentType == "application/pdf"
    data: bytes = binary.content  # the model holds base64Binary decoded
    return data


def cns_message(facts, sender="a@b"):
    """The CNS e-mail as its recipient's mail client reads it."""
    sent = cns_email(facts, sender=sender, recipient=CNS_EMAIL, sent_at=NOW)
    message = email.message_from_bytes(sent.data, policy=default)
    assert (message["From"], message["To"]) == (sender, CNS_EMAIL) == (sent.sender, sent.recipient)
    assert message["Message-ID"] == sent.message_id
    return message


def facts(f=None, earlier=(), d=None):
    f = f or flag()
    d = d or directory()
    plan = plan_for(f, d, list(earlier), NOW)
    return [facts_for(f, delivery, d) for delivery in plan.deliveries]


def test_the_gp_letter_pdf_states_every_fact_in_plain_words_with_readable_dates():
    gp, _ = facts()
    text = pdf_text(letter_pdf(gp, NOW))
    for fact in (
        "Breast cancer alert",
        "Confidential: personal data",
        "Version 1",
        "Page 1 of 1",
        "O'BRIEN, Ann <Marie>",
        "14 Mar 1961",
        "943 476 5919",
        "Recurrent breast cancer (distant)",
        "bone, liver",
        "1 Oct 2026",
        "Breast cancer, left side, diagnosed 2 May 2019",
        "Secondary malignant neoplasm of bone, recorded for 1 Oct 2026",
        "What the GP should do next",
        "Has the patient been told?",
        "Example Hospitals NHS Foundation Trust (RX1)",
        "breast-cns@example-hospitals.nhs.net",
        "01234 567890",
        "26 Nov 2026 12:00 UTC",
        gp.alert_id,
    ):
        assert fact in text, fact
    # one form per fact: no raw codes, system ids, ISO dates or markup
    for raw in ("94222008", "SNOMED", "C50.4", "Condition/", "2026-10-01", "1961-03-14", "<p>"):
        assert raw not in text, raw
    assert letter_pdf(gp, NOW) == letter_pdf(gp, NOW)


def test_the_send_document_message_is_a_valid_itk3_stu3_message_asking_for_both_acks():
    gp, _ = facts()
    sent, bundle = gp_message(gp)
    assert bundle.type == "message" and sent.message_header_id == gp.alert_id
    header = bundle.entry[0].resource
    assert type(header).__name__ == "MessageHeader" and header.id == gp.alert_id
    assert (header.event.system, header.event.code) == (
        "https://fhir.nhs.uk/STU3/CodeSystem/ITK-MessageEvent-2",
        "ITK007C",
    )
    assert header.source.endpoint == SENDER_MAILBOX
    [handling] = header.extension
    flags = {e.url: e for e in handling.extension}
    assert flags["BusAckRequested"].valueBoolean is True
    assert flags["InfAckRequested"].valueBoolean is True
    assert flags["RecipientType"].valueCoding.code == "FA"
    assert flags["SenderReference"].valueString == gp.alert_id
    assert flags["MessageDefinition"].valueReference.reference.endswith(
        "ITK-GPConnectSendDocument-MessageDefinition-1"
    )
    by_url = {e.fullUrl: e.resource for e in bundle.entry}
    assert by_url[header.sender.reference].identifier[0].value == "RX1"
    assert by_url[header.receiver.reference].identifier[0].value == GP_ODS
    document = by_url[header.focus[0].reference]
    assert document.type == "document"
    inner = {e.fullUrl: e.resource for e in document.entry}
    composition = document.entry[0].resource
    assert type(composition).__name__ == "Composition" and composition.status == "final"
    assert composition.identifier.value == sent.document_id == document_id(gp.alert_id)
    assert composition.type.coding[0].system == "http://snomed.info/sct"
    assert composition.type.coding[0].code == "371531000"
    assert composition.date is not None and composition.relatesTo is None
    subject = inner[composition.subject.reference]
    assert subject.identifier[0].value == NHS_NUMBER and subject.name[0].family == "O'Brien"
    assert inner[composition.custodian.reference].identifier[0].value == "RX1"
    assert type(inner[composition.author[0].reference]).__name__ == "Device"
    [section] = composition.section
    assert inner[section.entry[0].reference].contentType == "application/pdf"
    assert "943 476 5919" in pdf_text(the_pdf(bundle))
    assert NHS_NUMBER in sent.subject and sent.subject.endswith("Version 1")


def test_a_message_the_stu3_models_refuse_is_never_built():
    gp, _ = facts()
    broken = type(gp)(**{**gp.__dict__, "alert_id": "not a FHIR id!"})
    with pytest.raises(ValueError, match="should match pattern"):
        send_document(broken, NOW, sender_mailbox=SENDER_MAILBOX, recipient_ods=GP_ODS)


def test_a_correction_is_a_replacement_document_that_names_the_earlier_one():
    gp, cns = facts()
    earlier = [
        EarlierAlert(gp.alert_id, "mesh", gp_mailbox(), "sent"),
        EarlierAlert(cns.alert_id, "smtp", CNS_EMAIL, "sent"),
    ]
    gp_fix, cns_fix = facts(flag(state="retracted", revision=2), earlier)
    assert (gp_fix.corrects, cns_fix.corrects) == (gp.alert_id, cns.alert_id)
    sent, bundle = gp_message(gp_fix)
    composition = resources(resources(bundle)["Bundle"])["Composition"]
    [relation] = composition.relatesTo
    assert relation.code == "replaces"
    assert relation.targetIdentifier.value == document_id(gp.alert_id)
    assert sent.subject.endswith("Version 2")
    text = pdf_text(the_pdf(bundle))
    assert "Correction of a breast cancer alert" in text and "Version 2" in text
    assert "withdrawn (entered in error)" in text and gp.alert_id in text
    message = cns_message(cns_fix)
    assert message["In-Reply-To"] == f"<{cns.alert_id}@rmbc>"
    assert "entered in error" in pdf_text(attached_pdf(message))


def gp_mailbox():
    from tests.unit.notifier.factory import GP_MAILBOX

    return GP_MAILBOX


def attached_pdf(message) -> bytes:
    [part] = list(message.iter_attachments())
    assert part.get_content_type() == "application/pdf"
    data: bytes = part.get_content()
    return data


def test_the_cns_email_carries_the_same_pdf_the_gp_practice_receives():
    gp, cns = facts()
    message = cns_message(cns)
    attached = pdf_text(attached_pdf(message))
    gp_letter = pdf_text(the_pdf(gp_message(gp)[1]))
    # the same letter, but for its own reference
    assert attached.replace(cns.alert_id, "REF") == gp_letter.replace(gp.alert_id, "REF")
    # given the GP's PDF, the e-mail attaches those very bytes
    gp_pdf = send_document(gp, NOW, sender_mailbox=SENDER_MAILBOX, recipient_ods=GP_ODS).pdf
    sent = cns_email(cns, sender="a@b", recipient=CNS_EMAIL, sent_at=NOW, letter=gp_pdf)
    assert attached_pdf(email.message_from_bytes(sent.data, policy=default)) == gp_pdf
    for fact in ("943 476 5919", "14 Mar 1961", "bone, liver", "Breast cancer alert"):
        assert fact in attached
    assert [p.get_content_type() for p in message.walk()] == [
        "multipart/mixed",
        "text/plain",
        "application/pdf",
    ]


def test_the_cns_email_subject_carries_no_patient_identifier():
    _, cns = facts()
    message = cns_message(cns, sender="rmbc@x.nhs.net")
    subject = message["Subject"]
    for identifier in (NHS_NUMBER, "434 765", "Brien", "Marie", "1961"):
        assert identifier not in subject
    assert message["Message-ID"] == f"<{cns.alert_id}@rmbc>"
    assert NHS_NUMBER in message.get_body(("plain",)).get_content()


def test_the_cns_email_says_when_the_gp_was_not_reachable():
    [cns] = facts(flag(patient=patient(gp_practice_ods=None)))
    message = cns_message(cns)
    assert "GP NOT REACHABLE" in message.get_body(("plain",)).get_content()
    assert "GP not reachable" in pdf_text(attached_pdf(message))


def test_a_review_alert_says_why_review_is_needed():
    [cns] = facts(flag(kind="review"))
    message = cns_message(cns)
    assert "[rmbc Review]" in message["Subject"]
    assert "provisional secondary in liver" in message.get_body(("plain",)).get_content()


def test_a_value_with_line_breaks_or_controls_stays_one_printable_line_in_every_document():
    crafted = patient(
        family_name="O'Brien\r\nNHS number: 0000000000\u2028Finding: none",
        given_names="A\x00\x1b[2J\u202eB",
    )
    gp, cns = facts(flag(patient=crafted))
    assert (
        gp.patient_name == "A\ufffd\ufffd[2J\ufffdB O'Brien  NHS number: 0000000000 Finding: none"
    )
    text = cns_message(cns).get_body(("plain",)).get_content()
    assert [line for line in text.splitlines() if line.startswith("NHS number: ")] == [
        "NHS number: 9434765919"
    ]
    letter = pdf_text(letter_pdf(gp, NOW))
    assert "\x00" not in letter and "\u202e" not in letter
    lines = letter.splitlines()
    assert "Name O'BRIEN  NHS NUMBER: 0000000000 FINDING: NONE, A??[2J?B" in lines
    assert [line for line in lines if line.startswith("NHS number")] == ["NHS number 943 476 5919"]
