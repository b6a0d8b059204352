"""Chaos: a 600-patient cohort streams through the pipeline while the ingest, the classifier and
the notifier are each killed (SIGKILL) and restarted, and the Kafka broker is restarted. What comes
out must equal what an undisturbed run of the same input makes: nothing lost, nothing sent twice.

The second run is the deployed shape: a three-node cluster (replication factor 3,
min.insync.replicas=2, acks=all). One broker is SIGKILLed mid-stream, the classifier is killed
while it is down, it comes back, and another broker is restarted while the notifier is killed;
then, with two brokers down, ingest must answer 503 and never 2xx.

The undisturbed run uses the session's broker; the disturbed one a broker of its own (restarting
the shared one would disturb every other test). Both runs go at once, so the whole test costs about
one run. Every wait has a deadline. `make chaos` runs this file alone.
"""

import asyncio
import json
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import KafkaError

from services.broker import LocalBroker
from services.cluster import LocalCluster
from services.demo.cohort import GP_PRACTICES, TRUSTS, Cohort, generate_cohort
from services.demo.feeder import Answer, feed
from services.demo.pipeline import GP_MAILBOXES, Pipeline, directory_document
from services.demo.readback import read_all
from services.demo.stack import MESH_PASSWORD, MESH_SHARED_KEY
from shared.admin import topic_partitions
from shared.codec import UndecodableEvent, decode
from shared.events import AlertEvent, CancerFlag, ClinicalEvent, DeadLetter, RegistryRecord
from shared.settings import KafkaSettings
from shared.topics import TopicLayout, TopicNames
from tests.support.kafka import private_broker
from tests.unit.ingest.samples import patient

# its own target (make chaos), which .ci/run runs after make test
pytestmark = pytest.mark.chaos

PATIENTS = 600  # with the three-node run, `make chaos` stays well within 10 minutes on 2 cores
SEED = 7
CNS_TEAM = "breast-cns@rmbc-chaos.invalid"
# each fault fires once this share of the undisturbed run's clinical events is on the topic
FAULTS = (("ingest", 0.15), ("classifier", 0.35), ("broker", 0.55), ("notifier", 0.75))
FEED_DEADLINE = 300.0
DRAIN_DEADLINE = 240.0
# fields set from the clock at the moment of writing: the only ones two runs may differ in
CLOCK_FIELDS = {"recorded_at"}
NOTIFIER_CONCURRENCY = 4  # RMBC_NOTIFIER_CONCURRENCY's default: sends in flight per channel


@dataclass
class RunResult:
    answers: list[Answer]
    events: list[ClinicalEvent] = field(default_factory=list)
    flags: list[CancerFlag] = field(default_factory=list)
    registry: list[RegistryRecord] = field(default_factory=list)
    alerts: list[AlertEvent] = field(default_factory=list)
    dead_letters: list[DeadLetter] = field(default_factory=list)
    mesh_local_ids: Counter[str] = field(default_factory=Counter)
    smtp_message_ids: Counter[str] = field(default_factory=Counter)
    faults: list[tuple[str, float]] = field(default_factory=list)
    fed_seconds: float = 0.0
    seconds: float = 0.0


def directory() -> dict[str, object]:
    return directory_document(
        gp_practices={
            ods: GP_MAILBOXES[i % len(GP_MAILBOXES)] for i, ods in enumerate(GP_PRACTICES)
        },
        cns_teams={ods: CNS_TEAM for ods in TRUSTS},
        default_cns=CNS_TEAM,
    )


def new_pipeline(work_dir: Path, kafka: KafkaSettings) -> Pipeline:
    run = uuid.uuid4().hex[:8]
    return Pipeline(
        work_dir, kafka, TopicNames.with_suffix(run), directory(), app_id=f"rmbc-chaos-{run}"
    )


def run_cohort(
    pipeline: Pipeline,
    cohort: Cohort,
    while_feeding: "Faults | None" = None,
    before_collecting: Callable[[Pipeline], object] | None = None,
) -> RunResult:
    """Stream the cohort (in a thread), let `while_feeding` act meanwhile, drain, let
    `before_collecting` act and drain again, collect."""
    started = time.monotonic()
    answers: list[list[Answer]] = []
    feeder = threading.Thread(
        target=lambda: answers.append(
            asyncio.run(
                feed(
                    cohort.deliveries,
                    ingest_url=pipeline.ingest_url,
                    mllp_port=pipeline.mllp_port,
                    token=pipeline.token,
                    progress=False,
                    patience=120.0,
                )
            )
        ),
        name="feeder",
        daemon=True,
    )
    feeder.start()
    faults = while_feeding(pipeline, feeder) if while_feeding else []
    feeder.join(FEED_DEADLINE)
    assert answers, f"the feed did not finish within {FEED_DEADLINE:.0f}s; logs in {pipeline.logs}"
    fed_seconds = time.monotonic() - started
    asyncio.run(drain(pipeline, DRAIN_DEADLINE))
    if before_collecting is not None:
        before_collecting(pipeline)
        asyncio.run(drain(pipeline, DRAIN_DEADLINE))
    result = asyncio.run(collect(pipeline, answers[0]))
    result.faults = faults
    result.fed_seconds = fed_seconds
    result.seconds = time.monotonic() - started
    return result


async def drain(pipeline: Pipeline, timeout: float) -> None:
    """Until the classifier and the notifier have committed everything, and stay so for 3 s."""
    assert await pipeline.drained(timeout), (
        f"not drained within {timeout:.0f}s; logs in {pipeline.logs}"
    )


async def collect(pipeline: Pipeline, answers: list[Answer]) -> RunResult:
    kafka, topics = pipeline.kafka, pipeline.topics
    result = RunResult(answers)
    for topic, into in (
        (topics.clinical_events, result.events),
        (topics.cancer_flags, result.flags),
        (topics.registry_records, result.registry),
        (topics.alerts, result.alerts),
        (topics.dead_letter, result.dead_letters),
    ):
        for record in await read_all(kafka, topic):
            try:
                into.append(decode(record.value))  # type: ignore[arg-type]
            except UndecodableEvent as error:
                raise AssertionError(f"an unreadable record on {topic}: {error}") from None
    result.mesh_local_ids = await asyncio.to_thread(mesh_local_ids, pipeline)
    result.smtp_message_ids = Counter(
        str(mail.message["Message-ID"]) for mail in pipeline.smtp.mails
    )
    return result


def mesh_local_ids(pipeline: Pipeline) -> Counter[str]:
    """Every message in the GP mailboxes, by the sender's local id (the alert id)."""
    from mesh_client import MeshClient

    found: Counter[str] = Counter()
    for mailbox in GP_MAILBOXES:
        with MeshClient(
            pipeline.mesh_url, mailbox, MESH_PASSWORD, shared_key=MESH_SHARED_KEY.encode(),
            max_retries=0,
        ) as client:  # fmt: skip
            while ids := client.list_messages():  # a page at a time: acknowledged ones leave
                for message_id in ids:
                    message = client.retrieve_message(message_id)
                    found[str(message.local_id)] += 1
                    message.acknowledge()
    return found


Faults = Callable[[Pipeline, threading.Thread], list[tuple[str, float]]]


def chaos(
    faults: tuple[tuple[str, float], ...], expected_events: int, broker: LocalBroker
) -> Faults:
    """Fire each fault once the clinical-events topic holds its share of `expected_events`;
    return (fault, seconds until the service or broker was ready again)."""

    def one(name: str) -> Callable[[Pipeline], object]:
        if name == "broker":
            return lambda _: broker.restart()
        return lambda pipeline: pipeline.restart(name, crash=True)

    def act(pipeline: Pipeline, feeder: threading.Thread) -> list[tuple[str, float]]:
        actions = {name: one(name) for name, _ in faults}
        return fire(faults, expected_events, pipeline, feeder, actions)

    return act


def fire(
    faults: tuple[tuple[str, float], ...],
    expected_events: int,
    pipeline: Pipeline,
    feeder: threading.Thread,
    actions: dict[str, Callable[[Pipeline], object]],
) -> list[tuple[str, float]]:
    """Run each fault's action once the topic holds its share of the events, in order."""
    fired: list[tuple[str, float]] = []
    deadline = time.monotonic() + FEED_DEADLINE
    for name, share in faults:
        while feeder.is_alive() and time.monotonic() < deadline:
            if asyncio.run(events_on_topic(pipeline)) >= share * expected_events:
                break
            time.sleep(0.5)
        began = time.monotonic()
        actions[name](pipeline)
        fired.append((name, round(time.monotonic() - began, 1)))
    return fired


async def events_on_topic(pipeline: Pipeline) -> int:
    kafka = pipeline.kafka
    consumer = AIOKafkaConsumer(**kafka.aiokafka_options(), group_id=None)
    try:
        await consumer.start()
        partitions = await topic_partitions(kafka, pipeline.topics.clinical_events)
        ends = await consumer.end_offsets(partitions)
        return sum(ends.values())
    except (KafkaError, OSError, TimeoutError):  # the broker is restarting: no progress to read
        return 0
    finally:
        await consumer.stop()


def final_flags(result: RunResult) -> dict[str, dict[str, Any]]:
    latest: dict[str, CancerFlag] = {}
    for flag in result.flags:
        if flag.flag_id not in latest or flag.revision > latest[flag.flag_id].revision:
            latest[flag.flag_id] = flag
    return {fid: flag.model_dump(mode="json", exclude=CLOCK_FIELDS) for fid, flag in latest.items()}


def distinct(events: list[Any], key: str) -> dict[str, dict[str, Any]]:
    """Replays re-publish the same event (same id): consumers de-duplicate by id, and so do we."""
    return {getattr(e, key): e.model_dump(mode="json", exclude=CLOCK_FIELDS) for e in events}


def alert_outcomes(result: RunResult) -> dict[str, tuple[str, str, str]]:
    """Each alert's final ledger state; `already_sent` (found after a crash) counts as sent."""
    final: dict[str, AlertEvent] = {}
    for alert in result.alerts:
        final[alert.alert_id] = alert
    return {
        aid: (a.channel, a.recipient, "sent" if a.outcome == "already_sent" else a.outcome)
        for aid, a in final.items()
    }


def interrupted_sends(alerts: list[AlertEvent]) -> set[str]:
    """Alerts whose process died mid-send: an `attempting` followed by another, nothing between."""
    last: dict[str, str] = {}
    cut: set[str] = set()
    for alert in alerts:
        if alert.outcome == "attempting" and last.get(alert.alert_id) == "attempting":
            cut.add(alert.alert_id)
        last[alert.alert_id] = alert.outcome
    return cut


def alert_of(message_id: str) -> str:
    return message_id.strip("<>").split("@", 1)[0]


def duplicates(counter: Counter[str]) -> dict[str, int]:
    return {key: count for key, count in counter.items() if count > 1}


def diff(calm: dict[str, Any], chaotic: dict[str, Any]) -> str:
    missing = sorted(set(calm) - set(chaotic))[:3]
    extra = sorted(set(chaotic) - set(calm))[:3]
    changed = [k for k in calm if k in chaotic and calm[k] != chaotic[k]][:2]
    lines = [f"missing {len(set(calm) - set(chaotic))}: {missing}", f"extra: {extra}"]
    for key in changed:
        lines.append(f"{key}: calm {json.dumps(calm[key], default=str)[:600]}")
        lines.append(f"{key}: chaos {json.dumps(chaotic[key], default=str)[:600]}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def own_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    with private_broker(tmp_path_factory.mktemp("chaos-broker")) as broker:
        yield broker


def test_crashes_and_a_broker_restart_lose_nothing_and_send_nothing_twice(
    kafka_settings: KafkaSettings, own_broker: LocalBroker, tmp_path: Path
) -> None:
    began = time.monotonic()
    cohort = generate_cohort(PATIENTS, seed=SEED)
    info = own_broker.status()
    assert info is not None
    chaos_kafka = KafkaSettings(bootstrap_servers=info.bootstrap, client_id="rmbc-chaos")
    # the undisturbed run's event count paces the faults; estimated from the cohort up front so
    # that both runs can go at once (a Bundle delivery makes one event per entry)
    expected_events = sum(
        max(1, d.body.count(b'"resource":')) for d in cohort.deliveries if d.expect == "accepted"
    )
    calm_out: list[RunResult] = []
    with new_pipeline(tmp_path / "calm", kafka_settings) as calm_pipeline:
        calm = threading.Thread(
            target=lambda: calm_out.append(run_cohort(calm_pipeline, cohort)), daemon=True
        )
        calm.start()
        with new_pipeline(tmp_path / "chaos", chaos_kafka) as chaos_pipeline:
            disturbed = run_cohort(
                chaos_pipeline, cohort, chaos(FAULTS, expected_events, own_broker)
            )
        calm.join(FEED_DEADLINE + DRAIN_DEADLINE)
    assert calm_out, "the undisturbed run did not finish"
    undisturbed = calm_out[0]
    figures = {
        "deliveries": len(cohort.deliveries),
        "accepted": sum(a.accepted for a in disturbed.answers),
        "clinical_events": len(disturbed.events),
        "distinct_events": len({e.event_id for e in disturbed.events}),
        "flags": len(final_flags(disturbed)),
        "registry_records": len(distinct(disturbed.registry, "record_id")),
        "alerts": len(alert_outcomes(disturbed)),
        "mesh_messages": sum(disturbed.mesh_local_ids.values()),
        "emails": sum(disturbed.smtp_message_ids.values()),
        "mesh_repeats": len(duplicates(disturbed.mesh_local_ids)),
        "email_repeats": len(duplicates(disturbed.smtp_message_ids)),
        "dead_letters": len(disturbed.dead_letters),
        "faults_and_seconds_to_recover": disturbed.faults,
        "seconds": {
            "disturbed": round(disturbed.seconds),
            "disturbed_feed": round(disturbed.fed_seconds),
            "undisturbed": round(undisturbed.seconds),
            "undisturbed_feed": round(undisturbed.fed_seconds),
            "test": round(time.monotonic() - began),
        },
    }
    print("chaos figures:", json.dumps(figures))
    (tmp_path / "chaos-figures.json").write_text(json.dumps(figures, indent=2))

    assert [name for name, _ in disturbed.faults] == [name for name, _ in FAULTS]
    assert len({e.event_id for e in disturbed.events}) >= 3000
    assert_same_outcome(undisturbed, disturbed)


def assert_same_outcome(undisturbed: RunResult, disturbed: RunResult) -> None:
    """What the disturbed run made equals the undisturbed run's: every acknowledged input on the
    topic, the same flags, registry records and alerts, no MESH repeat, and only the documented
    SMTP window's repeats."""

    # every input the pipeline acknowledged is on the clinical-events topic
    on_topic = {event.correlation_id for event in disturbed.events}
    acknowledged = [a for a in disturbed.answers if a.accepted]
    assert [a.index for a in acknowledged if a.correlation_id not in on_topic] == []
    # and every input got the same answer as without faults (retries saw each one through)
    answered = {a.index: a.accepted for a in disturbed.answers}
    assert answered == {a.index: a.accepted for a in undisturbed.answers}

    calm_flags, chaos_flags = final_flags(undisturbed), final_flags(disturbed)
    assert calm_flags == chaos_flags, diff(calm_flags, chaos_flags)
    calm_records = distinct(undisturbed.registry, "record_id")
    chaos_records = distinct(disturbed.registry, "record_id")
    assert calm_records == chaos_records, diff(calm_records, chaos_records)
    calm_alerts, chaos_alerts = alert_outcomes(undisturbed), alert_outcomes(disturbed)
    assert calm_alerts == chaos_alerts, diff(calm_alerts, chaos_alerts)

    assert duplicates(disturbed.mesh_local_ids) == {}
    # SMTP has no outbox to ask after a crash (services/notifier/README.md, "SMTP window"): an
    # e-mail accepted by the relay in the instant before a SIGKILL, not yet recorded as sent, is
    # sent again with the same Message-ID. Only that may repeat, at most once per send in flight.
    repeated = duplicates(disturbed.smtp_message_ids)
    cut_short = interrupted_sends(disturbed.alerts)
    assert {mid: n for mid, n in repeated.items() if n > 2 or alert_of(mid) not in cut_short} == {}
    assert len(repeated) <= NOTIFIER_CONCURRENCY
    assert set(disturbed.mesh_local_ids) == set(undisturbed.mesh_local_ids)
    assert set(disturbed.smtp_message_ids) == set(undisturbed.smtp_message_ids)

    # dead letters: only what the undisturbed run dead-lettered too (bad input, not faults)
    calm_reasons = Counter((d.service, d.reason) for d in undisturbed.dead_letters)
    chaos_reasons = Counter((d.service, d.reason) for d in disturbed.dead_letters)
    assert set(chaos_reasons) <= set(calm_reasons), chaos_reasons - calm_reasons


# The three-node run: smaller, so that `make chaos` stays well within its budget on two cores.
CLUSTER_PATIENTS = 150
CLUSTER_LAYOUT = TopicLayout(partitions=3, replication_factor=3, min_insync_replicas=2)
CLUSTER_FAULTS = (
    ("broker 2 killed", 0.2),
    ("classifier killed while broker 2 is down", 0.35),
    ("broker 2 back", 0.5),
    ("broker 3 restarted while the notifier is killed", 0.7),
)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    nodes = LocalCluster(tmp_path_factory.mktemp("chaos-cluster"))
    nodes.start()
    try:
        yield nodes
    finally:
        nodes.stop()


def cluster_chaos(expected_events: int, cluster: LocalCluster) -> Faults:
    second, third = cluster.nodes[1], cluster.nodes[2]

    def notifier_down_while_third_restarts(pipeline: Pipeline) -> None:
        pipeline.services["notifier"].kill()
        third.restart()
        pipeline.services["notifier"] = pipeline.service("notifier").start(90.0)

    actions: dict[str, Callable[[Pipeline], object]] = {
        "broker 2 killed": lambda _: second.kill(),
        "classifier killed while broker 2 is down": lambda p: p.restart("classifier", crash=True),
        "broker 2 back": lambda _: (second.restart(), cluster.wait_for_all()),
        "broker 3 restarted while the notifier is killed": notifier_down_while_third_restarts,
    }

    def act(pipeline: Pipeline, feeder: threading.Thread) -> list[tuple[str, float]]:
        return fire(CLUSTER_FAULTS, expected_events, pipeline, feeder, actions)

    return act


def answers_without_min_insync(pipeline: Pipeline, cluster: LocalCluster) -> list[int]:
    """Kill two of the three brokers, so no partition has min.insync.replicas=2 in sync, and post
    a Patient (no flag follows from it) to ingest a few times; bring the brokers back."""
    probe = patient("min-insync-probe", nhs_number="9434765919")
    headers = {"Authorization": f"Bearer {pipeline.token}", "Content-Type": "application/fhir+json"}
    cluster.nodes[1].kill()
    cluster.nodes[2].kill()
    try:
        return [
            httpx.put(
                f"{pipeline.ingest_url}/fhir/Patient/min-insync-probe",
                content=json.dumps(probe),
                headers=headers,
                timeout=30,
            ).status_code
            for _ in range(3)
        ]
    finally:
        cluster.nodes[1].restart()
        cluster.nodes[2].restart()
        cluster.wait_for_all()


def test_a_three_broker_cluster_losing_and_restarting_brokers_loses_nothing_and_sends_nothing_twice(
    kafka_settings: KafkaSettings, cluster: LocalCluster, tmp_path: Path
) -> None:
    began = time.monotonic()
    cohort = generate_cohort(CLUSTER_PATIENTS, seed=SEED)
    cluster_kafka = KafkaSettings(bootstrap_servers=cluster.bootstrap, client_id="rmbc-cluster")
    expected_events = sum(
        max(1, d.body.count(b'"resource":')) for d in cohort.deliveries if d.expect == "accepted"
    )
    calm_out: list[RunResult] = []
    statuses: list[int] = []
    with new_pipeline(tmp_path / "calm", kafka_settings) as calm_pipeline:
        calm = threading.Thread(
            target=lambda: calm_out.append(run_cohort(calm_pipeline, cohort)), daemon=True
        )
        calm.start()
        run = uuid.uuid4().hex[:8]
        with Pipeline(
            tmp_path / "cluster", cluster_kafka, TopicNames.with_suffix(run), directory(),
            app_id=f"rmbc-cluster-{run}", layout=CLUSTER_LAYOUT,
        ) as cluster_pipeline:  # fmt: skip
            disturbed = run_cohort(
                cluster_pipeline,
                cohort,
                cluster_chaos(expected_events, cluster),
                before_collecting=lambda p: statuses.extend(answers_without_min_insync(p, cluster)),
            )
        calm.join(FEED_DEADLINE + DRAIN_DEADLINE)
    assert calm_out, "the undisturbed run did not finish"
    figures = {
        "patients": CLUSTER_PATIENTS,
        "distinct_events": len({e.event_id for e in disturbed.events}),
        "flags": len(final_flags(disturbed)),
        "alerts": len(alert_outcomes(disturbed)),
        "faults_and_seconds": disturbed.faults,
        "answers_without_min_insync": statuses,
        "seconds": {"disturbed": round(disturbed.seconds), "test": round(time.monotonic() - began)},
    }
    print("cluster chaos figures:", json.dumps(figures))
    assert [name for name, _ in disturbed.faults] == [name for name, _ in CLUSTER_FAULTS]
    assert statuses == [503, 503, 503]
    assert len(final_flags(disturbed)) > 0
    assert_same_outcome(calm_out[0], disturbed)
