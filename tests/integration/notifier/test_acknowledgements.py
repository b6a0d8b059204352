"""The acknowledgement loop against a real mesh-sandbox, a real GP-practice peer, Kafka and SMTP."""

import asyncio
import json
import time

import pytest

from services.demo.gp_practice import GpPractice
from services.notifier.acknowledgements import gp_not_told_id
from services.notifier.decisions import alert_id
from tests.integration.notifier.harness import send_flag, wait_events
from tests.support.send_document import pdf_text
from tests.unit.notifier.factory import CNS_EMAIL, GP_ODS, NHS_NUMBER, flag

FAST_POLL = {"RMBC_NOTIFIER_INBOX_POLL_SECONDS": "0.2"}


@pytest.fixture
def practice(mesh, tmp_path):
    return GpPractice(
        mesh.url,
        mesh.gp_mailbox,
        GP_ODS,
        mesh.workflow_id,
        f"{mesh.workflow_id}_ACK",
        password=mesh.password,
        shared_key=mesh.shared_key,
        pdf_folder=tmp_path / "filed",
    )


async def collected(practice: GpPractice, count: int = 1, timeout: float = 20.0) -> None:
    """The practice polls until it has handled `count` messages."""
    deadline = time.monotonic() + timeout
    handled = 0
    while handled < count:
        assert time.monotonic() < deadline, f"the practice handled {handled} of {count}"
        handled += await asyncio.to_thread(practice.poll_once)
        await asyncio.sleep(0.05)


def gp_events(events, flag_id):
    return [(e.outcome, e.detail) for e in events if e.channel == "mesh" and e.flag_id == flag_id]


async def test_a_filed_document_is_recorded_as_delivered_then_filed_and_counted(
    kafka_settings, topics, mesh, smtp_server, start, practice
):
    notifier = start(**FAST_POLL)
    raised = flag()
    await send_flag(kafka_settings, topics, raised)
    await collected(practice)
    [filed] = practice.filed.values()
    assert filed.nhs_number == NHS_NUMBER and "943 476 5919" in pdf_text(filed.pdf)
    assert (practice.pdf_folder / f"{filed.document_id}.pdf").read_bytes().startswith(b"%PDF-")
    assert practice.answers == {"20013": 1, "30001": 1}

    events = await wait_events(
        kafka_settings, topics.alerts, lambda e: e.outcome == "filed", timeout=30
    )
    [answer] = events
    assert answer.alert_id == alert_id(raised.flag_id, mesh.gp_mailbox, "alert")
    assert answer.detail.startswith("ITK3 30001")
    all_events = await wait_events(kafka_settings, topics.alerts, lambda e: e.channel == "mesh")
    outcomes = [o for o, _ in gp_events(all_events, raised.flag_id)]
    assert outcomes[:3] == ["attempting", "uploading", "sent"]
    assert set(outcomes[3:]) == {"delivered", "filed"}
    metrics = notifier.metrics()
    assert 'rmbc_notifier_alerts_total{channel="mesh",outcome="filed"} 1.0' in metrics
    assert 'rmbc_notifier_alerts_total{channel="mesh",outcome="delivered"} 1.0' in metrics
    assert len(smtp_server.wait_for(1)) == 1  # the CNS alert, and no "GP not told" notice


async def test_patient_not_registered_tells_the_cns_team_once_with_the_reason(
    kafka_settings, topics, mesh, smtp_server, start, practice
):
    practice.not_registered = frozenset({NHS_NUMBER})
    notifier = start(**FAST_POLL)
    raised = flag()
    await send_flag(kafka_settings, topics, raised)
    await collected(practice)
    assert practice.filed == {} and practice.answers == {"20013": 1, "30002": 1}

    notice_id = gp_not_told_id(raised.flag_id, CNS_EMAIL)
    [notice] = await wait_events(
        kafka_settings, topics.alerts, lambda e: e.alert_id == notice_id and e.outcome == "sent"
    )
    assert notice.channel == "smtp" and "ITK3 30002 Patient not known here" in notice.detail
    # the practice answers again (a repeat from its side): recorded once, told once
    with practice.client() as client:
        gp_message = alert_id(raised.flag_id, mesh.gp_mailbox, "alert")
        body = json.dumps({"entry": [{"resource": {"id": gp_message}}]}).encode()
        practice.answer(client, mesh.sender, body, "30002")
    deadline = time.monotonic() + 20
    with mesh.client(mesh.sender) as ours:
        while ours.list_messages():
            assert time.monotonic() < deadline, "the notifier never read its inbox"
            await asyncio.sleep(0.1)
    mails = smtp_server.wait_for(2)
    [told] = [m for m in mails if m["Message-ID"] == f"<{notice_id}@rmbc>"]
    cns_alert = alert_id(raised.flag_id, CNS_EMAIL, "alert")
    assert told["In-Reply-To"] == f"<{cns_alert}@rmbc>"
    text = told.get_body(("plain",)).get_content()
    assert "THE GP PRACTICE COULD NOT BE TOLD" in text and "30002" in text
    assert NHS_NUMBER not in text and NHS_NUMBER not in told["Subject"]
    metrics = notifier.metrics()
    assert 'rmbc_notifier_alerts_total{channel="mesh",outcome="patient_not_registered"} 1.0' in (
        metrics
    )
    assert 'rmbc_notifier_alerts_total{channel="smtp",outcome="sent"} 2.0' in metrics
    assert len(smtp_server.envelopes) == 2


async def test_a_mesh_report_that_the_practice_never_collected_is_recorded_and_told(
    kafka_settings, topics, mesh, smtp_server, start
):
    notifier = start(**FAST_POLL)
    raised = flag()
    await send_flag(kafka_settings, topics, raised)
    [sent] = await wait_events(
        kafka_settings, topics.alerts, lambda e: e.channel == "mesh" and e.outcome == "sent"
    )
    await asyncio.to_thread(
        mesh.report,
        mesh.sender,
        code="14",
        description="Message not collected by recipient after 5 days",
        workflow_id=mesh.workflow_id,
        local_id=sent.alert_id,
        linked_message_id=sent.transport_id,
    )
    [gone] = await wait_events(
        kafka_settings, topics.alerts, lambda e: e.outcome == "not_collected"
    )
    assert gone.alert_id == sent.alert_id and gone.detail.startswith("MESH error 14")
    notice_id = gp_not_told_id(raised.flag_id, CNS_EMAIL)
    await wait_events(
        kafka_settings, topics.alerts, lambda e: e.alert_id == notice_id and e.outcome == "sent"
    )
    assert 'outcome="not_collected"} 1.0' in notifier.metrics()


async def test_a_document_delivered_but_never_filed_in_time_is_recorded_and_told_once(
    kafka_settings, topics, mesh, smtp_server, start, practice
):
    practice.business_acks = False  # infrastructure acknowledgement only, never a business one
    start(**FAST_POLL, RMBC_NOTIFIER_ANSWER_DAYS=str(3 / 86400))  # three seconds
    raised = flag()
    await send_flag(kafka_settings, topics, raised)
    await collected(practice)
    assert practice.answers == {"20013": 1}
    gp_alert = alert_id(raised.flag_id, mesh.gp_mailbox, "alert")
    notice = gp_not_told_id(raised.flag_id, CNS_EMAIL)
    await wait_events(
        kafka_settings,
        topics.alerts,
        lambda e: e.alert_id == notice and e.outcome == "sent",
        timeout=30,
    )
    events = await wait_events(kafka_settings, topics.alerts, lambda e: e.alert_id == gp_alert)
    outcomes = [e.outcome for e in events]
    assert "delivered" in outcomes and outcomes.count("not_filed") == 1
    [late] = [e for e in events if e.outcome == "not_filed"]
    assert "did not file it within" in late.detail
    alert_mail, notice_mail = smtp_server.wait_for(2)
    assert notice_mail["In-Reply-To"] == alert_mail["Message-ID"]
    assert "did not file it within" in notice_mail.get_body(("plain",)).get_content()
