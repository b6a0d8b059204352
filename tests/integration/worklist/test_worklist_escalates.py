"""The `rmbc worklist` process runs the escalation loop beside its pages (RMBC_WORKLIST_ESCALATION
on): an alert no one acknowledged weeks ago is e-mailed to the MDT lead through a real SMTP server
and recorded on the alerts topic, and SIGTERM stops the pages and the loop cleanly."""

import time
from datetime import datetime
from pathlib import Path

from services.worklist.escalation import escalation_id
from services.worklist.overdue import LONDON
from shared.codec import decode_as
from shared.events import AlertEvent
from shared.settings import KafkaSettings
from tests.support.kafka import read_topic
from tests.support.smtp import SmtpServer
from tests.support.worklist import fresh_topics, put, run, signed_in, worklist_for_tests
from tests.unit.notifier.factory import CNS_EMAIL, flag
from tests.unit.worklist.alerts import MDT_LEAD_EMAIL, directory, team_alert

LONG_AGO = datetime(2026, 11, 2, 9, 0, tzinfo=LONDON)  # a Monday: overdue since 4 November
STOP_SECONDS = 10.0


def test_the_worklist_escalates_an_overdue_alert_once_and_stops_cleanly_on_sigterm(
    kafka_settings: KafkaSettings, smtp_server: SmtpServer, tmp_path: Path
) -> None:
    topics = fresh_topics(kafka_settings)
    put(kafka_settings, topics.cancer_flags, flag(occurred_at=LONG_AGO, recorded_at=LONG_AGO))
    alerted = team_alert(LONG_AGO)
    put(kafka_settings, topics.alerts, alerted)
    routes = tmp_path / "directory.json"
    routes.write_text(directory().model_dump_json())
    mail = {**smtp_server.env(), "RMBC_DIRECTORY_FILE": str(routes),
            "RMBC_ESCALATION_CHECK_SECONDS": "0.2"}  # fmt: skip

    with worklist_for_tests(tmp_path, kafka_settings, topics, escalation=mail) as worklist:
        [message] = smtp_server.wait_for(1)
        expected = escalation_id(alerted.flag_id, CNS_EMAIL)
        records = run(
            read_topic(
                kafka_settings, topics.alerts, until=lambda found: len(found) >= 3, timeout=20
            )
        )
        with signed_in(worklist, "mdt") as mdt:
            listed = mdt.get("/").text
        began = time.monotonic()
        worklist.process.stop(grace=STOP_SECONDS)
        stopped_in = time.monotonic() - began

    assert message["To"] == MDT_LEAD_EMAIL
    assert message["Message-ID"] == f"<{expected}@rmbc>"
    escalations = [decode_as(r.value, AlertEvent) for r in records[1:]]
    assert [(e.alert_id, e.outcome) for e in escalations] == [
        (expected, "attempting"),
        (expected, "escalated"),
    ]
    assert "Escalated" in listed
    assert worklist.process.process is not None
    assert worklist.process.process.returncode == 0
    assert stopped_in < STOP_SECONDS
    assert len(smtp_server.envelopes) == 1
