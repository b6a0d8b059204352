"""The two delivery channels behind one small Protocol, and their real adapters.

MESH: mesh-client is synchronous (requests), so every call runs in a worker thread, each thread
with its own client kept open: one connection (one TLS handshake) per thread rather than per
message, and about a fifth less CPU per send against mesh-sandbox. A call that fails drops its
thread's client, so the next one starts on a fresh connection. SMTP: aiosmtplib, with connections
kept open between e-mails in the same way (below). Each adapter returns the transport id (MESH
message id, e-mail Message-ID).
"""

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

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


class DeliveryChannel(Protocol):
    async def send(self, payload: Any) -> str:
        """Deliver; return the transport id. Raises on failure."""
        ...

    async def already_sent(self, alert_id: str) -> str | None:
        """The transport id if this alert already went out, else None (None when unknowable)."""
        ...

    async def close(self) -> None:
        """Let go of connections kept open (at shutdown)."""
        ...


class MeshChannel:
    def __init__(self, settings: NotifierSettings) -> None:
        self._settings = settings
        self._local = threading.local()

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
        await asyncio.to_thread(self._handshake)

    def _handshake(self) -> None:
        with self._client() as client:
            client.handshake()

    async def send(self, payload: MeshDocument) -> str:
        return await asyncio.to_thread(self._send, payload)

    def _send(self, doc: MeshDocument) -> str:
        with self._thread_client() as client:
            message_id: str = client.send_message(
                doc.recipient,
                doc.body,
                workflow_id=self._settings.mesh_workflow_id,
                subject=doc.subject,
                local_id=doc.local_id,
                content_type=doc.content_type,
            )
            return message_id

    async def already_sent(self, alert_id: str) -> str | None:
        return await asyncio.to_thread(self._track_local_id, alert_id)

    def _track_local_id(self, local_id: str) -> str | None:
        # mesh-client 5.0.2 tracks by message id only; the MESH API also serves outbox tracking
        # by the sender's local id, which is what recovery needs (the message id of a send that
        # crashed before being recorded is unknown). Called through the client's authenticated
        # session so TLS and the HMAC token stay the client's.
        with self._thread_client() as client:
            response = client._session.get(
                f"{client.mailbox_url}/outbox/tracking/{local_id}",
                timeout=self._settings.notifier_send_timeout_seconds,
            )
        if response.status_code == 404:
            return None
        if response.status_code == 300:
            return "multiple"
        response.raise_for_status()
        body = response.json()
        return str(body.get("messageId") or body.get("messageID") or "unknown")

    async def close(self) -> None:
        """Nothing to do: each client belongs to its worker thread and ends with the process."""


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

    def __init__(self, settings: NotifierSettings) -> None:
        self._settings = settings
        # aiosmtplib would otherwise look the name up (a thread, perhaps DNS) for every e-mail
        self._local_hostname = settings.smtp_local_hostname or socket.getfqdn()
        self._kept: list[tuple[float, aiosmtplib.SMTP]] = []  # (idle since, session)

    async def send(self, payload: Email) -> str:
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

    async def already_sent(self, alert_id: str) -> str | None:
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
