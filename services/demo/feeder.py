"""Streams a cohort's deliveries into a running ingest over HTTP and MLLP, as an integration engine
would: one patient's messages in order, several patients at once. Transient failures (503, a
transient negative ACK, a refused or dropped connection while ingest restarts) are retried with
backoff until the delivery's `patience` runs out; only then is the last answer kept."""

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
    @property
    def channel(self) -> str: ...
    @property
    def method(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def body(self) -> bytes: ...
    @property
    def content_type(self) -> str: ...
    @property
    def patient(self) -> str | None: ...
    @property
    def index(self) -> int: ...


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
    patience: float = 60.0,
) -> list[Answer]:
    lanes: list[list[DeliveryLike]] = [[] for _ in range(workers)]
    for delivery in deliveries:
        lane = zlib.crc32((delivery.patient or "").encode()) % workers
        lanes[lane].append(delivery)
    bar = Progress(len(deliveries), "streaming", progress)
    answers: list[Answer] = []
    async with httpx.AsyncClient(base_url=ingest_url, timeout=30) as http:
        await asyncio.gather(
            *(
                _lane(lane, http, _Mllp(mllp_port), token, answers, bar, patience)
                for lane in lanes
                if lane
            )
        )
    return sorted(answers, key=lambda answer: answer.index)


class _Mllp:
    """One lane's MLLP connection, opened on first use and again after it drops."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._stream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def exchange(self, body: bytes) -> str:
        if self._stream is None:
            self._stream = await asyncio.open_connection("127.0.0.1", self.port)
        reader, writer = self._stream
        try:
            writer.write(MLLP_START + body + MLLP_END)
            await writer.drain()
            frame = await asyncio.wait_for(reader.readuntil(MLLP_END), timeout=30)
        except BaseException:
            self.close()
            raise
        return frame.strip(MLLP_START + MLLP_END).decode("utf-8", errors="replace")

    def close(self) -> None:
        if self._stream is not None:
            self._stream[1].close()
            self._stream = None


# what an integration engine retries: the far end was away, not the message wrong
_CONNECTION_ERRORS = (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError)


async def _lane(
    lane: list[DeliveryLike],
    http: httpx.AsyncClient,
    mllp: _Mllp,
    token: str,
    answers: list[Answer],
    bar: Progress,
    patience: float,
) -> None:
    try:
        for delivery in lane:
            if delivery.channel == "mllp":
                answers.append(await _send_mllp(delivery, mllp, patience))
            else:
                answers.append(await _send_http(delivery, http, token, patience))
            bar.advance()
    finally:
        mllp.close()


def _backoff(attempt: int, hint: float = 0.5) -> float:
    return min(5.0, hint * attempt)


async def _send_http(
    delivery: DeliveryLike, http: httpx.AsyncClient, token: str, patience: float
) -> Answer:
    correlation_id = f"demo-{delivery.index}"
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": delivery.content_type,
        "X-Request-ID": correlation_id,
    }
    deadline = time.monotonic() + patience
    attempt = 0
    while True:
        attempt += 1
        try:
            response = await http.request(
                delivery.method, delivery.path, content=delivery.body, headers=headers
            )
        except httpx.TransportError as error:
            if time.monotonic() >= deadline:
                return Answer(
                    delivery.index, "http", False, "unreachable", type(error).__name__,
                    time.time(), correlation_id,
                )  # fmt: skip
            await asyncio.sleep(_backoff(attempt))
            continue
        if response.status_code != 503 or time.monotonic() >= deadline:
            break
        await asyncio.sleep(_backoff(attempt, float(response.headers.get("Retry-After", 1))))
    return Answer(
        index=delivery.index,
        channel="http",
        accepted=200 <= response.status_code < 300,
        status=str(response.status_code),
        detail=_diagnostics(response),
        acked_at=time.time(),
        correlation_id=correlation_id,
    )


async def _send_mllp(delivery: DeliveryLike, mllp: _Mllp, patience: float) -> Answer:
    deadline = time.monotonic() + patience
    attempt = 0
    ack = ""
    while True:
        attempt += 1
        try:
            ack = await mllp.exchange(delivery.body)
        except _CONNECTION_ERRORS as error:
            ack = f"MSH|\rMSA|??|{type(error).__name__}"
            if time.monotonic() >= deadline:
                break
            await asyncio.sleep(_backoff(attempt))
            continue
        code = _ack_code(ack)
        transient = code not in ("AA", "CA", "AR", "CR") and "transient" in ack.lower()
        if not transient or time.monotonic() >= deadline:
            break
        await asyncio.sleep(_backoff(attempt))
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
