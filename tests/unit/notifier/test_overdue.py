"""A GP document the practice does not answer in time: recorded once, the CNS team told once."""

from datetime import timedelta

from services.notifier.acknowledgements import AcknowledgementReader, gp_not_told_id
from services.notifier.decisions import plan_for
from services.notifier.delivery import Recorder
from services.notifier.ledger import Ledger, alert_event
from services.notifier.metrics import NotifierMetrics
from tests.unit.notifier.factory import CNS_EMAIL, NOW, directory, flag

WAIT = timedelta(days=5)


class EmptyInbox:
    async def collect(self, limit):
        return []

    async def acknowledge(self, message_id):
        raise AssertionError("nothing to acknowledge")


class Outbox:
    def __init__(self):
        self.sent = []

    async def send(self, payload, started=None):
        self.sent.append(payload)
        return payload.message_id

    async def already_sent(self, alert_id, transport_id):
        return None

    async def close(self):
        pass


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


def reader_with_sent_alerts(gp_outcome="sent", told=True):
    ledger, clock, outbox, published = Ledger(), Clock(), Outbox(), []

    async def publish(topic, key, event):
        published.append(event)

    f = flag()
    for d in plan_for(f, directory(), [], NOW).deliveries:
        outcome = gp_outcome if d.channel == "mesh" else "sent"
        event = alert_event(
            f,
            alert_id=d.alert_id,
            channel=d.channel,
            recipient=d.recipient,
            attempt=1,
            outcome=outcome,
            now=NOW,
        )
        if not told:  # as recorded before documents were timed
            event = event.model_copy(update={"told_sites": None, "told_evidence": None})
        ledger.apply(event)
    metrics = NotifierMetrics()
    reader = AcknowledgementReader(
        EmptyInbox(),
        outbox,
        ledger,
        Recorder(publish, ledger, "alerts", "dead-letter", metrics),
        ack_workflow_id="ACK",
        smtp_from="rmbc@x",
        clock=clock,
        metrics=metrics,
        answer_within=WAIT,
    )
    return reader, clock, outbox, published, f


async def test_a_document_nobody_acknowledged_in_time_is_not_collected_and_told_once():
    reader, clock, outbox, published, f = reader_with_sent_alerts()
    clock.now = NOW + WAIT - timedelta(minutes=1)
    await reader.poll_once()
    assert published == [] and outbox.sent == []
    clock.now = NOW + WAIT
    for _ in range(3):  # later polls find nothing more to do
        await reader.poll_once()
        clock.now += timedelta(hours=1)
    gp = [e for e in published if e.channel == "mesh"]
    assert [e.outcome for e in gp] == ["not_collected"]
    assert "within 5 days" in gp[0].detail
    [notice] = outbox.sent
    assert notice.message_id == f"<{gp_not_told_id(f.flag_id, CNS_EMAIL)}@rmbc>"


async def test_a_delivered_document_never_filed_in_time_is_not_filed():
    reader, clock, outbox, published, _ = reader_with_sent_alerts("delivered")
    clock.now = NOW + WAIT
    await reader.poll_once()
    assert [e.outcome for e in published if e.channel == "mesh"] == ["not_filed"]
    assert len(outbox.sent) == 1


async def test_a_filed_document_is_never_overdue():
    reader, clock, outbox, published, _ = reader_with_sent_alerts("filed")
    clock.now = NOW + 10 * WAIT
    await reader.poll_once()
    assert published == [] and outbox.sent == []


async def test_documents_recorded_before_they_were_timed_raise_no_alarm_at_upgrade():
    reader, clock, outbox, published, _ = reader_with_sent_alerts(told=False)
    clock.now = NOW + 10 * WAIT
    await reader.poll_once()
    assert published == [] and outbox.sent == []


def test_a_practice_that_files_after_the_timer_still_moves_the_alert_to_filed():
    ledger = Ledger()
    for outcome in ("sent", "not_filed", "filed"):
        ledger.apply(
            alert_event(
                flag(),
                alert_id="gp",
                channel="mesh",
                recipient="X26ABC2",
                attempt=1,
                outcome=outcome,
                now=NOW,
            )
        )
    assert ledger.get("gp").outcome == "filed" and ledger.awaiting_answer() == []
