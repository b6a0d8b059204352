"""Ingest over HTTP (single resources and Bundles of 100) and MLLP, against one `rmbc ingest`
process, with the lean client so that the load generator is not what is measured."""

import asyncio
import time
import uuid
from pathlib import Path

from bench.http_client import Connection
from services.broker import free_port
from services.demo.stack import ManagedProcess, rmbc_process
from shared.settings import KafkaSettings
from shared.topics import TopicNames

MLLP_START, MLLP_END = b"\x0b", b"\x1c\x0d"


def start_ingest(
    kafka: KafkaSettings, work_dir: Path, token: str
) -> tuple[ManagedProcess, int, int]:
    topics = TopicNames.with_suffix(f"bench-ingest-{uuid.uuid4().hex[:8]}")
    port, mllp_port = free_port(), free_port()
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka.bootstrap_servers,
        "RMBC_INGEST_TOKENS": token,
        "RMBC_INGEST_ENVIRONMENT": "test",  # its patients carry test-range NHS numbers
        "RMBC_INGEST_HOST": "127.0.0.1",
        "RMBC_INGEST_PORT": str(port),
        "RMBC_INGEST_MLLP_PORT": str(mllp_port),
        "RMBC_INGEST_LOG_LEVEL": "WARNING",
        **{f"RMBC_TOPIC_{k.upper()}": v for k, v in topics.model_dump().items()},
    }
    ready = f"http://127.0.0.1:{port}/readyz"
    process = rmbc_process("ingest", env, work_dir / "logs-ingest", ready).start(60)
    return process, port, mllp_port


async def http_rate(
    port: int, token: str, path: str, payloads: list[bytes], each: int, concurrency: int
) -> tuple[float, int]:
    """Resources/s posting `payloads` on `concurrency` keep-alive connections; and the failures."""
    headers = {"Content-Type": "application/fhir+json", "Authorization": f"Bearer {token}"}
    queue = list(reversed(payloads))
    failures = 0

    async def worker() -> None:
        nonlocal failures
        async with Connection("127.0.0.1", port, headers) as connection:
            while queue:
                reply = await connection.request("POST", path, queue.pop())
                failures += reply.status >= 300

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return len(payloads) * each / (time.perf_counter() - started), failures


def oru(control_id: str, nhs: str) -> bytes:
    """An ORU^R01 with one coded observation (one Observation resource at ingest)."""
    segments = [
        f"MSH|^~\\&|EPR|RX1|RMBC|RMBC|20250314103000||ORU^R01^ORU_R01|{control_id}|P|2.5.1"
        "|||AL|NE||UNICODE UTF-8",
        f"PID|1||{nhs}^^^NHS^NH~L123^^^RX1^MR||BENCH^TEST||19700101|F",
        "OBR|1||R1|24627-2^Chest CT^LN|||20250314",
        "OBX|1|CWE|97509-4^Cancer disease status^LN||271299001^Worsened^SCT||||||F|||202503141000",
    ]
    return MLLP_START + "\r".join(segments).encode() + MLLP_END


async def mllp_rate(port: int, messages: list[bytes], connections: int) -> tuple[float, int]:
    """Messages/s with an ACK awaited for each (as an integration engine does), per connection."""
    queue = list(reversed(messages))
    refused = 0

    async def worker() -> None:
        nonlocal refused
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while queue:
                writer.write(queue.pop())
                ack = await reader.readuntil(MLLP_END)
                refused += b"MSA|AA" not in ack and b"MSA|CA" not in ack
        finally:
            writer.close()
            await writer.wait_closed()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    return len(messages) / (time.perf_counter() - started), refused
