"""The two delivery channels behind one small Protocol, and their real adapters.

MESH: mesh-client is synchronous (requests), so every call runs in a worker thread of the
channel's own pool (RMBC_NOTIFIER_MESH_CONCURRENCY sends, plus room for the inbox and lookups), never in
the loop's default pool where it could queue behind other work; each thread keeps its own client
open: one connection (one TLS handshake) per thread rather than per message, and about a fifth
less CPU per send against mesh-sandbox. A call that fails drops its
thread's client, so the next one starts on a fresh connection. SMTP: aiosmtplib, with connections
kept open between e-mails in the same way (below). Each adapter returns the transport id (MESH
message id, e-mail Message-ID).
"""

import asyncio
import contextlib
import functools
import socket
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ParamSpec, Protocol, TypeVar

import aiosmtplib
from mesh_client import MeshClient

from services.notifier.cns_email import Email
from services.notifier.settings import NotifierSettings


@dataclass(frozen=True)
class MeshDocument:
    recipient: str
    local_id: str
    subject: str
    body: bytes
    content_type: str


@dataclass(frozen=True)
class InboxMessage:
    """One message downloaded from our MESH inbox, not yet acknowledged."""

    message_id: str
    message_type: str  # DATA, or REPORT (MESH's own error and non-delivery reports)
    workflow_id: str | None
    local_id: str | None  # a report carries the local id of the message it is about
    status_code: str | None
    status_description: str | None
    body: bytes


Started = Callable[[str], Awaitable[None]]
P = ParamSpec("P")
T = TypeVar("T")
# besides the sends: the inbox poll, an endpoint lookup and a tracking question at the same time
MESH_SPARE_THREADS = 3


class DeliveryChannel(Protocol):
    # True when a send that is done but not yet recorded `sent` is found again by `already_sent`
    # after a crash (its transport id was recorded through `started` before the recipient could
    # receive anything), so the send's slot may be let go before `sent` is recorded.
    finds_unrecorded_sends: bool

    async def send(self, payload: Any, started: Started | None = None) -> str:
        """Deliver; return the transport id. Raises on failure. A channel that learns the
        transport id before the delivery is complete awaits `started(id)` at that point."""
        ...

    async def already_sent(self, alert_id: str, transport_id: str | None) -> str | None:
        """The transport id if this alert already went out, else None (None when unknowable).
        `transport_id`: the latest one recorded for the alert, if any."""
        ...

    async def close(self) -> None:
        """Let go of connections kept open (at shutdown)."""
        ...


class MeshChannel:
    finds_unrecorded_sends = True  # `uploading` (the MESH id) is recorded before the last chunk

    def __init__(self, settings: NotifierSettings) -> None:
        self._settings = settings
        self._local = threading.local()
        self._threads = ThreadPoolExecutor(
            max_workers=settings.notifier_mesh_concurrency + MESH_SPARE_THREADS,
            thread_name_prefix="rmbc-mesh",
        )

    async def _in_thread(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, functools.partial(call, *args, **kwargs))

    @contextmanager
    def _thread_client(self) -> Iterator[MeshClient]:
        """This worker thread's open client; closed and forgotten if the call fails."""
        client: MeshClient | None = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = self._client()
        try:
            yield client
        except BaseException:
            self._local.client = None
            client.close()  # type: ignore[no-untyped-call]
            raise

    def _client(self) -> MeshClient:
        s = self._settings
        cert = (str(s.mesh_cert_file), str(s.mesh_key_file)) if s.mesh_cert_file else None
        return MeshClient(
            s.mesh_url,
            s.mesh_mailbox,
            s.mesh_password.get_secret_value(),
            shared_key=s.mesh_shared_key.get_secret_value().encode(),
            cert=cert,
            verify=str(s.mesh_ca_file) if s.mesh_ca_file else None,
            max_retries=0,
            timeout=s.notifier_send_timeout_seconds,
            application_name="rmbc-notifier",
        )

    async def handshake(self) -> None:
        await self._in_thread(self._handshake)

    def _handshake(self) -> None:
        with self._client() as client:
            client.handshake()

    async def send(self, payload: MeshDocument, started: Started | None = None) -> str:
        """In two chunks, with public mesh-client calls only: MESH gives the message id with the
        first chunk and delivers nothing until the last, so `started(message id)` records the id
        while the GP has received nothing; a crash before the last chunk leaves an incomplete
        message that MESH never delivers (and lets expire)."""
        message_id = await self._in_thread(self._send_chunk, payload, 1, None)
        if started is not None:
            await started(message_id)
        await self._in_thread(self._send_chunk, payload, 2, message_id)
        return message_id

    def _send_chunk(self, doc: MeshDocument, number: int, message_id: str | None) -> str:
        half = len(doc.body) // 2
        chunk = doc.body[:half] if number == 1 else doc.body[half:]
        with self._thread_client() as client:
            response = client.send_chunk(
                doc.recipient,
                chunk,
                number,
                2,
                message_id=message_id,
                workflow_id=self._settings.mesh_workflow_id,
                subject=doc.subject,
                local_id=doc.local_id,
                content_type=doc.content_type,
            )
            response.raise_for_status()
        if number == 1:
            return str(response.json()["message_id"])
        return str(message_id)

    async def lookup_mailbox(self, ods: str) -> str | None:
        """MESH endpoint lookup: the mailbox that receives our workflow for this ODS code."""
        return await self._in_thread(self._lookup_mailbox, ods)

    def _lookup_mailbox(self, ods: str) -> str | None:
        with self._thread_client() as client:
            found = client.lookup_endpoint(ods, self._settings.mesh_workflow_id)["results"]
        # more than one mailbox for one practice and workflow: MESH cannot say which, so none
        return found[0]["mailbox_id"] if len(found) == 1 else None

    async def collect(self, limit: int) -> list[InboxMessage]:
        """Download up to `limit` messages from our inbox (acknowledge each once handled)."""
        return await self._in_thread(self._collect, limit)

    def _collect(self, limit: int) -> list[InboxMessage]:
        collected = []
        with self._thread_client() as client:
            for message_id in client.list_messages(max_results=limit):
                with client.retrieve_message(message_id) as message:
                    collected.append(
                        InboxMessage(
                            message_id,
                            str(message.message_type or "DATA").upper(),
                            message.workflow_id,
                            message.local_id,
                            message.mex_header("statuscode"),
                            message.mex_header("statusdescription"),
                            message.read(),
                        )
                    )
        return collected

    async def acknowledge(self, message_id: str) -> None:
        await self._in_thread(self._acknowledge, message_id)

    def _acknowledge(self, message_id: str) -> None:
        with self._thread_client() as client:
            client.acknowledge_message(message_id)

    async def already_sent(self, alert_id: str, transport_id: str | None) -> str | None:
        """Asked by MESH message id (the public tracking route): the message went if MESH has
        it whole. Without a recorded id no chunk was recorded, so nothing reached the GP."""
        if transport_id is None:
            return None
        return await self._in_thread(self._track, transport_id)

    def _track(self, message_id: str) -> str | None:
        with self._thread_client() as client:
            status = str(client.track_message(message_id).get("status", "")).lower()
        return None if status in ("uploading", "") else message_id

    async def close(self) -> None:
        """Let the pool's threads end; each client belongs to its thread and ends with it."""
        self._threads.shutdown(wait=False)


# Well inside the 5 minutes RFC 5321 asks servers to wait for the next command.
SMTP_KEEP_IDLE_SECONDS = 30.0


def _closed_by_server(error: BaseException) -> bool:
    """The kept connection is gone (closed while idle, or 421 closing): MAIL FROM failed on it
    before any of the e-mail was sent, so a new connection may carry it at once."""
    if isinstance(error, aiosmtplib.SMTPResponseException):
        return error.code == 421
    return isinstance(error, ConnectionError)  # aiosmtplib's SMTPServerDisconnected is one


class SmtpChannel:
    """One SMTP session per concurrent send, kept open between e-mails: EHLO, STARTTLS and AUTH
    once per connection rather than once per e-mail (the relay sees fewer connections, and the
    notifier spends about half the commands per e-mail). A session is reused only after an e-mail
    it carried was accepted; any error closes it."""

    finds_unrecorded_sends = False  # SMTP has no outbox to ask

    def __init__(self, settings: NotifierSettings) -> None:
        self._settings = settings
        # aiosmtplib would otherwise look the name up (a thread, perhaps DNS) for every e-mail
        self._local_hostname = settings.smtp_local_hostname or socket.getfqdn()
        self._kept: list[tuple[float, aiosmtplib.SMTP]] = []  # (idle since, session)

    async def send(self, payload: Email, started: Started | None = None) -> str:
        client = await self._session_for(payload.sender)
        try:
            await client.rcpt(payload.recipient)
            await client.data(payload.data)
        except BaseException:
            client.close()
            raise
        self._kept.append((time.monotonic(), client))
        return payload.message_id

    async def _session_for(self, sender: str) -> aiosmtplib.SMTP:
        """A session with MAIL FROM accepted: a kept one that still answers, else a new one."""
        while (kept := await self._take_kept()) is not None:
            try:
                await kept.mail(sender)
                return kept
            except BaseException as error:
                kept.close()
                if not _closed_by_server(error):
                    raise
        client = self._new_session()
        try:
            await client.connect()
            await client.mail(sender)
        except BaseException:
            client.close()
            raise
        return client

    async def _take_kept(self) -> aiosmtplib.SMTP | None:
        now = time.monotonic()
        while self._kept:
            idle_since, client = self._kept.pop()  # the most recently used first
            if client.is_connected and now - idle_since < SMTP_KEEP_IDLE_SECONDS:
                return client
            await _quit(client)
        return None

    def _new_session(self) -> aiosmtplib.SMTP:
        s = self._settings
        return aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            start_tls=s.smtp_starttls,
            username=s.smtp_username,
            password=s.smtp_password.get_secret_value() if s.smtp_password else None,
            cert_bundle=str(s.smtp_ca_file) if s.smtp_ca_file else None,
            timeout=s.notifier_send_timeout_seconds,
            local_hostname=self._local_hostname,
        )

    async def already_sent(self, alert_id: str, transport_id: str | None) -> str | None:
        # SMTP has no outbox to ask; the ledger's window is kept to one call (see README).
        return None

    async def close(self) -> None:
        kept, self._kept = self._kept, []
        for _, client in kept:
            await _quit(client)


async def _quit(client: aiosmtplib.SMTP) -> None:
    """QUIT politely if the server still answers; close the socket regardless."""
    with contextlib.suppress(Exception):
        if client.is_connected:
            await asyncio.wait_for(client.quit(), 2.0)
    client.close()
