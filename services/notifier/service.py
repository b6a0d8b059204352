"""The notifier's Kafka shell: load the ledger, consume flags, plan, deliver, commit.

Loop: decode -> plan (pure) -> record unroutable alerts, publish the registry record, start one
delivery task per alert -> commit each offset once every output it caused is recorded.
"""

import asyncio
import base64
import functools
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition

from services.notifier.channels import DeliveryChannel, MeshDocument
from services.notifier.cns_email import cns_email
from services.notifier.decisions import Delivery, plan_for
from services.notifier.decisions import alert_id as planned_alert_id
from services.notifier.delivery import UNDELIVERABLE, Deliverer, Job, Recorder, RetryPolicy
from services.notifier.directory import Directory
from services.notifier.facts import facts_for
from services.notifier.gp_message import mesh_document, subject
from services.notifier.ledger import Ledger, alert_event
from services.notifier.metrics import NotifierMetrics
from services.notifier.offsets import OffsetTracker, commit_done
from services.notifier.registry_record import registry_record_v2
from services.notifier.settings import NotifierSettings
from shared.admin import read_to_end
from shared.attempts import Attempts, position
from shared.codec import UndecodableEvent, decode, decode_as, encode
from shared.dead_letter import dead_letter_for_record
from shared.events import AlertEvent, CancerFlag, DeadLetter, Envelope

log = logging.getLogger(__name__)
SERVICE = "notifier"
MAX_IN_FLIGHT = 1000
FINAL_COMMIT_SECONDS = 5.0
# Reading the ledger back as each event lands costs a fetch per event; what another process (a
# redrive) records is wanted within seconds, so the follower takes what a second brought at once.
LEDGER_FOLLOW_SECONDS = 1.0
FAILED_ATTEMPTS_FILE = "failed-attempts.json"


def utc_now() -> datetime:
    return datetime.now(UTC)


class Notifier:
    def __init__(
        self,
        settings: NotifierSettings,
        directory: Directory,
        channels: dict[str, DeliveryChannel],
        clock: Callable[[], datetime] = utc_now,
        metrics: NotifierMetrics | None = None,
    ) -> None:
        self.settings = settings
        self.directory = directory
        self.channels = channels
        self.clock = clock
        self.metrics = metrics or NotifierMetrics()
        self.ledger = Ledger()
        self.ready = asyncio.Event()
        self._producer: AIOKafkaProducer | None = None

    # --- wiring -------------------------------------------------------------------------------
    async def _publish(self, topic: str, key: bytes | None, event: Envelope) -> None:
        assert self._producer is not None
        await self._producer.send_and_wait(topic, encode(event), key=key)

    async def _producer_send(
        self, topic: str, key: bytes | None, event: Envelope
    ) -> "asyncio.Future[Any]":
        assert self._producer is not None
        acked: asyncio.Future[Any] = await self._producer.send(topic, encode(event), key=key)
        return acked

    def _record_acked(self, action: str, acked: "asyncio.Future[Any]") -> None:
        if not acked.cancelled() and acked.exception() is None:
            self.metrics.registry_records.labels(action).inc()

    def _deliverer(self) -> Deliverer:
        s = self.settings
        recorder = Recorder(
            self._publish, self.ledger, s.topics.alerts, s.topics.dead_letter, self.metrics
        )
        return Deliverer(
            self.channels,  # type: ignore[arg-type]
            self.ledger,
            recorder,
            RetryPolicy(
                s.notifier_max_attempts, s.notifier_retry_base_seconds, s.notifier_retry_max_seconds
            ),
            self.clock,
            self.metrics,
            concurrency=s.notifier_concurrency,
            pause_after_send=s.notifier_test_pause_after_send_seconds,
        )

    async def _start_producer(self) -> None:
        self._producer = AIOKafkaProducer(
            **self.settings.kafka.aiokafka_options(), acks="all", enable_idempotence=True
        )
        await self._producer.start()

    async def _load_ledger(self) -> AIOKafkaConsumer:
        """Read the whole ledger topic into memory; return the consumer to keep following it."""
        reader = AIOKafkaConsumer(
            **self.settings.kafka.aiokafka_options(), group_id=None, enable_auto_commit=False
        )
        await reader.start()
        try:
            partitions = await self._partitions(self.settings.topics.alerts)
            async for record in read_to_end(reader, partitions):
                self._apply_ledger_record(record)
        except BaseException:
            await reader.stop()
            raise
        log.info("ledger loaded", extra={"alerts": len(self.ledger)})
        return reader

    def _apply_ledger_record(self, record: Any) -> None:
        try:
            event = decode(record.value)
        except UndecodableEvent as error:
            log.warning("unreadable ledger event skipped", extra={"reason": str(error)})
            return
        if isinstance(event, AlertEvent):
            self.ledger.apply(event)

    async def _partitions(self, topic: str) -> list[TopicPartition]:
        assert self._producer is not None
        numbers = await self._producer.partitions_for(topic)  # waits for the topic's metadata
        return [TopicPartition(topic, n) for n in sorted(numbers)]

    async def _follow_ledger(self, reader: AIOKafkaConsumer) -> None:
        """Keep the ledger current with what other processes (e.g. a redrive) record."""
        while True:
            for records in (await reader.getmany(timeout_ms=0)).values():
                for record in records:
                    self._apply_ledger_record(record)
            await asyncio.sleep(LEDGER_FOLLOW_SECONDS)

    # --- the loop -----------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        s = self.settings
        await self._start_producer()
        reader = consumer = None
        follower = None
        try:
            reader = await self._load_ledger()
            follower = asyncio.create_task(self._follow_ledger(reader))
            consumer = AIOKafkaConsumer(
                **s.kafka.aiokafka_options(),
                group_id=s.notifier_group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest",
                session_timeout_ms=s.notifier_session_timeout_ms,
                heartbeat_interval_ms=min(3000, s.notifier_session_timeout_ms // 3),
            )
            tracker = OffsetTracker()
            consumer.subscribe([s.topics.cancer_flags], listener=_Revoked(tracker))
            await consumer.start()
            deliverer = self._deliverer()
            attempts = Attempts(
                s.notifier_state_dir / FAILED_ATTEMPTS_FILE, s.notifier_poison_after_failures
            )
            next_commit = 0.0
            while not stop.is_set():
                if tracker.in_flight() >= MAX_IN_FLIGHT:
                    await asyncio.sleep(0.05)
                else:
                    fetched = await consumer.getmany(timeout_ms=200, max_records=100)
                    for tp, records in fetched.items():
                        for record in records:
                            outputs = await self._attempt(record, deliverer, attempts)
                            tracker.add(tp, record.offset, outputs)
                if consumer.assignment():
                    self.ready.set()
                self.metrics.in_flight.set(tracker.in_flight())
                for tp in consumer.assignment():
                    highwater = consumer.highwater(tp)
                    if highwater is not None:  # None before the partition's first fetch
                        behind = highwater - await consumer.position(tp)
                        self.metrics.lag.labels(str(tp.partition)).set(max(0, behind))
                if follower.done():
                    follower.result()
                if time.monotonic() >= next_commit:
                    # a commit is a round trip the loop waits for: once per interval, not once
                    # per fetch (about once per flag under load)
                    await _commit_counting_failures(consumer, tracker, attempts)
                    next_commit = time.monotonic() + s.notifier_commit_interval_seconds
            try:  # what is done is committed on the way out, if the broker answers in time
                await asyncio.wait_for(commit_done(consumer, tracker), FINAL_COMMIT_SECONDS)
            except TimeoutError:
                log.warning("last commit not answered; records since are read again on restart")
        finally:
            self.ready.clear()
            if follower is not None:
                follower.cancel()
            for client in (consumer, reader):
                if client is not None:
                    await client.stop()
            await self._close_channels()
            if self._producer is not None:
                await self._producer.stop()

    async def _attempt(
        self, record: Any, deliverer: Deliverer, attempts: Attempts
    ) -> list["asyncio.Future[Any]"]:
        """Handle the record, unless it has stopped the notifier before: then dead-letter it. A
        failure that is not the broker's is counted, and the notifier stops (as before) so that
        its restart replays the record."""
        where = position(record)
        exhausted = attempts.exhausted(where)
        if exhausted is not None:
            await self._dead_letter(
                dead_letter_for_record(record, service=SERVICE, reason=exhausted, now=self.clock())
            )
            attempts.done(where)
            return []
        try:
            outputs = await self._handle(record, deliverer)
        except Exception as error:
            attempts.failed(where, error)
            raise
        attempts.done(where)
        return outputs

    async def _handle(self, record: Any, deliverer: Deliverer) -> list["asyncio.Future[Any]"]:
        now = self.clock()
        try:
            flag = decode_as(record.value, CancerFlag)
        except UndecodableEvent as error:
            await self._dead_letter(
                dead_letter_for_record(
                    record, service=SERVICE, reason=f"undecodable flag: {error}", now=now
                )
            )
            return []
        if record.key != flag.patient_key.encode():
            # the key decides the partition, and with it the order of this patient's flags
            problem = "missing key" if record.key is None else "key is not the flag's patient_key"
            await self._dead_letter(
                dead_letter_for_record(
                    record,
                    service=SERVICE,
                    reason=f"{problem}: flags are keyed by the patient key",
                    now=now,
                )
            )
            return []
        self.metrics.flags.labels(flag.state).inc()
        try:
            plan = plan_for(flag, self.directory, self.ledger.for_flag(flag.flag_id), now)
            payloads = {d.alert_id: self._render(flag, d, now) for d in plan.deliveries}
        except Exception as error:  # planning and rendering are pure: the flag's content is why
            await self._dead_letter(
                dead_letter_for_record(
                    record,
                    service=SERVICE,
                    reason=f"flag not planned or rendered: {type(error).__name__}: {error}",
                    now=now,
                )
            )
            return []
        key = flag.patient_key.encode()
        recorder_events = []
        for unroutable in plan.unroutable:
            if self.ledger.get(unroutable.alert_id) is None:
                recorder_events.append(
                    alert_event(
                        flag,
                        alert_id=unroutable.alert_id,
                        channel=unroutable.channel,
                        recipient=unroutable.recipient,
                        attempt=1,
                        outcome="unroutable",
                        now=now,
                        detail=unroutable.reason,
                    )
                )
        for event in recorder_events:
            await self._publish(self.settings.topics.alerts, key, event)
            self.ledger.apply(event)
            self.metrics.alerts.labels(event.channel, event.outcome).inc()
            log.warning(
                "alert unroutable",
                extra={
                    "alert_id": event.alert_id,
                    "channel": event.channel,
                    "flag_id": flag.flag_id,
                },
            )
        if plan.dead_letter_reasons and recorder_events:
            await self._dead_letter(
                dead_letter_for_record(
                    record, service=SERVICE, reason="; ".join(plan.dead_letter_reasons), now=now
                )
            )
        tasks: list[asyncio.Future[Any]] = []
        if plan.record is not None:
            # handed to the producer in order, acknowledged in the background: the next flag does
            # not wait for this record's round trip; the offset waits for the acknowledgement
            acked = await self._producer_send(
                self.settings.topics.registry_records, key, plan.record
            )
            acked.add_done_callback(functools.partial(self._record_acked, plan.record.action))
            tasks.append(acked)
            # the COSD v10 record beside v1 until v1 retires; a missing mandatory item is counted
            record_v2 = registry_record_v2(flag, plan.record)
            tasks.append(
                await self._producer_send(self.settings.topics.registry_records_v2, key, record_v2)
            )
            for item in record_v2.incomplete_items:
                self.metrics.registry_records_incomplete.labels(item).inc()
        for delivery in plan.deliveries:
            if self.ledger.is_final(delivery.alert_id):
                continue
            tasks.append(deliverer.submit(Job(flag, delivery, payloads[delivery.alert_id], record)))
        log.info(
            "flag handled",
            extra={
                "flag_id": flag.flag_id,
                "state": flag.state,
                "kind": flag.kind,
                "revision": flag.revision,
                "deliveries": len(tasks),
            },
        )
        return tasks

    def _render(self, flag: CancerFlag, delivery: Delivery, now: datetime) -> Any:
        facts = facts_for(flag, delivery, self.directory)
        if delivery.channel == "mesh":
            body, content_type = mesh_document(facts, now, flag.patient.gp_practice_ods)
            return MeshDocument(
                delivery.recipient, delivery.alert_id, subject(facts), body, content_type
            )
        return cns_email(
            facts, sender=self.settings.smtp_from, recipient=delivery.recipient, sent_at=now
        )

    async def _close_channels(self) -> None:
        for channel in self.channels.values():
            await channel.close()

    async def _dead_letter(self, event: DeadLetter) -> None:
        await self._publish(self.settings.topics.dead_letter, None, event)
        self.metrics.dead_letters.inc()
        log.error("dead-lettered", extra={"reason": event.reason[:200]})

    # --- redrive ------------------------------------------------------------------------------
    async def redrive(self) -> dict[str, int]:
        """Re-send every dead-lettered alert whose ledger state is still `dead_lettered` and whose
        flag has not been corrected since. Returns counts by result."""
        s = self.settings
        await self._start_producer()
        counts = {"redriven": 0, "sent": 0, "still_failing": 0, "skipped": 0}
        reader = None
        try:
            reader = await self._load_ledger()
            deliverer = self._deliverer()
            tasks = []
            dead_letters = await self._partitions(s.topics.dead_letter)
            for record in await _read_to_end(s, dead_letters):
                job = self._redrive_job(record)
                if job is None:
                    continue
                if not isinstance(job, Job):
                    counts["skipped"] += 1
                    continue
                counts["redriven"] += 1
                tasks.append((job.delivery.alert_id, deliverer.submit(job)))
            for alert_id, task in tasks:
                await task
                entry = self.ledger.get(alert_id)
                counts[
                    "sent"
                    if entry and entry.outcome in ("sent", "already_sent")
                    else "still_failing"
                ] += 1
        finally:
            if reader is not None:
                await reader.stop()
            await self._close_channels()
            if self._producer is not None:
                await self._producer.stop()
        return counts

    def _redrive_job(self, record: Any) -> Job | bool | None:
        try:
            letter = decode_as(record.value, DeadLetter)
        except UndecodableEvent:
            return None
        match = UNDELIVERABLE.match(letter.reason)
        if letter.service != SERVICE or match is None:
            return None
        alert_id = match["alert_id"]
        entry = self.ledger.get(alert_id)
        if entry is None or entry.outcome != "dead_lettered":
            return None  # already re-driven, or sent since
        value = base64.b64decode(letter.original_value)
        flag = decode_as(value, CancerFlag)
        correction = correction_id(flag.flag_id, entry.recipient)
        if correction != alert_id and self.ledger.get(correction) is not None:
            return False  # withdrawn since: sending the original now would mislead
        earlier = [e for e in self.ledger.for_flag(flag.flag_id) if e.alert_id != alert_id]
        plan = plan_for(flag, self.directory, earlier, self.clock())
        for delivery in plan.deliveries:
            if delivery.alert_id == alert_id:
                source = _Source(letter, value)
                return Job(flag, delivery, self._render(flag, delivery, self.clock()), source, True)
        return False


def correction_id(flag_id: str, recipient: str) -> str:
    return planned_alert_id(flag_id, recipient, "correction")


class _Source:
    """A dead letter's original record, shaped like a consumed record."""

    def __init__(self, letter: DeadLetter, value: bytes) -> None:
        self.topic = letter.original_topic
        self.partition = letter.original_partition
        self.offset = letter.original_offset
        self.key = base64.b64decode(letter.original_key) if letter.original_key else None
        self.value = value


async def _commit_counting_failures(
    consumer: AIOKafkaConsumer, tracker: OffsetTracker, attempts: Attempts
) -> None:
    """Commit what is done; the work of a record that failed (its registry record refused, say)
    stops the notifier, counted against that record."""
    try:
        await commit_done(consumer, tracker)
    except Exception as error:
        if tracker.failed_at is not None:
            tp, offset = tracker.failed_at
            attempts.failed(f"{tp.topic}/{tp.partition}/{offset}", error)
        raise


async def _read_to_end(settings: NotifierSettings, partitions: list[TopicPartition]) -> list[Any]:
    reader = AIOKafkaConsumer(
        **settings.kafka.aiokafka_options(), group_id=None, enable_auto_commit=False
    )
    await reader.start()
    try:
        return [record async for record in read_to_end(reader, partitions)]
    finally:
        await reader.stop()


class _Revoked(ConsumerRebalanceListener):  # type: ignore[misc]
    """Partitions taken away stop counting: their records are read again from the last commit."""

    def __init__(self, tracker: OffsetTracker) -> None:
        self.tracker = tracker

    async def on_partitions_revoked(self, revoked: Any) -> None:
        self.tracker.forget(revoked)

    async def on_partitions_assigned(self, assigned: Any) -> None:
        pass
