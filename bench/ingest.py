"""Ingest speed over HTTP against the bare `fhir.resources` validation rate of the same payloads.

    .venv/bin/python -m bench.ingest [--quick] [--json]

Starts a Kafka broker (unless KAFKA_BOOTSTRAP_SERVERS is set) and `rmbc ingest` as a subprocess
(one process, as deployed), then posts single Conditions and transaction Bundles of 100 entries
at a few concurrencies. Every 2xx means the events were acknowledged by Kafka (acks=all). The bare
rate is `Model.model_validate_json(bytes)` of the very same payloads in this process. The goal is
ingest >= 60% of the bare rate.
"""

import argparse
import asyncio
import os
import socket
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import orjson
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.condition import Condition

from bench.http_client import Connection
from services.broker import LocalBroker
from shared.settings import KafkaSettings

PROJECT_ROOT = Path(__file__).resolve().parents[1]
TOKEN = "benchmark-token-" + uuid.uuid4().hex
NHS_NUMBERS = ["9434765919", "9449306753", "9000000009", "9876543210", "4010232137"]
GOAL = 0.60


def condition(number: int) -> dict[str, Any]:
    nhs_number = NHS_NUMBERS[number % len(NHS_NUMBERS)]
    return {
        "resourceType": "Condition",
        "id": f"bench-c{number}",
        "meta": {"versionId": "1", "lastUpdated": "2025-02-03T10:15:00+00:00"},
        "clinicalStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }
            ]
        },
        "verificationStatus": {
            "coding": [
                {
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed",
                }
            ]
        },
        "code": {
            "coding": [
                {
                    "system": "http://snomed.info/sct",
                    "code": "94222008",
                    "display": "Secondary malignant neoplasm of bone",
                }
            ]
        },
        "subject": {
            "reference": f"Patient/bench-p{number % 50}",
            "identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs_number},
        },
        "onsetDateTime": "2024-05-01",
        "recordedDate": "2024-05-02T10:00:00+01:00",
    }


def transaction(first: int, size: int = 100) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": f"urn:uuid:{uuid.UUID(int=first + offset)}",
                "resource": condition(first + offset),
                "request": {"method": "PUT", "url": f"Condition/bench-c{first + offset}"},
            }
            for offset in range(size)
        ],
    }


def bare_rate(model: Any, payloads: list[bytes], resources_each: int, seconds: float) -> float:
    """Resources per second that validation alone manages on these payloads."""
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for payload in payloads:
            model.model_validate_json(payload)
            done += resources_each
    return done / (time.perf_counter() - started)


async def ingest_rate(
    url: str, path: str, payloads: list[bytes], resources_each: int, concurrency: int
) -> tuple[float, int]:
    """Resources/s posting `payloads` over `concurrency` keep-alive connections, and the failures.

    The lean client of `bench.http_client`: httpx, on the same two cores, would measure the load
    generator rather than ingest."""
    headers = {"Content-Type": "application/fhir+json", "Authorization": f"Bearer {TOKEN}"}
    host, _, port = url.removeprefix("http://").partition(":")
    queue = list(reversed(payloads))
    failures = 0

    async def worker() -> None:
        nonlocal failures
        async with Connection(host, int(port), headers) as connection:
            while queue:
                reply = await connection.request("POST", path, queue.pop())
                if reply.status >= 300:
                    failures += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return len(payloads) * resources_each / elapsed, failures


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def wait_ready(url: str, deadline: float = 60) -> None:
    until = time.monotonic() + deadline
    async with httpx.AsyncClient(base_url=url, timeout=2) as client:
        while time.monotonic() < until:
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass  # not listening yet
            await asyncio.sleep(0.1)
    raise RuntimeError("ingest did not become ready")


async def run(bootstrap: str, quick: bool) -> list[dict[str, Any]]:
    topic = f"rmbc.clinical-events.v1.bench-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(**KafkaSettings(bootstrap_servers=bootstrap).aiokafka_options())
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()
    port = free_port()
    env = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "RMBC_TOPIC_CLINICAL_EVENTS": topic,
        "RMBC_INGEST_TOKENS": TOKEN,
        "RMBC_INGEST_ENVIRONMENT": "test",  # its patients carry test-range NHS numbers
        "RMBC_INGEST_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "services.cli", "ingest", "--port", str(port)]
    command += ["--mllp-port", str(free_port())]
    process = await asyncio.create_subprocess_exec(*command, env=env, cwd=PROJECT_ROOT)
    url = f"http://127.0.0.1:{port}"
    singles = [orjson.dumps(condition(n)) for n in range(400 if quick else 2000)]
    bundles = [orjson.dumps(transaction(n * 100)) for n in range(10 if quick else 40)]
    seconds = 1.0 if quick else 3.0
    results = []
    try:
        await wait_ready(url)
        bare_single = bare_rate(Condition, singles, 1, seconds)
        bare_bundle = bare_rate(Bundle, bundles, 100, seconds)
        await ingest_rate(url, "/fhir/Condition", singles[:50], 1, 4)  # warm up
        for label, path, payloads, each, bare, levels in (
            ("single Condition", "/fhir/Condition", singles, 1, bare_single, (1, 4, 16)),
            ("Bundle of 100", "/fhir", bundles, 100, bare_bundle, (1, 2, 4)),
        ):
            for concurrency in levels:
                rate, failures = await ingest_rate(url, path, payloads, each, concurrency)
                results.append(
                    {
                        "payload": label,
                        "concurrency": concurrency,
                        "ingest_resources_per_s": round(rate),
                        "bare_validation_per_s": round(bare),
                        "ratio": round(rate / bare, 3),
                        "failures": failures,
                    }
                )
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ingest", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--quick", action="store_true", help="fewer payloads, shorter runs")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    args = parser.parse_args(argv)
    broker = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        broker = LocalBroker(Path(tempfile.mkdtemp(prefix="rmbc-bench-")))
        bootstrap = broker.start().bootstrap
    try:
        results = asyncio.run(run(bootstrap, args.quick))
    finally:
        if broker is not None:
            broker.stop()
    if args.json:
        print(orjson.dumps(results).decode())
    else:
        print(
            f"{'payload':<18}{'conc':>5}{'ingest res/s':>14}{'bare res/s':>12}{'ratio':>8}{'fail':>6}"
        )
        for r in results:
            print(
                f"{r['payload']:<18}{r['concurrency']:>5}{r['ingest_resources_per_s']:>14}"
                f"{r['bare_validation_per_s']:>12}{r['ratio']:>8.2f}{r['failures']:>6}"
            )
        best = {
            p: max(r["ratio"] for r in results if r["payload"] == p)
            for p in {r["payload"] for r in results}
        }
        for payload, ratio in sorted(best.items()):
            verdict = "meets" if ratio >= GOAL else "below"
            print(f"{payload}: best ratio {ratio:.2f} ({verdict} the {GOAL:.0%} goal)")
    return 0 if all(r["failures"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
