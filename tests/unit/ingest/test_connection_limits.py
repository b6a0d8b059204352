"""Bounded resources against slow, idle and greedy clients, on loopback sockets: uvicorn with
ingest's protocol and limits (a recording publisher stands in for Kafka), and the MLLP listener.

Each test holds connections open the way a hostile or broken sender does and asserts outcomes:
the well-behaved client is answered, the idle ones are closed, the refused one reads its answer.
"""

import asyncio
import socket
import urllib.error
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import uvicorn

from services.ingest.fhir.server import GuardedServer, server_config
from services.ingest.settings import IngestSettings
from shared.events import Sender
from tests.unit.ingest import hl7_samples as s
from tests.unit.ingest.fakes import RecordingPublisher
from tests.unit.ingest.mllp_support import END, START, FakeAccepter, listener, msa, raw_client
from tests.unit.ingest.samples import condition
from tests.unit.ingest.test_accepter import core_with
from tests.unit.ingest.test_http_api import FHIR, make_client

DEADLINE = 10.0  # generous: every wait below ends long before unless something is wrong


@dataclass
class Served:
    port: int
    server: uvicorn.Server

    def open_connections(self) -> int:
        return len(self.server.server_state.connections)


@asynccontextmanager
async def serving(**settings: Any) -> AsyncIterator[Served]:
    """ingest's HTTP app under uvicorn, configured as `rmbc ingest` runs it, on a free port."""
    config_values = {"max_body_bytes": 1_000_000, "max_bundle_entries": 2000, **settings}
    app = make_client(RecordingPublisher(), **config_values).app
    limits = IngestSettings(**config_values).connection_limits()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = GuardedServer(server_config(app, host="127.0.0.1", port=port, limits=limits), limits)
    task = asyncio.create_task(server.serve())
    try:
        async with asyncio.timeout(DEADLINE):
            while not server.started:
                await asyncio.sleep(0.01)
        yield Served(port, server)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, DEADLINE)


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    """Whether the server ends the connection (EOF or reset) within the deadline."""
    try:
        async with asyncio.timeout(DEADLINE):
            while await reader.read(65536):
                pass
    except ConnectionResetError:
        return True
    return True


async def post_condition(port: int, resource_id: str = "c1") -> httpx.Response:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=DEADLINE) as client:
        return await client.post(
            "/fhir/Condition", content=orjson.dumps(condition(resource_id)), headers=FHIR
        )


async def test_a_client_still_sending_a_60_mb_body_reads_the_413_with_urllib() -> None:
    async with serving(max_body_bytes=1_000_000) as served:
        port = served.port
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/fhir/Condition",
            data=b" " * 60_000_000,
            headers=FHIR,
            method="POST",
        )

        def send() -> tuple[int, dict[str, Any]]:
            try:
                urllib.request.urlopen(request, timeout=DEADLINE)
            except urllib.error.HTTPError as refused:
                return refused.code, orjson.loads(refused.read())
            raise AssertionError("a 60 MB body was accepted")

        status, outcome = await asyncio.to_thread(send)
    assert status == 413
    assert outcome["issue"][0]["code"] == "too-costly"


async def test_idle_and_slow_http_connections_are_closed_and_a_good_client_is_served() -> None:
    async with serving(http_header_timeout_seconds=1.0, http_idle_timeout_seconds=1.0) as served:
        port = served.port
        silent = [await asyncio.open_connection("127.0.0.1", port) for _ in range(20)]
        dripping = [await asyncio.open_connection("127.0.0.1", port) for _ in range(20)]
        stalled_body = [await asyncio.open_connection("127.0.0.1", port) for _ in range(10)]
        for _, writer in stalled_body:
            writer.write(
                b"POST /fhir/Condition HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"
            )

        async def drip(writer: asyncio.StreamWriter) -> None:
            # a header line a byte at a time, each gap well inside any idle timeout
            for byte in b"GET /healthz HTTP/1.1\r\nX-Slow: " + b"a" * 1000:
                if writer.is_closing():
                    return
                writer.write(bytes([byte]))
                await asyncio.sleep(0.2)

        drips = [asyncio.create_task(drip(writer)) for _, writer in dripping]
        answer = await post_condition(port)
        closed = await asyncio.gather(
            *(closed_by_server(reader) for reader, _ in silent + dripping + stalled_body)
        )
        for task in drips:
            task.cancel()
        again = await post_condition(port, "c2")
    assert answer.status_code == 201
    assert all(closed)
    assert again.status_code == 201


async def test_connections_beyond_the_cap_get_503_and_a_slot_frees_when_one_closes() -> None:
    async with serving(http_max_connections=5, http_header_timeout_seconds=30.0) as served:
        port = served.port
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(5)]
        reader, _ = await asyncio.open_connection("127.0.0.1", port)
        refused = await asyncio.wait_for(reader.read(), DEADLINE)
        for _, writer in held:
            writer.close()
        async with asyncio.timeout(DEADLINE):  # the server sees the closes
            while served.open_connections() >= 5:
                await asyncio.sleep(0.01)
        answer = await post_condition(port)
    assert refused.startswith(b"HTTP/1.1 503")
    assert answer.status_code == 201


async def test_validating_a_large_batch_hands_the_event_loop_to_others_meanwhile() -> None:
    publisher = RecordingPublisher()
    turns = 0

    async def another_request() -> None:  # stands for /healthz and other senders
        nonlocal turns
        while True:
            await asyncio.sleep(0)
            turns += 1

    other = asyncio.create_task(another_request())
    await asyncio.sleep(0)
    before = turns
    accepted = await core_with(publisher).accept(
        [condition(f"c{n}") for n in range(1500)], Sender(channel="http", client="bulk")
    )
    turns_meanwhile = turns - before
    other.cancel()
    assert len(accepted) == 1500
    assert turns_meanwhile > 0


async def test_idle_and_trickling_mllp_connections_are_closed_and_a_good_sender_is_served() -> None:
    accepter = FakeAccepter()
    options = {"idle_timeout": 1.0, "frame_timeout": 1.0}
    async with listener(accepter, **options) as (port, _):
        idle = [await asyncio.open_connection("127.0.0.1", port) for _ in range(20)]
        trickling = [await asyncio.open_connection("127.0.0.1", port) for _ in range(10)]

        async def trickle(writer: asyncio.StreamWriter) -> None:
            for byte in START + s.oru(s.obx()).encode():
                if writer.is_closing():
                    return
                writer.write(bytes([byte]))
                await asyncio.sleep(0.2)

        trickles = [asyncio.create_task(trickle(writer)) for _, writer in trickling]
        async with raw_client(port) as client:
            ack = await client.request(s.oru(s.obx(), header=s.msh(control_id="GOOD")))
        closed = await asyncio.gather(*(closed_by_server(reader) for reader, _ in idle + trickling))
        for task in trickles:
            task.cancel()
    assert msa(ack)[1:3] == ["AA", "GOOD"]
    assert all(closed)


async def test_mllp_connections_beyond_the_cap_are_closed_at_once() -> None:
    async with listener(FakeAccepter(), max_connections=3) as (port, metrics):
        held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(3)]
        async with raw_client(port) as extra:
            refused = await extra.closed()
        for _, writer in held:
            writer.close()
        async with asyncio.timeout(DEADLINE):  # the listener sees the closes
            while metrics.connections._value.get() >= 3:
                await asyncio.sleep(0.01)
        async with raw_client(port) as client:
            ack = await client.request(s.oru(s.obx()))
    assert refused
    assert msa(ack)[1] == "AA"
    assert metrics.refused_connections._value.get() == 1


async def test_a_3000_result_message_does_not_hold_up_another_senders_message() -> None:
    accepter = FakeAccepter()
    huge = s.oru(*[s.obx(str(n)) for n in range(1, 3001)], header=s.msh(control_id="HUGE"))
    async with (
        listener(accepter) as (port, _),
        raw_client(port) as big,
        raw_client(port) as small,
    ):
        await big.send(START + huge.encode() + END)
        # answered within raw_client's deadline while the big one is read and interpreted
        small_ack = await small.request(s.oru(s.obx(), header=s.msh(control_id="SMALL")))
        big_ack = await big.ack(timeout=DEADLINE)
    assert msa(small_ack)[1:3] == ["AA", "SMALL"]
    assert msa(big_ack)[1:3] == ["AR", "HUGE"]
