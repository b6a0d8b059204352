import email
from email.policy import default

import orjson
from fhir.resources.R4B.communication import Communication

from services.notifier.cns_email import cns_email
from services.notifier.decisions import plan_for
from services.notifier.facts import facts_for
from services.notifier.gp_message import communication, letter_html, mesh_document
from tests.unit.notifier.factory import (
    CNS_EMAIL,
    NHS_NUMBER,
    NOW,
    directory,
    flag,
    patient,
)


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


def test_the_gp_letter_states_the_facts_and_escapes_every_value():
    gp, _ = facts()
    html = letter_html(gp, NOW)
    assert "Ann &lt;Marie&gt; O&#x27;Brien" in html and "<Marie>" not in html
    assert "943 476 5919" in html and "1961-03-14" in html
    assert "Recurrent breast cancer (distant)" in html
    assert "bone, liver" in html and "2026-10-01" in html
    assert (
        "(Secondary malignant neoplasm of bone, SNOMED CT 94222008), recorded for 2026-10-01"
        in html
    )
    assert "Example Hospitals NHS Foundation Trust (RX1)" in html
    assert "breast-cns@example-hospitals.nhs.net, 01234 567890" in html


def test_the_communication_is_valid_fhir_r4_with_the_same_facts():
    gp, _ = facts()
    resource = communication(gp, NOW, "A81001")
    Communication.model_validate(resource)
    assert resource["subject"]["identifier"]["value"] == NHS_NUMBER
    assert resource["recipient"][0]["identifier"]["value"] == "A81001"
    assert "Sites: bone, liver" in [p["contentString"] for p in resource["payload"]]


def test_the_mesh_document_carries_the_letter_and_the_communication_as_mime_parts():
    gp, _ = facts()
    body, content_type = mesh_document(gp, NOW, "A81001")
    assert content_type == "message/rfc822"
    document = email.message_from_bytes(body, policy=default)
    assert NHS_NUMBER not in document["Subject"]
    [part] = list(document.iter_attachments())
    assert part.get_content_type() == "application/fhir+json"
    assert orjson.loads(part.get_content())["resourceType"] == "Communication"


def test_a_correction_names_the_earlier_alert():
    raised = flag()
    _, cns = facts(raised)
    from services.notifier.decisions import EarlierAlert

    earlier = [EarlierAlert(cns.alert_id, "smtp", CNS_EMAIL, "sent")]
    [correction] = facts(flag(state="retracted", revision=2), earlier)
    assert correction.corrects == cns.alert_id
    html = letter_html(correction, NOW)
    assert cns.alert_id in html and "entered in error" in html
    message = cns_message(correction)
    assert message["In-Reply-To"] == f"<{cns.alert_id}@rmbc>"
    Communication.model_validate(communication(correction, NOW, None))


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
    assert "GP not reachable" in message.get_body(("html",)).get_content()


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
    assert "\x00" not in letter_html(gp, NOW) and "\u202e" not in letter_html(gp, NOW)
