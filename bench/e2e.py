"""End to end: offered load in, registry records out, through the whole stack as real processes.

The feed (`bench.workload`) is offered open loop: every tick (about 20 ms) one transaction Bundle
with the resources due, whether or not earlier requests have been answered, on as many keep-alive
connections as needed. A patient's resources are about 200 ms apart, so they stay in order.
Each load starts on an idle pipeline (the classifier and the notifier have committed everything)
and an emptied MESH sandbox (see `emptied_mesh`).
Latency is from ingest's 2xx for the last of a patient's flagging resources to the registry record's
timestamp on `rmbc.registry-records.v1` (the notifier's producer time; same machine clock).
"""

import asyncio
import contextlib
import math
import os
import time
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka import AIOKafkaConsumer

from bench.http_client import Connection
from bench.stats import climbs, percentile
from bench.workload import FLAG_POSITION, GP_PRACTICE, TRUST, interleave, nhs_number, patient_feed
from services.demo.pipeline import GP_MAILBOXES, Pipeline, directory_document
from shared.admin import topic_partitions
from shared.settings import KafkaSettings
from shared.topics import TopicNames

TICK = 0.02
SPACING = 0.2  # seconds between one patient's consecutive resources
ROUTINE = 17  # routine observations per patient: 20 resources, one registry record
SETTLE_SECONDS = 90.0
SUSTAINED_P50_MS = 1000.0  # a short run can hide a growing queue; a median over 1 s is one


@dataclass
class LoadResult:
    offered_rps: float
    seconds: float
    resources: int
    achieved_rps: float
    failures: int
    expected_records: int
    records: int
    latencies_ms: list[float] = field(repr=False)
    classifier_ms: list[float] = field(repr=False)  # 2xx -> flag on its topic
    climbing: bool
    drained: bool
    cpu_share: dict[str, float] = field(default_factory=dict)  # cores used, per process

    @property
    def sustained(self) -> bool:
        """Everything arrived, latency did not grow through the run and stayed under a second."""
        bounded = percentile(self.latencies_ms, 50) <= SUSTAINED_P50_MS
        return self.drained and not self.climbing and self.failures == 0 and bounded

    def summary(self) -> dict[str, Any]:
        return {
            "offered_rps": self.offered_rps,
            "achieved_rps": round(self.achieved_rps),
            "resources": self.resources,
            "failures": self.failures,
            "registry_records": f"{self.records}/{self.expected_records}",
            "p50_ms": round(percentile(self.latencies_ms, 50), 1),
            "p95_ms": round(percentile(self.latencies_ms, 95), 1),
            "p99_ms": round(percentile(self.latencies_ms, 99), 1),
            "to_flag_p50_ms": round(percentile(self.classifier_ms, 50), 1),
            "to_flag_p99_ms": round(percentile(self.classifier_ms, 99), 1),
            "sustained": self.sustained,
            "cpu_cores": {name: round(cores, 2) for name, cores in self.cpu_share.items()},
        }


class RegistryWatch:
    """Collects the first registry record per key (NHS number) with its timestamp (seconds)."""

    def __init__(self, kafka: KafkaSettings, topic: str, flags_topic: str) -> None:
        self.kafka, self.topic, self.flags_topic = kafka, topic, flags_topic
        self.first_seen: dict[str, float] = {}
        self.first_flag: dict[str, float] = {}
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> "RegistryWatch":
        consumer = AIOKafkaConsumer(
            **self.kafka.aiokafka_options(), group_id=None, enable_auto_commit=False
        )
        await consumer.start()
        partitions = await topic_partitions(self.kafka, self.topic)
        partitions += await topic_partitions(self.kafka, self.flags_topic)
        consumer.assign(partitions)
        await consumer.seek_to_end(*partitions)
        for tp in partitions:
            await consumer.position(tp)  # resolve the end now, before any load is offered
        self._task = asyncio.create_task(self._follow(consumer))
        return self

    async def _follow(self, consumer: AIOKafkaConsumer) -> None:
        try:
            while True:
                for tp, batch in (await consumer.getmany(timeout_ms=100)).items():
                    seen = self.first_seen if tp.topic == self.topic else self.first_flag
                    for record in batch:
                        seen.setdefault((record.key or b"").decode(), record.timestamp / 1000)
        finally:
            await consumer.stop()

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class Offer:
    """Patient numbers never repeat across offers, so each run starts from empty state."""

    def __init__(self, port: int, token: str, processes: dict[str, int] | None = None) -> None:
        self.port, self.token = port, token
        self.processes = processes or {}
        self.next_patient = 1

    def plan(self, rate: float, seconds: float) -> tuple[float, list[list[tuple[int, int]]]]:
        per_tick = max(1, round(rate * TICK))
        tick = per_tick / rate
        total = int(rate * seconds)
        lanes = max(1, round(rate * SPACING))
        patients = math.ceil(total / (3 + ROUTINE)) + lanes
        order = list(islice(interleave(self.next_patient, patients, ROUTINE, lanes), total))
        self.next_patient += patients
        return tick, [order[i : i + per_tick] for i in range(0, len(order), per_tick)]

    async def run(self, rate: float, seconds: float, watch: RegistryWatch) -> LoadResult:
        tick, bundles = self.plan(rate, seconds)
        feeds: dict[int, list[dict[str, Any]]] = {}
        bodies = []
        for bundle in bundles:
            for number, _ in bundle:
                if number not in feeds:
                    feeds[number] = patient_feed(number, ROUTINE)
            entries = [feeds[number][position] for number, position in bundle]
            bodies.append(orjson.dumps(transaction_of(entries)))
        headers = {"Content-Type": "application/fhir+json", "Authorization": f"Bearer {self.token}"}
        idle: list[Connection] = []
        acked: dict[tuple[int, int], float] = {}
        scheduled: dict[int, float] = {}
        failures = 0

        async def send(index: int, due: float) -> None:
            nonlocal failures
            connection = idle.pop() if idle else None
            try:
                if connection is None:
                    raise ConnectionResetError("no idle connection")
                reply = await connection.request("POST", "/fhir", bodies[index])
            except (asyncio.IncompleteReadError, ConnectionError):
                # the server closes keep-alive connections idle for 5 s; a fresh one then
                connection = await Connection("127.0.0.1", self.port, headers).__aenter__()
                reply = await connection.request("POST", "/fhir", bodies[index])
            now = time.time()
            idle.append(connection)
            if reply.status != 200:
                failures += 1
                return
            for number, position in bundles[index]:
                acked[(number, position)] = now
                if position == FLAG_POSITION:
                    scheduled[number] = due

        cpu_before = {name: cpu_seconds(pid) for name, pid in self.processes.items()}
        started = time.time()
        tasks = []
        for index in range(len(bodies)):
            due = started + index * tick
            await asyncio.sleep(max(0.0, due - time.time()))
            tasks.append(asyncio.create_task(send(index, due)))
        await asyncio.gather(*tasks)
        elapsed = time.time() - started
        cpu_share = {
            name: (cpu_seconds(pid) - cpu_before[name]) / elapsed
            for name, pid in self.processes.items()
        }
        resources = sum(len(bundle) for bundle in bundles)
        flagged = [n for n in scheduled if all((n, p) in acked for p in range(FLAG_POSITION + 1))]
        keys = {n: nhs_number(n) for n in flagged}
        drained = await wait_for(lambda: all(keys[n] in watch.first_seen for n in flagged), 30)
        latencies, to_flag, samples = [], [], []
        for number in flagged:
            seen = watch.first_seen.get(keys[number])
            if seen is None:
                continue
            acked_at = max(acked[(number, p)] for p in range(FLAG_POSITION + 1))
            latencies.append((seen - acked_at) * 1000)
            if (flagged_at := watch.first_flag.get(keys[number])) is not None:
                to_flag.append((flagged_at - acked_at) * 1000)
            samples.append((scheduled[number], seen - scheduled[number]))
        for connection in idle:
            await connection.__aexit__()
        return LoadResult(
            offered_rps=rate,
            seconds=seconds,
            resources=resources,
            achieved_rps=resources / elapsed,
            failures=failures,
            expected_records=len(flagged),
            records=len(latencies),
            latencies_ms=latencies,
            classifier_ms=to_flag,
            climbing=climbs(samples),
            drained=drained,
            cpu_share=cpu_share,
        )


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def transaction_of(entries: list[dict[str, Any]]) -> dict[str, Any]:
    from bench.workload import transaction

    return transaction(entries)


async def wait_for(condition: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.05)
    return bool(condition())


def start_pipeline(work_dir: Path, kafka: KafkaSettings, run: str, partitions: int = 3) -> Pipeline:
    directory = directory_document(
        gp_practices={GP_PRACTICE: GP_MAILBOXES[0]},
        cns_teams={TRUST: "breast-cns@trust.example.nhs.uk"},
        default_cns="breast-cns@trust.example.nhs.uk",
    )
    topics = TopicNames.with_suffix(f"bench-{run}")
    pipeline = Pipeline(
        work_dir, kafka, topics, directory, app_id=f"rmbc-bench-{run}", partitions=partitions
    )
    return pipeline.__enter__()


async def measure(
    pipeline: Pipeline,
    loads: list[float],
    seconds: float,
    repeats: int,
    ramp: list[float],
    broker_pid: int | None = None,
) -> dict[str, Any]:
    """Fixed loads (each repeated) and a ramp of rising loads until one is not sustained."""
    processes = {
        name: service.process.pid
        for name, service in [*pipeline.services.items(), ("mesh-sandbox", pipeline.mesh)]
        if service.process is not None
    }
    processes["bench client"] = os.getpid()
    if broker_pid:
        processes["kafka broker"] = broker_pid
    offer = Offer(pipeline.ingest_port, pipeline.token, processes)
    fixed: dict[float, list[LoadResult]] = {rate: [] for rate in loads}
    stepped: list[LoadResult] = []
    topics = pipeline.topics
    async with RegistryWatch(pipeline.kafka, topics.registry_records, topics.cancer_flags) as watch:
        await offer.run(50, 2, watch)  # warm up: connections, metadata, first flags
        for _ in range(repeats):
            for rate in loads:
                await settled(pipeline)
                await emptied_mesh(pipeline)
                fixed[rate].append(await offer.run(rate, seconds, watch))
        for rate in ramp:
            await settled(pipeline)
            await emptied_mesh(pipeline)
            result = await offer.run(rate, seconds, watch)
            stepped.append(result)
            if not result.sustained:
                break
    return {"fixed": fixed, "ramp": stepped}


async def settled(pipeline: Pipeline, timeout: float = SETTLE_SECONDS) -> None:
    """Each load starts on an idle pipeline: an overloaded step before it leaves events queued
    (routine observations after the flagging one), and the next step's latency would be theirs."""
    if not await pipeline.drained(timeout, quiet=1.0):
        print(f"  (the pipeline had not drained {timeout:.0f}s after the last load)", flush=True)


async def emptied_mesh(pipeline: Pipeline) -> None:
    """mesh-sandbox's in-memory store counts the recipient's whole inbox on every request, so its
    CPU per message grows with what it holds (measured in docs/performance.md). A GP practice
    collects its messages and MESH is not on the trust's machine, so each load starts on an
    empty sandbox (its testing-only reset) rather than on the earlier loads' messages."""
    async with httpx.AsyncClient(base_url=pipeline.mesh_url, timeout=10) as client:
        reply = await client.delete("/messageexchange/admin/reset")
        reply.raise_for_status()
