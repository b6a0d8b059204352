"""Admission at the listening socket, on loopback: what `accept()` returns, what a refused client
reads, and the descriptors a flood costs the process while its event loop is busy."""

import asyncio
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from services.ingest.admission import REFUSALS_PER_CALL, Admission, listen_admitting
from services.ingest.limits import SPARE_DESCRIPTORS
from tests.unit.ingest.mllp_support import FakeAccepter, listener

DEADLINE = 10.0


@contextmanager
def listening(admission: Admission) -> Iterator[tuple[socket.socket, int]]:
    server = listen_admitting("127.0.0.1", 0, admission)
    server.listen(256)
    try:
        yield server, server.getsockname()[1]
    finally:
        server.close()


def connect(port: int) -> socket.socket:
    client = socket.create_connection(("127.0.0.1", port), timeout=DEADLINE)
    return client


def read_to_end(client: socket.socket) -> bytes:
    received = b""
    while chunk := client.recv(65536):
        received += chunk
    return received


def descriptors_in_use() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_connection_beyond_the_cap_is_answered_and_closed_before_accept_returns() -> None:
    refused: list[int] = []
    admission = Admission("HTTP", 2, refusal=b"BUSY", on_refused=lambda: refused.append(1))
    with listening(admission) as (server, port):
        clients = [connect(port) for _ in range(3)]
        clients[2].sendall(b"POST /fhir/Condition HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}")
        admitted = [server.accept()[0], server.accept()[0]]
        with pytest.raises(BlockingIOError):  # the third was refused, and the queue is empty
            server.accept()
        answer = read_to_end(clients[2])
        open_now = admission.open_connections()
        for connection in admitted + clients:
            connection.close()
    assert answer == b"BUSY"
    assert open_now == 2
    assert len(refused) == 1


def test_a_closed_connection_frees_its_slot_for_the_next() -> None:
    admission = Admission("MLLP", 1)
    with listening(admission) as (server, port):
        first = connect(port)
        server.accept()[0].close()
        second = connect(port)
        admitted, _ = server.accept()
        open_now = admission.open_connections()
        for connection in (first, second, admitted):
            connection.close()
    assert open_now == 1


def test_a_connection_is_refused_when_its_descriptor_would_leave_too_few_spare() -> None:
    # a limit so low that every descriptor this process can be given is within the spare
    admission = Admission("MLLP", 100, descriptor_limit=SPARE_DESCRIPTORS + 1)
    with listening(admission) as (server, port):
        client = connect(port)
        with pytest.raises(BlockingIOError):
            server.accept()
        answer = read_to_end(client)
        client.close()
    assert answer == b""
    assert admission.open_connections() == 0


def test_a_burst_of_refusals_hands_the_event_loop_back_and_leaves_the_rest_queued() -> None:
    refused: list[int] = []
    admission = Admission("MLLP", 1, on_refused=lambda: refused.append(1))
    with listening(admission) as (server, port):
        held = connect(port)
        admitted, _ = server.accept()
        flood = [connect(port) for _ in range(REFUSALS_PER_CALL + 5)]
        with pytest.raises(BlockingIOError):
            server.accept()
        after_one_call = len(refused)
        with pytest.raises(BlockingIOError):
            server.accept()
        for connection in [held, admitted, *flood]:
            connection.close()
    assert after_one_call == REFUSALS_PER_CALL
    assert len(refused) == REFUSALS_PER_CALL + 5


async def test_a_flood_queued_while_the_loop_was_busy_never_holds_more_than_the_cap() -> None:
    cap, flood_size = 5, 100
    async with listener(FakeAccepter(), max_connections=cap, idle_timeout=30.0) as (port, _):
        before = descriptors_in_use()
        # connected without yielding to the event loop: all of them wait in the listen queue
        flood = [connect(port) for _ in range(flood_size)]
        peak = descriptors_in_use()
        async with asyncio.timeout(DEADLINE):
            refused = 0
            while refused < flood_size - cap:
                await asyncio.sleep(0)
                peak = max(peak, descriptors_in_use())
                refused = sum(1 for client in flood if _closed_by_server(client))
        for client in flood:
            client.close()
    # the clients' own sockets, the admitted ones, and none for a refused connection
    assert peak <= before + flood_size + cap


def _closed_by_server(client: socket.socket) -> bool:
    client.setblocking(False)
    try:
        return client.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False
