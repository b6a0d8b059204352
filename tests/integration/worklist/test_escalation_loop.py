"""The escalation loop against a real broker and the real SMTP sink of the notifier tests, with an
injected clock: an overdue alert is e-mailed to the MDT lead once, never again after a restart, and
an acknowledged or retracted one never."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

from services.notifier.directory import Directory
from services.worklist.escalation import escalation_id
from services.worklist.escalation_loop import EscalationLoop, EscalationSettings, SmtpSender
from services.worklist.overdue import LONDON
from shared.admin import records_to_end
from shared.codec import decode_as, encode
from shared.events import AlertEvent
from shared.settings import KafkaSettings
from shared.topics import TopicNames
from tests.support.kafka import produce
from tests.support.smtp import SmtpServer
from tests.unit.notifier.factory import CNS_EMAIL, flag
from tests.unit.registry.reviews import review
from tests.unit.worklist.alerts import MDT_LEAD_EMAIL, directory, team_alert

CHRISTMAS_EVE = datetime(2026, 12, 24, 15, 0, tzinfo=LONDON)  # due by the end of 30 December
NOT_YET = datetime(2026, 12, 30, 23, 59, tzinfo=LONDON)
OVERDUE = datetime(2026, 12, 31, 0, 0, tzinfo=LONDON)
DEADLINE_SECONDS = 30.0
PATIENTS = {"overdue": "9434765919", "acknowledged": "9434765846", "retracted": "9434765862"}


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def settings(topics: TopicNames, kafka: KafkaSettings, smtp: SmtpServer) -> EscalationSettings:
    return EscalationSettings(
        escalation_check_seconds=0.1,
        smtp_host=smtp.host,
        smtp_port=smtp.port,
        smtp_from=smtp.sender,
        directory_file=Path("directory.json"),  # the directory is passed in below
        kafka=kafka,
        topics=topics,
    )


class Running:
    """An escalation loop running as the worklist runs it: a task beside the web app."""

    def __init__(self, loop: EscalationLoop) -> None:
        self.loop = loop
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(loop.run(self.stop))

    async def checked(self, times: int = 1) -> None:
        """Wait (with a deadline) until the loop caught up and checked `times` more times."""
        deadline = asyncio.get_running_loop().time() + DEADLINE_SECONDS
        target = self.loop.checks + times
        while self.loop.checks < target or not self.loop.ready.is_set():
            if self.task.done():
                self.task.result()  # a loop that stopped shows its error
            assert asyncio.get_running_loop().time() < deadline, "no check within the deadline"
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def running(
    config: EscalationSettings, routes: Directory, clock: Clock
) -> AsyncIterator[Running]:
    run = Running(EscalationLoop(config, routes, SmtpSender(config), clock=clock))
    try:
        await run.checked()
        yield run
    finally:
        run.stop.set()
        await asyncio.wait_for(run.task, DEADLINE_SECONDS)


async def publish_alerts(kafka: KafkaSettings, topics: TopicNames) -> dict[str, AlertEvent]:
    sent = {name: team_alert(CHRISTMAS_EVE, key=key) for name, key in PATIENTS.items()}
    for name, event in sent.items():
        await produce(kafka, topics.alerts, encode(event), PATIENTS[name].encode())
    gp_letter = team_alert(CHRISTMAS_EVE, channel="mesh", key=PATIENTS["overdue"])
    await produce(kafka, topics.alerts, encode(gp_letter), PATIENTS["overdue"].encode())
    acknowledged = review(sent["acknowledged"].flag_id, "acknowledged")
    await produce(kafka, topics.reviews, encode(acknowledged), PATIENTS["acknowledged"].encode())
    retracted = flag(state="retracted", revision=2, key=PATIENTS["retracted"])
    await produce(kafka, topics.cancer_flags, encode(retracted), PATIENTS["retracted"].encode())
    return sent


async def escalation_events(kafka: KafkaSettings, topics: TopicNames) -> list[AlertEvent]:
    """Every event on the alerts topic up to its end now, less the notifier's."""
    events = [decode_as(r.value, AlertEvent) async for r in records_to_end(kafka, topics.alerts)]
    return [e for e in events if e.source != "notifier"]


async def test_an_overdue_alert_is_escalated_once_by_e_mail_and_never_again_after_a_restart(
    kafka_settings, topics, smtp_server
):
    sent = await publish_alerts(kafka_settings, topics)
    clock = Clock(NOT_YET)
    config = settings(topics, kafka_settings, smtp_server)

    async with running(config, directory(), clock) as run:
        assert smtp_server.envelopes == []  # checked before the end of the second working day
        clock.now = OVERDUE
        [message] = await asyncio.to_thread(smtp_server.wait_for, 1)
        await run.checked(times=2)  # the check that sent it has finished, and one more
    assert message["To"] == MDT_LEAD_EMAIL
    expected = escalation_id(sent["overdue"].flag_id, CNS_EMAIL)
    assert message["Message-ID"] == f"<{expected}@rmbc>"

    async with running(config, directory(), clock):
        pass  # caught up and checked once
    assert len(smtp_server.envelopes) == 1
    events = await escalation_events(kafka_settings, topics)
    assert [(e.alert_id, e.outcome) for e in events] == [
        (expected, "attempting"),
        (expected, "escalated"),
    ]
    assert events[1].recipient == MDT_LEAD_EMAIL


async def test_a_team_without_an_mdt_lead_records_the_escalation_as_unroutable_once(
    kafka_settings, topics, smtp_server
):
    await publish_alerts(kafka_settings, topics)
    config = settings(topics, kafka_settings, smtp_server)
    for _ in range(2):  # and again after a restart
        async with running(config, directory(with_mdt_lead=False), Clock(OVERDUE)):
            pass
    events = await escalation_events(kafka_settings, topics)
    assert [e.outcome for e in events] == ["unroutable"]
    assert smtp_server.envelopes == []


async def test_an_escalation_the_relay_refuses_is_recorded_as_failed_and_tried_again(
    kafka_settings, topics, smtp_server
):
    await publish_alerts(kafka_settings, topics)
    config = settings(topics, kafka_settings, smtp_server)
    refusing = directory(mdt_lead_email="refused-mdt-lead@example-hospitals.nhs.net")
    async with running(config, refusing, Clock(OVERDUE)) as run:
        await run.checked(times=1)  # a second check: the first attempt's retry
    outcomes = [(e.attempt, e.outcome) for e in await escalation_events(kafka_settings, topics)]
    assert outcomes[:4] == [(1, "attempting"), (1, "failed"), (2, "attempting"), (2, "failed")]
    assert "escalated" not in {outcome for _, outcome in outcomes}
    assert smtp_server.envelopes == []
