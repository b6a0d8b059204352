"""The notifier against a real broker, a real mesh-sandbox and a real SMTP server."""

import asyncio
import email
import json
import signal
import subprocess
import time
from email.policy import default

import pytest

from services.notifier.decisions import alert_id
from shared.admin import lag_by_partition, topic_partitions
from shared.codec import decode
from tests.integration.notifier.harness import (
    RMBC,
    NotifierProcess,
    mesh_inbox,
    notifier_env,
    send_flag,
    wait_events,
    write_directory,
)
from tests.support.kafka import produce, read_topic
from tests.unit.notifier.factory import CNS_EMAIL, NHS_NUMBER, flag, patient


@pytest.fixture
def directory_file(tmp_path, mesh):
    return write_directory(tmp_path / "directory.json", mesh)


@pytest.fixture
def start(tmp_path, kafka_settings, topics, mesh, smtp_server, directory_file):
    started = []
    directory = directory_file

    def _start(smtp_env=None, **extra):
        env = notifier_env(
            kafka_settings, topics, mesh, smtp_env or smtp_server.env(), directory, **extra
        )
        process = NotifierProcess(env, tmp_path / "notifier.log")
        started.append(process)
        process.wait_ready()
        return process

    yield _start
    for process in started:
        process.stop()


def read_mesh_message(mesh, mailbox, message_id):
    with mesh.client(mailbox) as client:
        message = client.retrieve_message(message_id)
        body = message.read()
        local_id, subject = message.local_id, message.subject
        message.acknowledge()
    return local_id, subject, email.message_from_bytes(body, policy=default)


def outcomes(events, channel):
    return [(e.outcome, e.attempt) for e in events if e.channel == channel]


async def test_a_flag_is_delivered_once_to_gp_cns_and_registry_and_a_retraction_once_corrected(
    kafka_settings, topics, mesh, smtp_server, start
):
    notifier = start()
    raised = flag()
    await send_flag(kafka_settings, topics, raised)

    sent = await wait_events(kafka_settings, topics.alerts, lambda e: e.outcome == "sent", count=2)
    assert {e.channel for e in sent} == {"mesh", "smtp"}
    [message_id] = mesh_inbox(mesh, mesh.gp_mailbox)
    local_id, subject, document = read_mesh_message(mesh, mesh.gp_mailbox, message_id)
    gp_alert = alert_id(raised.flag_id, mesh.gp_mailbox, "alert")
    assert local_id == gp_alert
    assert NHS_NUMBER not in subject and "O'Brien" not in subject
    html = document.get_body(("html",)).get_content()
    assert "943 476 5919" in html and "1961-03-14" in html
    assert "Ann &lt;Marie&gt; O&#x27;Brien" in html  # escaped, never raw markup
    assert "bone, liver" in html and "2026-10-01" in html
    assert "Example Hospitals NHS Foundation Trust" in html and CNS_EMAIL in html
    [fhir] = [
        p for p in document.iter_attachments() if p.get_content_type() == "application/fhir+json"
    ]
    communication = json.loads(fhir.get_content())
    assert communication["resourceType"] == "Communication"
    assert communication["subject"]["identifier"]["value"] == NHS_NUMBER

    [cns] = smtp_server.wait_for(1)
    assert cns["To"] == CNS_EMAIL
    assert cns["Message-ID"] == f"<{alert_id(raised.flag_id, CNS_EMAIL, 'alert')}@rmbc>"
    assert NHS_NUMBER not in cns["Subject"] and "Brien" not in cns["Subject"]
    assert NHS_NUMBER in cns.get_body(("plain",)).get_content()

    [record] = await wait_events(kafka_settings, topics.registry_records, lambda e: True)
    assert record.action == "submit" and record.cr0010_nhs_number == NHS_NUMBER
    assert [(m.cr6520_metastatic_type, m.cr1590_metastatic_site) for m in record.metastases] == [
        ("03", "10"),
        ("03", "03"),
    ]

    await send_flag(kafka_settings, topics, raised)  # a replay
    await send_flag(kafka_settings, topics, flag(state="retracted", revision=2))
    corrections = await wait_events(
        kafka_settings,
        topics.alerts,
        lambda e: e.outcome == "sent" and e.flag_state == "retracted",
        count=2,
    )
    assert len(corrections) == 2
    [correction_id] = mesh_inbox(mesh, mesh.gp_mailbox)
    _, _, correction = read_mesh_message(mesh, mesh.gp_mailbox, correction_id)
    assert gp_alert in correction.get_body(("html",)).get_content()
    assert len(smtp_server.wait_for(2)) == 2
    records = await wait_events(kafka_settings, topics.registry_records, lambda e: True, count=2)
    assert records[-1].action == "withdraw"
    all_alerts = await wait_events(kafka_settings, topics.alerts, lambda e: True, count=8)
    assert len(smtp_server.envelopes) == 2  # the replay sent nothing
    metrics = notifier.metrics()
    assert 'rmbc_notifier_alerts_total{channel="mesh",outcome="sent"} 2.0' in metrics
    assert 'rmbc_notifier_consumer_lag{partition="0"} 0.0' in metrics
    assert len(all_alerts) == 8  # attempting + sent, for two alerts and two corrections


async def test_a_crash_between_sending_and_recording_never_sends_the_gp_letter_twice(
    kafka_settings, topics, mesh, smtp_server, start
):
    first = start(RMBC_NOTIFIER_TEST_PAUSE_AFTER_SEND_SECONDS="60")
    raised = flag()
    await send_flag(kafka_settings, topics, raised)
    await wait_events(
        kafka_settings, topics.alerts, lambda e: e.channel == "mesh" and e.outcome == "attempting"
    )
    deadline = time.monotonic() + 20
    while not mesh_inbox(mesh, mesh.gp_mailbox):
        assert time.monotonic() < deadline, "the GP letter never reached the sandbox"
        await asyncio.sleep(0.05)
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(10)

    start()

    [recovered] = await wait_events(
        kafka_settings,
        topics.alerts,
        lambda e: e.channel == "mesh" and e.outcome == "already_sent",
        timeout=40,
    )
    assert recovered.alert_id == alert_id(raised.flag_id, mesh.gp_mailbox, "alert")
    await wait_events(
        kafka_settings,
        topics.alerts,
        lambda e: e.channel == "smtp" and e.outcome in ("sent", "already_sent"),
    )
    assert len(mesh_inbox(mesh, mesh.gp_mailbox)) == 1


async def test_a_dead_smtp_server_does_not_delay_mesh_and_its_alert_is_dead_lettered_then_redriven(
    kafka_settings, topics, mesh, smtp_server, dead_smtp_port, start, directory_file
):
    dead_env = smtp_server.env() | {"RMBC_SMTP_PORT": str(dead_smtp_port)}
    start(dead_env, RMBC_NOTIFIER_MAX_ATTEMPTS="3", RMBC_NOTIFIER_RETRY_BASE_SECONDS="1")
    raised = flag()
    began = time.monotonic()
    await send_flag(kafka_settings, topics, raised)
    await wait_events(
        kafka_settings, topics.alerts, lambda e: e.channel == "mesh" and e.outcome == "sent"
    )
    assert time.monotonic() - began < 3.0
    smtp_failures = await wait_events(
        kafka_settings, topics.alerts, lambda e: e.channel == "smtp" and e.outcome == "failed"
    )
    assert smtp_failures
    [letter] = await wait_events(kafka_settings, topics.dead_letter, lambda e: True)
    assert letter.reason.startswith("undeliverable alert ")
    await wait_events(kafka_settings, topics.alerts, lambda e: e.outcome == "dead_lettered")
    assert smtp_server.envelopes == []

    redrive = await asyncio.to_thread(
        subprocess.run,
        [str(RMBC), "notifier", "--redrive"],
        env=notifier_env(kafka_settings, topics, mesh, smtp_server.env(), directory_file),
        capture_output=True,
        timeout=60,
    )
    assert redrive.returncode == 0, redrive.stderr.decode()[-2000:]
    [cns] = smtp_server.wait_for(1)
    assert cns["Message-ID"] == f"<{alert_id(raised.flag_id, CNS_EMAIL, 'alert')}@rmbc>"
    assert len(mesh_inbox(mesh, mesh.gp_mailbox)) == 1


async def test_an_unroutable_gp_is_recorded_and_the_cns_team_told_and_bad_flags_dead_lettered(
    kafka_settings, topics, mesh, smtp_server, start
):
    start()
    await produce(kafka_settings, topics.cancer_flags, b"not a flag", b"k")
    unroutable = flag(patient=patient(gp_practice_ods="Z99999"))
    await send_flag(kafka_settings, topics, unroutable)
    [event] = await wait_events(kafka_settings, topics.alerts, lambda e: e.outcome == "unroutable")
    assert event.channel == "mesh" and event.recipient == "gp-practice:Z99999"
    [cns] = smtp_server.wait_for(1)
    assert "GP NOT REACHABLE" in cns.get_body(("plain",)).get_content()
    [letter] = await wait_events(kafka_settings, topics.dead_letter, lambda e: True)
    assert letter.reason.startswith("undecodable flag")
    assert mesh_inbox(mesh, mesh.gp_mailbox) == []


def sent_alerts(records, flag_ids):
    events = (decode(r.value) for r in records)
    return {e.alert_id for e in events if e.flag_id in flag_ids and e.outcome == "sent"}


async def test_a_notifier_dropped_from_its_group_rejoins_and_carries_on_without_sending_twice(
    kafka_settings, topics, mesh, smtp_server, start
):
    # frozen past its session timeout (a stalled host, a broker restart), the notifier is dropped
    # from its group; its next commit is refused, and it must rejoin, not exit
    notifier = start(RMBC_NOTIFIER_TEST_PAUSE_AFTER_SEND_SECONDS="1")
    flags = [flag(key=f"dropped-{n}") for n in range(24)]
    ids = {f.flag_id for f in flags}
    letters_before = len(mesh_inbox(mesh, mesh.gp_mailbox))
    mails_before = len(smtp_server.envelopes)
    for raised in flags[:12]:
        await send_flag(kafka_settings, topics, raised)
    await wait_events(
        kafka_settings, topics.alerts, lambda e: e.flag_id in ids and e.outcome == "attempting"
    )
    notifier.process.send_signal(signal.SIGSTOP)
    try:
        await asyncio.sleep(9.0)  # the harness's session timeout is 6 s
        for raised in flags[12:]:
            await send_flag(kafka_settings, topics, raised)
    finally:
        notifier.process.send_signal(signal.SIGCONT)

    # records read again after the rejoin are published again (same record id): count distinct
    records = await read_topic(
        kafka_settings,
        topics.registry_records,
        until=lambda rs: {e.flag_id for e in map(decode, (r.value for r in rs))} >= ids,
        timeout=60,
    )
    assert {e.flag_id for e in map(decode, (r.value for r in records))} >= ids
    sent = await read_topic(
        kafka_settings,
        topics.alerts,
        until=lambda rs: len(sent_alerts(rs, ids)) >= 48,
        timeout=90,
    )
    assert len(sent_alerts(sent, ids)) == 48
    assert notifier.process.poll() is None, "the notifier exited"
    assert len(mesh_inbox(mesh, mesh.gp_mailbox)) - letters_before == 24
    assert len(smtp_server.envelopes) - mails_before == 24


async def test_a_clean_stop_commits_every_flag_handled_since_the_last_periodic_commit(
    kafka_settings, topics, start
):
    # flags handled since the last periodic commit are committed on the way out, so a restart
    # does not read them again
    notifier = start(RMBC_NOTIFIER_COMMIT_INTERVAL_SECONDS="600")
    group = notifier.env["RMBC_NOTIFIER_GROUP_ID"]
    flags = [flag(key=f"stop-{n}") for n in range(6)]
    for raised in flags:
        await send_flag(kafka_settings, topics, raised)
        await asyncio.sleep(0.1)
    ids = {f.flag_id for f in flags}
    await wait_events(
        kafka_settings,
        topics.alerts,
        lambda e: e.flag_id in ids and e.outcome == "sent",
        count=2 * len(flags),
    )
    notifier.process.terminate()
    assert notifier.process.wait(15) == 0
    partitions = await topic_partitions(kafka_settings, topics.cancer_flags)
    assert await lag_by_partition(kafka_settings, group, partitions) == dict.fromkeys(partitions, 0)
