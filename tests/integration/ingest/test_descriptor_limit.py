"""`rmbc ingest` under a flood of connections with few file descriptors, against the real broker:
the caps keep it below its descriptor limit, so it keeps answering, and its log stays a few
lines long (at the descriptor limit it once logged 270,000 lines a minute). The connections
beyond the caps are refused where they are accepted, so even with the event loop starved on a
loaded machine the process holds no more descriptors than its caps and reserve (it used to
accept hundreds before refusing them, hit the limit, and once answered 500)."""

import asyncio
import os
import resource
import sys
import time
from pathlib import Path

import httpx
import orjson

from services.ingest.limits import DESCRIPTOR_RESERVE
from shared.logs import MAX_LINE_CHARS
from shared.settings import KafkaSettings
from shared.topics import TopicNames
from tests.integration.ingest.test_http_kafka import HEADERS, TOKEN, free_port
from tests.unit.ingest.samples import condition

PROJECT_ROOT = Path(__file__).resolve().parents[3]
OPEN_FILE_LIMIT = 160
FLOOD = 400  # connections to each listener, well past both caps and the descriptor limit
HTTP_CAP, MLLP_CAP = 60, 30


def few_descriptors() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (OPEN_FILE_LIMIT, OPEN_FILE_LIMIT))


async def served(client: httpx.AsyncClient, deadline: float) -> httpx.Response:
    """POST a Condition until it is not refused for capacity (503 + Retry-After), or fail."""
    until = time.monotonic() + deadline
    while True:
        answer = await client.post(
            "/fhir/Condition", headers=HEADERS, content=orjson.dumps(condition())
        )
        if answer.status_code != 503 or time.monotonic() > until:
            return answer
        await asyncio.sleep(float(answer.headers.get("retry-after", "1")) / 4)


async def most_descriptors(pid: int, until: asyncio.Event) -> int:
    """The most descriptors process `pid` held, looked at every 10 ms until `until` is set."""
    most = 0
    while not until.is_set():
        most = max(most, len(os.listdir(f"/proc/{pid}/fd")))
        await asyncio.sleep(0.01)
    return most


async def test_a_connection_flood_leaves_ingest_answering_with_a_short_log(
    kafka_settings: KafkaSettings, topics: TopicNames, tmp_path: Path
) -> None:
    port, mllp_port = free_port(), free_port()
    environment = {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "RMBC_TOPIC_CLINICAL_EVENTS": topics.clinical_events,
        "RMBC_INGEST_TOKENS": TOKEN,
        "RMBC_INGEST_ENVIRONMENT": "test",  # its patients carry test-range NHS numbers
        "RMBC_INGEST_HTTP_MAX_CONNECTIONS": str(HTTP_CAP),
        "RMBC_INGEST_MLLP_MAX_CONNECTIONS": str(MLLP_CAP),
        "RMBC_INGEST_HTTP_HEADER_TIMEOUT_SECONDS": "2",
        "RMBC_INGEST_MLLP_IDLE_TIMEOUT_SECONDS": "2",
    }
    log_file = tmp_path / "ingest.log"
    command = [sys.executable, "-m", "services.cli", "ingest", "--port", str(port)]
    command += ["--mllp-port", str(mllp_port)]
    with log_file.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            *command, cwd=PROJECT_ROOT, env=environment, stderr=log, preexec_fn=few_descriptors
        )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            async with asyncio.timeout(60):
                while True:
                    try:
                        if (await client.get("/readyz")).status_code == 200:
                            break
                    except httpx.TransportError:
                        pass  # not listening yet
                    await asyncio.sleep(0.1)
            flood_over = asyncio.Event()
            watch = asyncio.create_task(most_descriptors(process.pid, flood_over))
            flood = [
                await asyncio.open_connection("127.0.0.1", target)
                for target in (port, mllp_port)
                for _ in range(FLOOD)
            ]
            answer = await served(client, deadline=30)
            health = await client.get("/healthz")
            flood_over.set()
            held = await watch
            for _, writer in flood:
                writer.close()
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 30)
    lines = log_file.read_text().splitlines()
    assert answer.status_code == 201
    assert health.status_code == 200
    assert held <= HTTP_CAP + MLLP_CAP + DESCRIPTOR_RESERVE
    assert process.returncode == 0
    # about 15 lines to start and stop, and at most a burst of refusals per listener
    assert len(lines) < 60, lines
    assert max(len(line) for line in lines) <= MAX_LINE_CHARS
    assert not any("out of system resource" in line for line in lines)
