"""Streams a cohort's deliveries into a running ingest over HTTP and MLLP, as an integration engine
would: one patient's messages in order, several patients at once, retrying 503 / negative ACKs."""

import asyncio
import sys
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import httpx

MLLP_START, MLLP_END = b"\x0b", b"\x1c\x0d"


class DeliveryLike(Protocol):
    channel: str
    method: str
    path: str
    body: bytes
    content_type: str
    expect: str
    reason: str | None
    patient: str | None
    index: int


@dataclass(frozen=True)
class Answer:
    index: int
    channel: str
    accepted: bool
    status: str  # HTTP status code or ACK code
    detail: str
    acked_at: float  # wall clock, seconds
    correlation_id: str


class Progress:
    def __init__(self, total: int, label: str, enabled: bool) -> None:
        self.total, self.label, self.enabled, self.done = total, label, enabled, 0
        self._last = 0.0

    def advance(self) -> None:
        self.done += 1
        now = time.monotonic()
        if self.enabled and (now - self._last > 0.1 or self.done == self.total):
            self._last = now
            width = 40
            filled = int(width * self.done / max(1, self.total))
            bar = "#" * filled + "." * (width - filled)
            sys.stderr.write(f"\r{self.label} [{bar}] {self.done}/{self.total}")
            if self.done == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


async def feed(
    deliveries: Sequence[DeliveryLike],
    *,
    ingest_url: str,
    mllp_port: int,
    token: str,
    workers: int = 8,
    progress: bool = True,
) -> list[Answer]:
    lanes: list[list[DeliveryLike]] = [[] for _ in range(workers)]
    for delivery in deliveries:
        lane = zlib.crc32((delivery.patient or "").encode()) % workers
        lanes[lane].append(delivery)
    bar = Progress(len(deliveries), "streaming", progress)
    answers: list[Answer] = []
    async with httpx.AsyncClient(base_url=ingest_url, timeout=30) as http:
        await asyncio.gather(
            *(_lane(lane, http, mllp_port, token, answers, bar) for lane in lanes if lane)
        )
    return sorted(answers, key=lambda answer: answer.index)


async def _lane(
    lane: list[DeliveryLike],
    http: httpx.AsyncClient,
    mllp_port: int,
    token: str,
    answers: list[Answer],
    bar: Progress,
) -> None:
    mllp: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
    try:
        for delivery in lane:
            if delivery.channel == "mllp":
                if mllp is None:
                    mllp = await asyncio.open_connection("127.0.0.1", mllp_port)
                answers.append(await _send_mllp(delivery, *mllp))
            else:
                answers.append(await _send_http(delivery, http, token))
            bar.advance()
    finally:
        if mllp:
            mllp[1].close()


async def _send_http(delivery: DeliveryLike, http: httpx.AsyncClient, token: str) -> Answer:
    correlation_id = f"demo-{delivery.index}"
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": delivery.content_type,
        "X-Request-ID": correlation_id,
    }
    response: httpx.Response | None = None
    for attempt in range(6):
        response = await http.request(
            delivery.method, delivery.path, content=delivery.body, headers=headers
        )
        if response.status_code != 503:
            break
        await asyncio.sleep(min(5.0, float(response.headers.get("Retry-After", 1))) * (attempt + 1))
    assert response is not None
    return Answer(
        index=delivery.index,
        channel="http",
        accepted=200 <= response.status_code < 300,
        status=str(response.status_code),
        detail=_diagnostics(response),
        acked_at=time.time(),
        correlation_id=correlation_id,
    )


async def _send_mllp(
    delivery: DeliveryLike, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> Answer:
    ack = ""
    for attempt in range(6):
        writer.write(MLLP_START + delivery.body + MLLP_END)
        await writer.drain()
        frame = await asyncio.wait_for(reader.readuntil(MLLP_END), timeout=30)
        ack = frame.strip(MLLP_START + MLLP_END).decode("utf-8", errors="replace")
        code = _ack_code(ack)
        if code in ("AA", "CA", "AR", "CR") or "transient" not in ack.lower():
            break
        await asyncio.sleep(0.5 * (attempt + 1))
    code = _ack_code(ack)
    return Answer(
        index=delivery.index,
        channel="mllp",
        accepted=code in ("AA", "CA"),
        status=code,
        detail=ack.split("\r")[1] if "\r" in ack else ack,
        acked_at=time.time(),
        correlation_id=_control_id(delivery.body),
    )


def _ack_code(ack: str) -> str:
    for segment in ack.split("\r"):
        if segment.startswith("MSA|"):
            return segment.split("|")[1]
    return "??"


def _control_id(message: bytes) -> str:
    fields = message.split(b"\r", 1)[0].split(b"|")
    return fields[9].decode(errors="replace") if len(fields) > 9 else ""


def _diagnostics(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except ValueError:
        return response.text[:200]
    issues = body.get("issue", []) if isinstance(body, dict) else []
    return "; ".join(str(issue.get("diagnostics", "")) for issue in issues)[:300]
