"""A running ingest (the real `rmbc ingest` process on the session's real Kafka broker) under
20,000 hostile HTTP requests and 5,000 hostile MLLP frames plus broken framing: no 5xx, no hang,
every frame answered with an ACK carrying a code (or, for broken framing, the connection closed as
the MLLP spec allows), and the service still healthy afterwards.

The inputs are the fuzz corpus (tests/unit/fuzz/corpus.py), generated from a fixed seed, so a
failure names a case that can be regenerated. Keep-alive clients, a few at a time: a couple of
minutes on two cores. MLLP framing per HL7 v2.5.1 Appendix C (Minimal Lower Layer Protocol):
<VT> message <FS><CR>.
"""

import asyncio
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from services.demo.stack import ManagedProcess, free_port, rmbc_process
from shared.settings import KafkaSettings
from shared.topics import TopicNames
from tests.support.kafka import create_topics
from tests.unit.fuzz.corpus import (
    END,
    MAX_BODY_BYTES,
    MAX_BUNDLE_ENTRIES,
    MAX_FRAME_BYTES,
    START,
    cohort_seeds,
    frame,
    hl7_cases,
    http_cases,
)

HTTP_CASES = 20_000
MLLP_CASES = 5_000
FRAMING_CASES = 250
HTTP_CLIENTS = 4
MLLP_CONNECTIONS = 2
DEADLINE = 10.0  # seconds for any one answer; longer is a hang
SEED = 20_261_203
TOKEN = "fuzz-e2e-bearer-token-0001"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
ACK_CODES = {"AA", "AE", "AR", "CA", "CE", "CR"}


@dataclass(frozen=True)
class RunningIngest:
    url: str
    mllp_port: int
    process: ManagedProcess
    kafka: KafkaSettings
    topic: str

    def log_lines(self) -> list[dict[str, object]]:
        text = self.process.log_file.read_text(encoding="utf-8", errors="replace")
        return [orjson.loads(line) for line in text.splitlines() if line.startswith("{")]


@pytest.fixture(scope="module")
def ingest(
    kafka_settings: KafkaSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningIngest]:
    topics = TopicNames.with_suffix(uuid.uuid4().hex[:10])
    asyncio.run(create_topics(kafka_settings, topics.all()))
    port, mllp_port = free_port(), free_port()
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "KAFKA_SECURITY_PROTOCOL": kafka_settings.security_protocol,
        **{f"RMBC_TOPIC_{k.upper()}": v for k, v in topics.model_dump().items()},
        "RMBC_INGEST_TOKENS": TOKEN,
        "RMBC_INGEST_ENVIRONMENT": "test",  # its patients carry test-range NHS numbers
        "RMBC_INGEST_HOST": "127.0.0.1",
        "RMBC_INGEST_PORT": str(port),
        "RMBC_INGEST_MLLP_PORT": str(mllp_port),
        # the corpus is built around these limits (oversized cases are just past them)
        "RMBC_INGEST_MAX_BODY_BYTES": str(MAX_BODY_BYTES),
        "RMBC_INGEST_MAX_BUNDLE_ENTRIES": str(MAX_BUNDLE_ENTRIES),
        "RMBC_INGEST_MLLP_MAX_FRAME_BYTES": str(MAX_FRAME_BYTES),
        "RMBC_INGEST_LOG_LEVEL": "WARNING",  # 25,000 refusals at INFO would cost the run's CPU
    }
    logs = Path(tmp_path_factory.mktemp("ingest-fuzz"))
    url = f"http://127.0.0.1:{port}"
    process = rmbc_process("ingest", env, logs, f"{url}/readyz").start(90)
    try:
        yield RunningIngest(url, mllp_port, process, kafka_settings, topics.clinical_events)
    finally:
        process.stop()


async def records_on(kafka: KafkaSettings, topic: str) -> int:
    consumer = AIOKafkaConsumer(topic, **kafka.aiokafka_options(), group_id=None)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        return sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()


async def test_twenty_thousand_hostile_http_requests_get_no_5xx_no_hang_and_ingest_stays_up(
    ingest: RunningIngest,
) -> None:
    cases = iter(http_cases(cohort_seeds(), HTTP_CASES, SEED))
    statuses: Counter[int] = Counter()
    server_errors: list[str] = []
    slowest = 0.0

    async def client() -> None:
        nonlocal slowest
        async with httpx.AsyncClient(base_url=ingest.url, timeout=DEADLINE) as http:
            for case in cases:  # shared by the clients: each case is sent once
                started = time.monotonic()
                response = await http.request(
                    case.method,
                    case.path,
                    content=case.body,
                    headers={**AUTH, "Content-Type": case.content_type},
                )
                slowest = max(slowest, time.monotonic() - started)
                statuses[response.status_code] += 1
                if response.status_code >= 500:
                    server_errors.append(f"{case}: {response.status_code} {response.text[:300]}")

    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(HTTP_CLIENTS)))
    elapsed = time.monotonic() - started
    async with httpx.AsyncClient(base_url=ingest.url, timeout=DEADLINE) as http:
        health = await http.get("/healthz")
        ready = await http.get("/readyz")
    stored = await records_on(ingest.kafka, ingest.topic)

    print(
        f"\nHTTP fuzz against a running ingest: {sum(statuses.values())} requests in {elapsed:.1f}s,"
        f" slowest answer {slowest:.2f}s, statuses {dict(sorted(statuses.items()))},"
        f" {stored} events on the topic"
    )
    assert sum(statuses.values()) == HTTP_CASES
    assert server_errors == []
    assert (health.status_code, ready.status_code) == (200, 200)
    assert ingest.process.running
    # a 201 is given only for an event on the topic (a Bundle's 200 may hold refused entries)
    assert stored >= statuses[201] > 0
    assert statuses[400] + statuses[413] + statuses[415] + statuses[422] > HTTP_CASES * 0.8
    assert [line for line in ingest.log_lines() if line.get("level") in ("error", "critical")] == []


def ack_code(ack: bytes) -> str | None:
    for segment in ack.decode("utf-8", errors="replace").split("\r"):
        fields = segment.split("|")
        if fields[0] == "MSA" and len(fields) > 1:
            return fields[1]
    return None


async def read_frame(reader: asyncio.StreamReader) -> bytes:
    answer = await asyncio.wait_for(reader.readuntil(END), DEADLINE)
    assert answer.startswith(START), answer[:80]
    return answer[1:-2]


async def test_five_thousand_hostile_mllp_frames_each_get_an_ack_with_a_code(
    ingest: RunningIngest,
) -> None:
    cases = list(hl7_cases(cohort_seeds(), MLLP_CASES, SEED))
    codes: Counter[str] = Counter()
    wrong: list[str] = []

    async def connection(share: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", ingest.mllp_port)
        for case in cases[share::MLLP_CONNECTIONS]:
            writer.write(case.frame)
            await writer.drain()
            ack = await read_frame(reader)
            code = ack_code(ack)
            codes[str(code)] += 1
            if code not in ACK_CODES:
                wrong.append(f"{case}: no MSA code in {ack[:200]!r}")
            elif b"transient: internal error" in ack:
                wrong.append(f"{case}: {code} for an internal error: {ack[:300]!r}")
        writer.close()
        await writer.wait_closed()

    started = time.monotonic()
    await asyncio.gather(*(connection(share) for share in range(MLLP_CONNECTIONS)))
    elapsed = time.monotonic() - started

    print(
        f"\nMLLP fuzz against a running ingest: {sum(codes.values())} frames in {elapsed:.1f}s,"
        f" MSA codes {dict(codes)}"
    )
    assert sum(codes.values()) == MLLP_CASES
    assert wrong == []
    assert codes["AA"] > 0 and codes["AE"] + codes["AR"] > MLLP_CASES * 0.5
    assert await good_message_is_accepted(ingest, "FUZZ-AFTER-FRAMES")


def broken_framing(number: int, message: bytes, rng: random.Random) -> tuple[str, bytes]:
    """One way of breaking MLLP's framing, then (where the stream can recover) a whole frame."""
    good = frame(message)
    kind = number % 6
    cut = message[: rng.randrange(1, len(message))]
    if kind == 0:  # a frame cut off by the next start block
        return "cut_by_next_frame", START + cut + good
    if kind == 1:  # bytes before the first frame
        return "junk_before", rng.randbytes(rng.randrange(1, 200)).replace(START, b"") + good
    if kind == 2:  # an end block without the carriage return
        return "end_without_cr", START + message + b"\x1c" + good
    if kind == 3:  # the connection ends in the middle of a frame
        return "ends_mid_frame", START + cut
    if kind == 4:  # a frame far over the limit, with no end block at all
        return "endless_frame", START + b"MSH|" + b"x" * (MAX_FRAME_BYTES * 2)
    return "junk_only", rng.randbytes(MAX_FRAME_BYTES + 10).replace(START, b"")


async def test_broken_mllp_framing_is_answered_or_the_connection_closed_never_left_hanging(
    ingest: RunningIngest,
) -> None:
    seeds = cohort_seeds()
    rng = random.Random(SEED)
    outcomes: Counter[str] = Counter()
    wrong: list[str] = []
    for number in range(FRAMING_CASES):
        message = rng.choice(seeds.hl7).encode()
        kind, data = broken_framing(number, message, rng)
        reader, writer = await asyncio.open_connection("127.0.0.1", ingest.mllp_port)
        writer.write(data)
        await writer.drain()
        writer.write_eof()  # nothing more will come: the server must answer and close
        received = await asyncio.wait_for(reader.read(), DEADLINE)  # to the server's close
        writer.close()
        acks = [part for part in received.split(END) if part]
        codes = [ack_code(part) for part in acks]
        outcomes[f"{kind}:{len(acks)} ack(s)"] += 1
        if any(code not in ACK_CODES for code in codes):
            wrong.append(f"{kind}#{number}: an answer without an MSA code: {received[:200]!r}")
    assert await good_message_is_accepted(ingest, "FUZZ-AFTER-FRAMING")

    print(
        f"\nMLLP framing: {FRAMING_CASES} broken streams, outcomes {dict(sorted(outcomes.items()))}"
    )
    assert wrong == []
    assert ingest.process.running


async def good_message_is_accepted(ingest: RunningIngest, control_id: str) -> bool:
    message = cohort_seeds().hl7[0].split("\r")
    header = message[0].split("|")
    header[9] = control_id
    message[0] = "|".join(header)
    reader, writer = await asyncio.open_connection("127.0.0.1", ingest.mllp_port)
    writer.write(frame("\r".join(message).encode()))
    await writer.drain()
    ack = await read_frame(reader)
    writer.close()
    await writer.wait_closed()
    return ack_code(ack) == "AA"
