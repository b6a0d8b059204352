"""Admitting connections where they are accepted, so that a flood never costs ingest more
descriptors than its caps: a connection ingest will not serve is closed before the next is taken.

Why not refuse in the protocol, as before: asyncio's server takes up to `backlog` connections from
the listening socket in one turn of the event loop and hands each to a task; the protocol sees a
connection two turns later, and one it refuses is closed a turn after that (CPython 3.11,
`asyncio/selector_events.py`, `_accept_connection` and `_accept_connection2`). On a busy machine
the loop turns slowly, so a flood filled the process with accepted, not yet refused connections
past its open-file limit: `accept()` failed with EMFILE ("out of system resource"), and so did
anything else that needed a descriptor at that moment.

`AdmittingSocket` is the listening socket asyncio accepts from (`loop.create_server(sock=...)`,
`uvicorn.Server.serve(sockets=...)`): its `accept()` decides before returning. A connection is
admitted while fewer than `max_connections` it admitted are still open and the descriptor it got
leaves `SPARE_DESCRIPTORS` below the open-file limit (descriptors are handed out lowest first,
POSIX.1-2017 section 2.14, so descriptor n means the n below it are in use). Otherwise it gets the
listener's refusal (HTTP: 503 with Retry-After; MLLP: none) and is closed at once. Connections
not yet accepted wait in the kernel's listen queue, which costs the process nothing.

A refusal first reads what the client already sent: closing a socket with unread input resets
the connection, and the reset can erase the answer before the client reads it (RFC 9112 section
9.6, "Tear-down"). A full lingering close would hold the descriptor, which is what a refusal saves.
"""

import logging
import resource
import socket
import weakref
from collections.abc import Callable
from typing import Any

from services.ingest.limits import SPARE_DESCRIPTORS

log = logging.getLogger(__name__)

REFUSALS_PER_CALL = 64  # then the event loop gets a turn; the rest wait in the listen queue
_UNREAD_CHUNKS = 4  # what a refused client already sent: up to 4 x 64 KiB is read and dropped


def open_file_limit() -> int | None:
    """The process's soft RLIMIT_NOFILE, or None when unlimited."""
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return None if soft == resource.RLIM_INFINITY else soft


class Admission:
    """Which connections one listener serves, and how it turns the others away."""

    def __init__(
        self,
        listener: str,
        max_connections: int,
        refusal: bytes = b"",
        on_refused: Callable[[], None] = lambda: None,
        descriptor_limit: int | None = None,
    ) -> None:
        """`descriptor_limit`: the open-file limit to keep `SPARE_DESCRIPTORS` below; by default
        this process's, read now."""
        self.listener = listener
        self.max_connections = max_connections
        self.refusal = refusal
        self.on_refused = on_refused
        limit = descriptor_limit if descriptor_limit is not None else open_file_limit()
        self.highest_admitted_descriptor = None if limit is None else limit - 1 - SPARE_DESCRIPTORS
        # weak: a connection dropped without a close (its socket collected) leaves the count too
        self._admitted: weakref.WeakSet[socket.socket] = weakref.WeakSet()

    def open_connections(self) -> int:
        """The admitted connections whose socket is not closed yet."""
        for connection in list(self._admitted):
            if connection.fileno() == -1:
                self._admitted.discard(connection)
        return len(self._admitted)

    def admit(self, connection: socket.socket) -> bool:
        """Admit `connection` (counting it), or refuse it: answered, closed and counted refused."""
        # closed connections are pruned only at the cap: one pass per refusal, none per admission
        at_cap = (
            len(self._admitted) >= self.max_connections
            and self.open_connections() >= self.max_connections
        )
        spare = (
            self.highest_admitted_descriptor is None
            or connection.fileno() <= self.highest_admitted_descriptor
        )
        if not at_cap and spare:
            self._admitted.add(connection)
            return True
        reason = "too many open" if at_cap else "few file descriptors left"
        # one message per listener and reason: the log's rate limit counts each on its own
        log.warning(
            f"{self.listener} connection refused: {reason}",
            extra={"open": self.open_connections(), "descriptor": connection.fileno()},
        )
        self.on_refused()
        self._refuse(connection)
        return False

    def _refuse(self, connection: socket.socket) -> None:
        connection.setblocking(False)
        try:
            _read_what_arrived(connection)
            if self.refusal:
                connection.send(self.refusal)
        except OSError as error:  # the client went away first: there is no one to answer
            log.debug("refused connection already gone: %s", type(error).__name__)
        finally:
            connection.close()


def _read_what_arrived(connection: socket.socket) -> None:
    """Read and drop what the client sent before it was refused (see the module docstring)."""
    for _ in range(_UNREAD_CHUNKS):
        try:
            if not connection.recv(65536):
                return
        except (BlockingIOError, InterruptedError):  # all that arrived is read
            return


class AdmittingSocket(socket.socket):
    """A listening socket whose `accept()` returns only admitted connections (see the module
    docstring). Built by `listen_admitting`, which sets `admission`."""

    admission: Admission

    def accept(self) -> tuple[socket.socket, Any]:
        for _ in range(REFUSALS_PER_CALL):
            # BlockingIOError when the listen queue is empty: asyncio ends this turn's accepting
            connection, address = super().accept()
            if self.admission.admit(connection):
                return connection, address
        raise BlockingIOError("refused a burst; the rest wait in the listen queue")


def listen_admitting(host: str, port: int, admission: Admission) -> AdmittingSocket:
    """A socket bound to the first address `host` resolves to (0.0.0.0 or :: for every address)
    and `port` (0: a free one), not yet listening: asyncio's `create_server` calls `listen`."""
    family, kind, proto, _name, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    listener = AdmittingSocket(family, kind, proto)
    listener.admission = admission
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio does on Unix
    listener.bind(address)
    listener.setblocking(False)
    return listener
