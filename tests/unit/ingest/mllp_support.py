"""A recording Accepter and a raw MLLP client for tests of the listener."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from services.ingest.errors import BrokerUnavailable
from services.ingest.hl7.mllp import MllpMetrics, start_mllp_server
from shared.events import ClinicalEvent, Sender

START, END = b"\x0b", b"\x1c\r"


class FakeAccepter:
    """Records every call; `fail_with` makes the next calls raise."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[dict[str, Any]], Sender]] = []
        self.fail_with: Exception | None = None

    async def accept(
        self, resources: list[dict[str, Any]], sender: Sender, *, atomic: bool = True
    ) -> list[ClinicalEvent]:
        if self.fail_with is not None:
            raise self.fail_with
        self.calls.append((resources, sender))
        return []


def broker_down() -> BrokerUnavailable:
    return BrokerUnavailable("no acknowledgement within 3s")


@asynccontextmanager
async def listener(accepter: Any, **options: Any) -> AsyncIterator[tuple[int, MllpMetrics]]:
    metrics = MllpMetrics()
    server = await start_mllp_server(accepter, "127.0.0.1", 0, metrics=metrics, **options)
    try:
        yield server.sockets[0].getsockname()[1], metrics
    finally:
        server.close()
        await server.wait_closed()


class RawClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def ack(self, timeout: float = 5.0) -> str:
        frame = await asyncio.wait_for(self.reader.readuntil(END), timeout)
        assert frame.startswith(START), frame
        return frame[1:-2].decode("utf-8")

    async def request(self, message: str, encoding: str = "utf-8") -> str:
        await self.send(START + message.encode(encoding) + END)
        return await self.ack()

    async def closed(self, timeout: float = 5.0) -> bool:
        return await asyncio.wait_for(self.reader.read(), timeout) == b""


@asynccontextmanager
async def raw_client(port: int) -> AsyncIterator[RawClient]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        yield RawClient(reader, writer)
    finally:
        writer.close()


def segments(ack: str) -> dict[str, list[list[str]]]:
    found: dict[str, list[list[str]]] = {}
    for segment in ack.split("\r"):
        fields = segment.split("|")
        found.setdefault(fields[0], []).append(fields)
    return found


def msa(ack: str) -> list[str]:
    return segments(ack)["MSA"][0]


def err_locations(ack: str) -> list[str]:
    return [err[2] for err in segments(ack).get("ERR", [])]
