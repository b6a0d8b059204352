"""The stream: a faust app keyed by patient, one table row of compact state per patient.

Per event: decode -> apply to the patient's state -> reclassify -> send the flag changes -> once the
broker acknowledges them, store the new state and let the event go for commit (`in_flight`). A
crash in between re-emits the same flags (same event ids) rather than losing them.
"""

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import faust
from aiohttp.web import Response
from aiokafka.errors import KafkaError
from faust.exceptions import PartitionsMismatch
from faust.web.drivers import aiohttp as aiohttp_web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.classifier.bounds import fitted, refusal
from services.classifier.concept_maps import with_trust_maps
from services.classifier.core import handle
from services.classifier.flags import FlagContext
from services.classifier.in_flight import InFlight, Settle
from services.classifier.metrics import ClassifierMetrics
from services.classifier.recovery_watch import RecoveryWatch, recovery_progress
from services.classifier.settings import ClassifierSettings
from services.classifier.state import PatientState
from services.classifier.terminology import Terminology, load_terminology
from services.classifier.topic_check import TABLE, TableLayout
from services.classifier.worker_consumer import use_worker_consumer
from shared.admin import lag_by_partition
from shared.attempts import Attempts, position
from shared.codec import UndecodableEvent, decode_as, encode
from shared.dead_letter import dead_letter_for
from shared.events import ClinicalEvent
from shared.settings import KafkaSettings

SERVICE = "classifier"
MAX_PATIENTS_IN_FLIGHT = 1000
LAG_READ_SECONDS = 5.0
RECOVERY_CHECK_SECONDS = 5.0
FAILED_ATTEMPTS_FILE = "failed-attempts.json"
RECORD_OVERHEAD = 512  # a record's framing and headers, besides its key and value
log = logging.getLogger("rmbc.classifier")


@dataclass
class Classifier:
    app: faust.App
    agent: Any
    table: Any
    flags_topic: Any
    dead_letter_topic: Any
    metrics: ClassifierMetrics


class RecoveryStalled(RuntimeError):
    pass


class NoSensorStateWarning(logging.Filter):
    """faust warns of "missing sensor state" at every rebalance when no sensor is installed, as in
    StreamApp: a warning an operator would learn to ignore, so it is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Missing sensor state for rebalance" not in str(record.msg)


NO_SENSOR_STATE_WARNING = NoSensorStateWarning()  # one instance: a logger adds it only once


class OwnPagesOnly(aiohttp_web.Web):
    """faust's aiohttp web server with none of faust's views: the table and router views answer
    with a patient's stored state, and with the views off faust still serves an index page at
    "/". Only the pages the app adds itself are served; any other path is aiohttp's bare 404."""

    default_blueprints: ClassVar[list[tuple[str, str]]] = []
    production_blueprints: ClassVar[list[tuple[str, str]]] = []
    debug_blueprints: ClassVar[list[tuple[str, str]]] = []
    optional_blueprints: ClassVar[list[tuple[str, str]]] = []


class StreamApp(faust.App):
    """faust's App without its Monitor as a sensor, and with a watch on table recovery.

    The Monitor keeps in-memory statistics for faust's own web views, which the classifier does
    not serve (its /metrics are its own), and as a sensor it is called for every message and
    event: about 4% of the stream's CPU. The watch (`recovery_watch`) runs from the start, since
    faust starts an app's own timers only once the first recovery has completed."""

    recovery_watch: RecoveryWatch | None = None

    def _new_web(self) -> Any:
        return OwnPagesOnly(self)

    def on_init_dependencies(self) -> Any:
        dependencies = super().on_init_dependencies()  # adds the Monitor to the sensors
        self.sensors.remove(self.monitor)
        logging.getLogger(type(self).__module__).addFilter(NO_SENSOR_STATE_WARNING)  # faust's log
        return dependencies

    async def on_start(self) -> None:
        await super().on_start()
        if self.recovery_watch is not None:
            self.add_future(self._watch_recovery(self.recovery_watch))

    async def _watch_recovery(self, watch: RecoveryWatch) -> None:
        while not self.should_stop:
            await asyncio.sleep(min(RECOVERY_CHECK_SECONDS, watch.read_again_seconds / 2))
            tables: Any = self.tables  # faust's TableManager: more than its declared type
            recovery = tables.recovery
            still = watch.still_for(
                bool(self.in_recovery), recovery_progress(recovery), time.monotonic()
            )
            if watch.stalled(still):
                log.error(
                    "table recovery made no progress for %.0f s: stopping, so that the restart "
                    "recovers afresh",
                    still,
                )
                await self.crash(RecoveryStalled(f"no recovery progress for {still:.0f} s"))
                return
            if still >= watch.read_again_seconds and not tables.changelog_queue.qsize():
                await self._read_again(watch, still, recovery)

    async def _read_again(self, watch: RecoveryWatch, still: float, recovery: Any) -> None:
        """Read again changelog records the consumer fetched and recovery never received."""
        highwaters = dict(recovery.active_highwaters)
        positions = await self._positions(highwaters)
        targets = watch.to_read_again(still, dict(recovery.active_offsets), highwaters, positions)
        for tp, offset in targets.items():
            log.warning(
                "changelog records fetched were never restored: reading them again",
                extra={"partition": tp.partition, "offset": offset, "next": positions[tp]},
            )
        if targets:
            await self.consumer.seek_wait(targets)

    async def _positions(self, partitions: Any) -> dict[Any, int | None]:
        thread = self.consumer._thread  # type: ignore[attr-defined]
        fetching = thread._ensure_consumer()
        positions: dict[Any, int | None] = {}
        for tp in partitions:
            try:
                # bounded: a broker that does not answer must not hold up the stall's stop
                asked = thread.call_thread(fetching.position, tp)
                positions[tp] = await asyncio.wait_for(asked, RECOVERY_CHECK_SECONDS)
            except (TimeoutError, KafkaError):  # revoked meanwhile: a rebalance starts again
                positions[tp] = None
        return positions


def broker_credentials(kafka: KafkaSettings) -> faust.types.auth.CredentialsT | None:
    """faust's form of the shared SASL/SSL settings (it does not take aiokafka's options)."""
    options = kafka.aiokafka_options()
    if kafka.security_protocol.startswith("SASL_"):
        return faust.SASLCredentials(
            username=options["sasl_plain_username"],
            password=options["sasl_plain_password"],
            mechanism=options["sasl_mechanism"],
            ssl_context=options.get("ssl_context"),
        )
    if kafka.security_protocol == "SSL":
        return faust.SSLCredentials(options["ssl_context"])
    return None


def readiness(assigned_partitions: int, recovering: bool) -> tuple[int, str]:
    """/readyz: ready once the worker holds partitions and its table is restored. A worker whose
    table recovery does not end classifies nothing, and says so here."""
    ready = assigned_partitions > 0 and not recovering
    body = (
        f'{{"ready":{str(ready).lower()},"assigned_partitions":{assigned_partitions},'
        f'"recovering":{str(recovering).lower()}}}'
    )
    return (200 if ready else 503), body


def broker_metadata_fault(error: BaseException) -> bool:
    """faust's PartitionsMismatch once the worker runs: the start-up check (topic_check.py) has
    seen the changelog and input agree, so a mismatch now is the consumer's metadata missing a
    topic's partitions while a broker of a cluster restarts ("has 0 partitions"), a broker fault
    the restart does not meet again, never the event's: it must not count towards dead-lettering
    it (the three-node chaos run met it once)."""
    return isinstance(error, PartitionsMismatch)


def create_app(
    settings: ClassifierSettings, layout: TableLayout, terms: Terminology | None = None
) -> Classifier:
    """The faust app; `layout` is the input topic's (services/classifier/topic_check.py), `terms`
    the terminology with the trust's maps (read here when not given)."""
    raw: dict[str, Any] = {
        "key_type": bytes,
        "value_type": bytes,
        "key_serializer": "raw",
        "value_serializer": "raw",
    }
    app = StreamApp(
        settings.app_id,
        broker=settings.kafka.faust_broker_url(),
        broker_client_id=settings.kafka.client_id,
        store=settings.store,
        datadir=str(settings.data_dir),
        topic_partitions=layout.partitions,
        topic_replication_factor=layout.replication_factor,
        broker_credentials=broker_credentials(settings.kafka),
        producer_acks=-1,
        broker_session_timeout=10.0,
        broker_heartbeat_interval=3.0,
        consumer_auto_offset_reset="earliest",
        consumer_max_fetch_size=settings.max_fetch_bytes,
        producer_max_request_size=settings.max_message_bytes,
        web_enabled=True,
        # faust's own views would serve the tables (patients' state) and the router: none served
        web_router_enabled=False,
        web_tables_enabled=False,
        web_stats_enabled=False,
        web_graph_enabled=False,
        web_metrics_enabled=False,
        web_bind=settings.web_host,
        web_port=settings.web_port,
        web_in_thread=False,
        autodiscover=False,
        key_serializer="raw",
        value_serializer="raw",
    )
    app.recovery_watch = RecoveryWatch(settings.recovery_stall_seconds)
    use_worker_consumer(app, settings.fetch_wait_ms)
    events = app.topic(settings.topics.clinical_events, **raw)
    flags_topic = app.topic(settings.topics.cancer_flags, **raw)
    dead_letter_topic = app.topic(settings.topics.dead_letter, **raw)
    table = app.Table(TABLE, partitions=layout.partitions, key_type=bytes, value_type=bytes)
    metrics = ClassifierMetrics()
    terms = terms or with_trust_maps(load_terminology(), settings.concept_maps)

    async def dead_letter(event: Any, reason: str) -> None:
        message = event.message
        letter = dead_letter_for(
            service=SERVICE,
            reason=reason,
            value=message.value,
            key=message.key,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            now=datetime.now(UTC),
        )
        await (await dead_letter_topic.send(key=message.key, value=encode(letter)))
        metrics.dead_letters.inc()
        log.warning(
            "dead-lettered an event",
            extra={"reason": reason, "partition": message.partition, "offset": message.offset},
        )

    def assigned() -> set[Any]:
        return app.consumer.assignment() if app.started else set()

    async def read_lag() -> dict[int, int] | None:
        """Input records the group has not committed, per assigned partition; None when the
        broker does not answer in time."""
        inputs = [tp for tp in assigned() if tp.topic == settings.topics.clinical_events]
        try:
            behind = await asyncio.wait_for(
                lag_by_partition(settings.kafka, app.conf.id, inputs), LAG_READ_SECONDS
            )
        except (TimeoutError, OSError, KafkaError) as error:
            log.warning("consumer lag not read from the broker", extra={"error": repr(error)})
            return None
        return {tp.partition: records for tp, records in behind.items()}

    attempts = Attempts(settings.data_dir / FAILED_ATTEMPTS_FILE, settings.poison_after_failures)
    message_limit = settings.max_message_bytes

    async def stop_for(error: BaseException, source: str | None = None) -> None:
        if source is not None and not broker_metadata_fault(error):
            attempts.failed(source, error)
        log.error(
            "an event was not carried through: stopping, it is replayed on restart",
            extra={"error": type(error).__name__},
        )
        await app.crash(error)

    in_flight = InFlight(on_failure=stop_for, limit=MAX_PATIENTS_IN_FLIGHT)

    def stored(key: bytes) -> PatientState:
        return PatientState.from_bytes(table.get(key))

    async def classify(stream: Any) -> None:
        # The agent yields nothing: a yielding agent costs faust a formatted debug line and a
        # sink dispatch per event.
        stream = stream.noack()  # each event is let go once what it caused is stored
        async for event in stream.events():
            started = time.perf_counter()
            metrics.events.inc()
            published = event.message.timestamp  # seconds; None or -1 from an old client
            if published and published > 0:
                metrics.age.observe(max(0.0, time.time() - published))
            try:
                await take(stream, event)
            except Exception as error:
                # Neither classified nor let go (a flag the producer refused, say). faust would
                # restart the agent and go on with later events, this one never committed and
                # its flags never sent until some restart: stop now, so the restart is now. A
                # failure that is not the broker's is counted: the replay dead-letters it.
                await stop_for(error, position(event.message))
                raise
            finally:
                metrics.latency.observe(time.perf_counter() - started)

    async def refuse(stream: Any, event: Any, reason: str) -> None:
        await dead_letter(event, reason)
        attempts.done(position(event.message))
        await stream.ack(event)

    async def take(stream: Any, event: Any) -> None:
        exhausted = attempts.exhausted(position(event.message))
        if exhausted is not None:
            await refuse(stream, event, exhausted)
            return
        try:
            clinical = decode_as(event.message.value, ClinicalEvent)
        except UndecodableEvent as error:
            await refuse(stream, event, str(error))
            return
        key = event.message.key
        if key != clinical.patient_key.encode():
            # the key decides the partition, and with it whose state the event meets
            problem = "missing key" if key is None else "key is not the event's patient_key"
            await refuse(stream, event, f"{problem}: records are keyed by the patient key")
            return
        refused = refusal(clinical.resource)
        if refused is not None:
            await refuse(stream, event, refused)
            return
        limit = message_limit - len(key) - RECORD_OVERHEAD  # for a flag, and for the state
        try:
            change = handle(
                in_flight.state(key, stored),
                clinical.resource,
                clinical.patient,
                terms,
                FlagContext(
                    patient_key=clinical.patient_key,
                    now=datetime.now(UTC),
                    occurred_at=clinical.occurred_at,
                    correlation_id=clinical.correlation_id,
                ),
            )
            encoded = [fitted(flag, limit) for flag in change.flags]
            state = change.state.to_bytes() if change.changed else None
        except Exception as error:  # a rule bug must not stop every other patient
            log.exception("classification failed", extra={"event_id": clinical.event_id})
            await refuse(stream, event, f"classification failed: {type(error).__name__}: {error}")
            return
        if state is not None and len(state) > limit:
            # the state is one changelog record: this event would make it unstorable
            await refuse(
                stream, event, f"the patient's state would be {len(state)} bytes, over {limit}"
            )
            return
        deliveries = [await flags_topic.send(key=key, value=value) for value, _ in encoded]
        for flag, (_, left_out) in zip(change.flags, encoded, strict=True):
            metrics.flags.labels(flag.state, flag.kind).inc()
            log.info(
                "flag %s",
                flag.state,
                extra={
                    "flag_id": flag.flag_id,
                    "kind": flag.kind,
                    "revision": flag.revision,
                    "correlation_id": clinical.correlation_id,
                    "evidence_left_out": left_out,
                },
            )
            if left_out:
                metrics.evidence_left_out.inc(left_out)
        if deliveries or (change.changed and in_flight.is_held(key)):
            settle = settler(stream, event, key, state)
            in_flight.hold(key, change.state, deliveries, settle, position(event.message))
            await in_flight.room()
        else:
            if state is not None:
                table[key] = state
            attempts.done(position(event.message))
            await stream.ack(event)

    def settler(stream: Any, event: Any, key: bytes, state: bytes | None) -> Settle:
        async def settle() -> None:
            if state is not None:
                table[key] = state  # in the event's context: its partition
            attempts.done(position(event.message))
            await stream.ack(event)

        return settle

    agent = app.agent(events, name="classify")(classify)

    @app.page("/healthz")
    async def healthz(web: Any, request: Any) -> Any:
        return Response(text='{"status":"ok"}', content_type="application/json")

    @app.page("/readyz")
    async def readyz(web: Any, request: Any) -> Any:
        status, body = readiness(len(assigned()), recovering=bool(app.in_recovery))
        return Response(text=body, status=status, content_type="application/json")

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        behind = await read_lag()
        metrics.lag.clear()  # revoked partitions, or a lag that could not be read: no figure
        for partition, records in (behind or {}).items():
            metrics.lag.labels(str(partition)).set(records)
        metrics.recovering.set(1 if app.in_recovery else 0)
        return Response(
            body=generate_latest(metrics.registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )

    return Classifier(app, agent, table, flags_topic, dead_letter_topic, metrics)
