"""The classifier stream: events/s consuming a pre-filled clinical-events topic, with 1, 2 or 4
partitions and as many worker processes (`rmbc classifier`, one consumer group).

The topic is filled with the ClinicalEvents ingest would publish for the benchmark feed, then the
workers start; the rate is events over the time from the first consumed event to the last, read
from the workers' own `rmbc_classifier_events_consumed_total` counters.
"""

import asyncio
import contextlib
import re
import time
import uuid
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench.profiling import profiled
from bench.workload import clinical_event_values
from services.broker import free_port
from services.demo.stack import ManagedProcess, rmbc_process, stopping
from shared.settings import KafkaSettings
from shared.topics import TopicNames

CONSUMED = re.compile(rb"^rmbc_classifier_events_consumed_total ([0-9.e+]+)$", re.M)


async def create(kafka: KafkaSettings, topics: TopicNames, partitions: int) -> None:
    admin = AIOKafkaAdminClient(**kafka.aiokafka_options())
    await admin.start()
    try:
        await admin.create_topics(
            [
                NewTopic(name, num_partitions=partitions, replication_factor=1)
                for name in topics.all()
            ]
        )
    finally:
        await admin.close()


async def fill(kafka: KafkaSettings, topic: str, values: list[tuple[bytes, bytes]]) -> float:
    """Produce `values` with acks=all; returns the produce rate (events/s): a baseline too."""
    producer = AIOKafkaProducer(
        **kafka.aiokafka_options(), acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    try:
        started = time.perf_counter()
        pending = [await producer.send(topic, value, key=key) for key, value in values]
        await asyncio.gather(*pending)
        return len(values) / (time.perf_counter() - started)
    finally:
        await producer.stop()


async def consumed(client: httpx.AsyncClient, port: int) -> float:
    try:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics", timeout=2)).content
    except httpx.TransportError:
        return 0.0
    match = CONSUMED.search(text)
    return float(match.group(1)) if match else 0.0


async def follow(ports: list[int], total: int, timeout: float) -> float:
    """Events/s across the workers, from the first consumed event to the last."""
    first = last = None
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            done = sum([await consumed(client, port) for port in ports])
            now = time.monotonic()
            if done and first is None:
                first = (now, done)
            if done >= total:
                last = (now, done)
                break
            await asyncio.sleep(0.05)
    if first is None or last is None:
        raise RuntimeError(f"the classifier did not consume {total} events in {timeout:.0f}s")
    return (last[1] - first[1]) / max(1e-6, last[0] - first[0])


def workers_rate(
    kafka: KafkaSettings, work_dir: Path, partitions: int, patients: int, routine: int
) -> dict[str, float]:
    """Start the workers, wait until they share every partition, then fill the topic.

    Each worker is started once it answers (/healthz), not once it holds partitions: faust's
    sticky assignor gives a third worker of four partitions none (two each stay with the first
    two) until the fourth joins."""
    run = uuid.uuid4().hex[:8]
    topics = TopicNames.with_suffix(f"bench-stream-{run}")
    values = clinical_event_values(1, patients, routine)
    asyncio.run(create(kafka, topics, partitions))
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "RMBC_CLASSIFIER_APP_ID": f"rmbc-bench-{run}",
        "RMBC_CLASSIFIER_LOG_LEVEL": "WARNING",
        **{f"RMBC_TOPIC_{k.upper()}": v for k, v in topics.model_dump().items()},
    }
    ports = [free_port() for _ in range(partitions)]
    processes: list[ManagedProcess] = []
    with stopping(processes):
        for number, port in enumerate(ports):
            worker_env = env | {
                "RMBC_CLASSIFIER_WEB_PORT": str(port),
                "RMBC_CLASSIFIER_DATA_DIR": str(work_dir / f"{run}-{number}"),
            }
            url = f"http://127.0.0.1:{port}/healthz"
            log_dir = work_dir / f"logs-{run}-{number}"
            processes.append(rmbc_process("classifier", worker_env, log_dir, url).start(120))
        asyncio.run(wait_assigned(ports, partitions, timeout=120))
        pids = {f"classifier-{partitions}p-{n}": p.process.pid for n, p in enumerate(processes)}
        with profiled({name: pid for name, pid in pids.items() if pid}):
            produce_rate = asyncio.run(fill(kafka, topics.clinical_events, values))
            rate = asyncio.run(follow(ports, len(values), timeout=300))
    return {"events": len(values), "events_per_s": rate, "produce_per_s": produce_rate}


async def wait_assigned(ports: list[int], partitions: int, timeout: float) -> None:
    """Until every worker has partitions (its count includes the table's changelog partitions)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            counts = []
            for port in ports:
                with contextlib.suppress(httpx.TransportError, ValueError, KeyError):
                    reply = await client.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                    counts.append(int(reply.json()["assigned_partitions"]))
            if len(counts) == len(ports) and min(counts) > 0 and sum(counts) >= partitions:
                return
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{len(ports)} classifier workers did not share {partitions} partitions")
