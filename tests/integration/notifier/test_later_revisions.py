"""Later revisions of a flag against a real broker, mesh-sandbox and SMTP server: the GP letter
that could not be sent goes once the practice is on record; a withdrawn site sends the practice
and the CNS team a replacement document."""

from services.notifier.decisions import alert_id
from services.notifier.gp_message import document_id
from tests.integration.notifier.harness import mesh_inbox, send_flag, wait_events
from tests.integration.notifier.test_notifier_delivery import read_mesh_message
from tests.unit.notifier.factory import BONE, CNS_EMAIL, LIVER, flag, patient


def revision(number, state="updated", sites=("bone",), evidence=(BONE,), **overrides):
    return flag(
        state=state,
        revision=number,
        metastatic_sites=list(sites),
        evidence=list(evidence),
        **overrides,
    )


async def test_a_gp_registration_after_the_alert_sends_the_gp_letter_once_and_records_it(
    kafka_settings, topics, mesh, smtp_server, start
):
    start()
    unregistered = revision(1, state="raised", patient=patient(gp_practice_ods=None))
    await send_flag(kafka_settings, topics, unregistered)
    [unroutable] = await wait_events(
        kafka_settings, topics.alerts, lambda e: e.outcome == "unroutable"
    )
    assert unroutable.recipient == "gp-practice:none"
    [cns] = smtp_server.wait_for(1)
    assert "GP NOT REACHABLE" in cns.get_body(("plain",)).get_content()
    assert mesh_inbox(mesh, mesh.gp_mailbox) == []

    registered = revision(2)  # the Patient's registered practice arrived after the alert
    for again in (registered, registered, revision(3)):  # read twice, then a later revision
        await send_flag(kafka_settings, topics, again)
    await wait_events(
        kafka_settings,
        topics.registry_records,
        lambda e: e.flag_id == registered.flag_id and e.action == "amend",
        count=3,
    )
    gp_alert = alert_id(registered.flag_id, mesh.gp_mailbox, "alert")
    [sent] = await wait_events(
        kafka_settings,
        topics.alerts,
        lambda e: e.alert_id == gp_alert and e.outcome == "sent",
    )
    assert sent.flag_revision == 2 and sent.channel == "mesh"
    [message_id] = mesh_inbox(mesh, mesh.gp_mailbox)
    local_id, _, document = read_mesh_message(mesh, mesh.gp_mailbox, message_id)
    assert local_id == gp_alert and "Breast cancer alert" in document.text
    assert len(smtp_server.envelopes) == 1  # the CNS team was alerted once, with the note


async def test_a_site_entered_in_error_sends_the_practice_and_the_cns_team_a_replacement(
    kafka_settings, topics, mesh, smtp_server, start
):
    start()
    raised = revision(1, state="raised", sites=("bone", "liver"), evidence=(BONE, LIVER))
    await send_flag(kafka_settings, topics, raised)
    await wait_events(kafka_settings, topics.alerts, lambda e: e.outcome == "sent", count=2)
    [first_id] = mesh_inbox(mesh, mesh.gp_mailbox)
    _, _, first = read_mesh_message(mesh, mesh.gp_mailbox, first_id)
    assert "bone, liver" in first.text

    await send_flag(kafka_settings, topics, revision(2))  # the liver site was entered in error
    replacements = await wait_events(
        kafka_settings,
        topics.alerts,
        lambda e: e.outcome == "sent" and e.flag_revision == 2,
        count=2,
    )
    assert {e.channel for e in replacements} == {"mesh", "smtp"}
    [second_id] = mesh_inbox(mesh, mesh.gp_mailbox)
    local_id, subject, second = read_mesh_message(mesh, mesh.gp_mailbox, second_id)
    assert local_id == alert_id(raised.flag_id, mesh.gp_mailbox, "replacement", 2)
    [relates] = second.composition.relatesTo
    assert relates.code == "replaces"
    assert relates.targetIdentifier.value == document_id(first.header.id)
    assert "Withdrawn the site liver, one piece of evidence" in second.text
    assert "Secondary malignant neoplasm of liver" not in second.text
    assert subject.endswith("Version 2")

    _, replacement = smtp_server.wait_for(2)
    earlier = f"<{alert_id(raised.flag_id, CNS_EMAIL, 'alert')}@rmbc>"
    assert replacement["References"] == earlier
    assert "Withdrawn (entered in error): the site liver" in (
        replacement.get_body(("plain",)).get_content()
    )
    [attached] = list(replacement.iter_attachments())
    assert attached.get_content() == second.pdf
