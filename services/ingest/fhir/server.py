"""The HTTP server around the FHIR app: uvicorn with the limits a hostile or broken client needs.

uvicorn bounds only the wait between requests on a kept-alive connection (`timeout_keep_alive`,
cancelled by the first byte of the next request). A client that sends headers a byte at a time,
a body that stops half-way, or simply many connections, could hold sockets until ingest met its
file-descriptor limit (answering neither HTTP nor MLLP). Here, per connection:
- the request line and headers must arrive within `header_timeout` of the connection opening or
  of the previous answer;
- while a body arrives, a gap longer than `idle_timeout` closes the connection;
- beyond `max_connections` open connections a new one gets `503` and is closed at once, where it
  is accepted (`GuardedServer`, `services/ingest/admission.py`), so it never holds a descriptor.
uvicorn's own protocol (httptools) does the parsing; this subclass only adds the timers, on the
protocol callbacks uvicorn documents (`uvicorn/protocols/http/httptools_impl.py`).

And per request (`DrainUnreadBody`): an answer given before the body was read (413 for a body over
the limit, 401, 415) is completed only after the rest of the body was read and discarded, within
bounds. A client that sends its whole body before reading the answer, as Python's urllib does
with `Connection: close`, otherwise meets a connection reset instead of the 413.
"""

import asyncio
import logging
import socket
import ssl
from typing import Any

import uvicorn
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from services.ingest.admission import Admission, listen_admitting
from services.ingest.limits import ConnectionLimits
from services.ingest.peers import subject_name

log = logging.getLogger(__name__)

BUSY = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def guarded_protocol(limits: ConnectionLimits) -> type[HttpToolsProtocol]:
    """uvicorn's httptools protocol with `limits` (see the module docstring)."""

    class GuardedHttpToolsProtocol(HttpToolsProtocol):
        _timer: asyncio.TimerHandle | None = None
        _in_body = False

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm(limits.header_timeout, "headers")

        def data_received(self, data: bytes) -> None:
            if self._in_body:
                self._arm(limits.idle_timeout, "body")
            super().data_received(data)

        def on_headers_complete(self) -> None:
            self._in_body = True
            self._arm(limits.idle_timeout, "body")
            # the verified client certificate (mutual TLS), for the allow-list in the app
            peercert = self.transport.get_extra_info("peercert")
            if peercert:
                extensions = self.scope.setdefault("extensions", {})
                extensions["tls"] = {"client_cert_subject": subject_name(peercert)}
            super().on_headers_complete()

        def on_message_complete(self) -> None:
            self._in_body = False
            self._disarm()
            super().on_message_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            if not self.transport.is_closing() and not self._in_body:
                self._arm(limits.header_timeout, "headers")

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self, seconds: float, waiting_for: str) -> None:
            self._disarm()
            self._timer = self.loop.call_later(seconds, self._expire, waiting_for)

        def _disarm(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _expire(self, waiting_for: str) -> None:
            self._timer = None
            if not self.transport.is_closing():
                # per connection, so debug: under a flood of slow clients this line would be one
                log.debug("HTTP connection closed: timed out", extra={"waiting_for": waiting_for})
                self.transport.close()

    return GuardedHttpToolsProtocol


class GuardedServer(uvicorn.Server):
    """uvicorn listening on a socket that admits at most `limits.max_connections` open
    connections and answers one more 503 as it accepts it (see `services/ingest/admission.py`)."""

    def __init__(self, config: uvicorn.Config, limits: ConnectionLimits) -> None:
        super().__init__(config)
        self.admission = Admission("HTTP", limits.max_connections, refusal=BUSY)

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        if sockets is None:
            sockets = [listen_admitting(self.config.host, self.config.port, self.admission)]
            log.info("HTTP listening", extra={"port": sockets[0].getsockname()[1]})
        await super().serve(sockets=sockets)


def server_config(
    app: ASGIApp,
    *,
    host: str,
    port: int,
    limits: ConnectionLimits,
    ssl_certfile: Any = None,
    ssl_keyfile: Any = None,
    ssl_ca_certs: Any = None,
) -> uvicorn.Config:
    """The one uvicorn configuration ingest runs with (and its tests start). `ssl_ca_certs`:
    require a client certificate signed by this bundle (mutual TLS)."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
        # the C parser, cheaper than h11's pure Python (docs/performance.md), with the limits
        http=guarded_protocol(limits),
        timeout_keep_alive=max(1, int(limits.idle_timeout)),
        timeout_graceful_shutdown=10,
        ssl_certfile=ssl_certfile,
        ssl_keyfile=ssl_keyfile,
        ssl_ca_certs=str(ssl_ca_certs) if ssl_ca_certs else None,
        ssl_cert_reqs=ssl.CERT_REQUIRED if ssl_ca_certs else ssl.CERT_NONE,
    )


class DrainUnreadBody:
    """Completes an answer given before the request body was read only after reading the rest
    of the body (up to `max_bytes`, within `max_seconds`), discarding it. Beyond either bound the
    connection is closed as before: a client cannot make ingest read for ever."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_seconds: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        state = {"received": False, "done": False}

        async def tracking_receive() -> Message:
            message = await receive()
            state["received"] = True
            if message["type"] != "http.request" or not message.get("more_body", False):
                state["done"] = True
            return message

        async def completing_send(message: Message) -> None:
            last = message["type"] == "http.response.body" and not message.get("more_body")
            # a client told to wait for `100 Continue` that never came has sent no body
            waits = _expects_continue(scope) and not state["received"]
            if not last or state["done"] or waits:
                await send(message)
                return
            await send({**message, "more_body": True})
            await self._drain(tracking_receive, state)
            await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app(scope, tracking_receive, completing_send)

    async def _drain(self, receive: Receive, state: dict[str, bool]) -> None:
        read = 0
        try:
            async with asyncio.timeout(self.max_seconds):
                while not state["done"] and read <= self.max_bytes:
                    message = await receive()
                    read += len(message.get("body", b""))
        except TimeoutError:
            log.info("stopped reading an unread request body", extra={"bytes": read})


def _has_body(scope: Scope) -> bool:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return value.strip() not in (b"", b"0")
        if name == b"transfer-encoding":
            return True
    return False


def _expects_continue(scope: Scope) -> bool:
    return any(
        name == b"expect" and value.lower() == b"100-continue" for name, value in scope["headers"]
    )
