"""The MLLP listener: HL7 v2 frames in, ACKs out, resources handed to the Accepter.

Framing is done here rather than with python-hl7's stream reader, so that oversize, truncated and
garbage input each get a definite answer instead of an exception that ends the connection:
- a frame without a readable MSH gets AR (MSA-2 empty, ERR at MSH^1): one answer per frame keeps
  the sender's request/ACK pairing in step;
- a truncated frame (a new start block, the end of the stream or `frame_timeout` after its start
  block, however slowly its bytes trickle in) gets AR naming MSH-10 when its MSH was readable;
  after a timeout the connection closes;
- an oversize frame is read to its end block without being kept, then gets AR;
- bytes outside any frame are discarded and logged; more than `max_frame_bytes` of them in a
  row means the peer does not speak MLLP, and the connection is closed with a log line;
- a connection silent for `idle_timeout` between frames is closed, and beyond `max_connections`
  open connections a new one is closed where it is accepted, so it never holds a descriptor
  (`services/ingest/admission.py`; each admitted one may hold a frame of `max_frame_bytes`);
- a message mapping to more than `max_resources` resources gets AR (as a Bundle over its entry
  limit gets 413), and a large frame is interpreted off the event loop: one sender's big message
  does not hold up the others or /healthz.

AA (CA) is sent only after `accepter.accept` returned, i.e. after Kafka acknowledged the events.
"""

import asyncio
import logging
import re
import uuid
import weakref
from dataclasses import dataclass
from datetime import UTC, datetime
from ssl import SSLContext
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge

from services.ingest.admission import Admission, listen_admitting
from services.ingest.errors import BrokerUnavailable, InvalidInput, Issue, refusal_status
from services.ingest.hl7.ack import AckOutcome, ack_code, build_ack, should_send
from services.ingest.hl7.decoding import Interpretation, RecentAcks, header_of_fragment, interpret
from services.ingest.hl7.header import Header
from services.ingest.hl7.issues import DUPLICATE_KEY, INTERNAL_ERROR, SEGMENT_SEQUENCE, Hl7Issue
from services.ingest.hl7.profile import DEFAULT_PROCESSING_IDS, SUPPORTED_EVENTS
from services.ingest.limits import (
    DEFAULT_ACCEPT_TIMEOUT,
    DEFAULT_DEDUPE_SIZE,
    DEFAULT_FRAME_TIMEOUT,
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_FRAME_BYTES,
    DEFAULT_MAX_RESOURCES,
)
from services.ingest.peers import PeerAllowList, subject_name
from services.ingest.ports import Accepter
from shared.events import Sender

log = logging.getLogger("rmbc.ingest.mllp")

START_BLOCK = 0x0B
END_BLOCK = 0x1C
CARRIAGE_RETURN = 0x0D
INLINE_FRAME_BYTES = 64 * 1024  # larger frames are interpreted in a worker thread
_HEAD_BYTES = 4096  # enough of an oversize frame to read its MSH for the answer


class MllpMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.messages = Counter(
            "rmbc_ingest_hl7_messages",
            "HL7 v2 messages answered, by message type and ACK code.",
            ["message_type", "ack_code"],
            registry=self.registry,
        )
        self.not_mapped = Counter(
            "rmbc_ingest_hl7_segments_not_mapped",
            "Segments that produced no resource (named in the ACK), by reason: an OBX/PRB "
            "outside the profile, a Z-segment, a standard segment rmbc does not read.",
            ["reason"],
            registry=self.registry,
        )
        self.resends = Counter(
            "rmbc_ingest_hl7_resends",
            "Messages with an MSH-10 already acknowledged AA: acknowledged again, not republished.",
            registry=self.registry,
        )
        self.bad_frames = Counter(
            "rmbc_ingest_mllp_bad_frames",
            "MLLP input that was not one whole message: garbage, truncated, oversize.",
            ["kind"],
            registry=self.registry,
        )
        self.connections = Gauge(
            "rmbc_ingest_mllp_connections", "Open MLLP connections.", registry=self.registry
        )
        self.not_allowed = Counter(
            "rmbc_ingest_hl7_not_allowed",
            "Messages refused AR: MSH-4 not allowed for the client certificate (mutual TLS).",
            registry=self.registry,
        )
        self.refused_connections = Counter(
            "rmbc_ingest_mllp_connections_refused",
            "MLLP connections closed on arrival: max_connections were already open.",
            registry=self.registry,
        )


@dataclass(frozen=True)
class Frame:
    kind: Literal["message", "truncated", "oversize"]
    data: bytes  # the whole message, or the first bytes of a bad frame
    size: int
    closes: bool = False  # the connection cannot continue after this frame


class NotMllp(Exception):
    """Too many bytes outside any MLLP frame: the peer is not an MLLP sender."""


class FrameReader:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        max_frame_bytes: int,
        frame_timeout: float,
        idle_timeout: float | None = None,
    ) -> None:
        self.reader = reader
        self.max_frame_bytes = max_frame_bytes
        self.frame_timeout = frame_timeout
        self.idle_timeout = idle_timeout
        self.buffer = bytearray()
        self.discarded = 0

    async def next(self) -> Frame | None:
        """The next frame, or None at the end of the stream (or `idle_timeout`) between frames."""
        while (start := self.buffer.find(START_BLOCK)) == -1:
            self._discard(len(self.buffer))
            try:
                if not await self._fill(timeout=self.idle_timeout):
                    return None
            except TimeoutError:
                log.debug("closing an idle MLLP connection", extra={"seconds": self.idle_timeout})
                return None
        self._discard(start)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.frame_timeout
        del self.buffer[:1]  # the start block
        kept = bytearray()  # at most max_frame_bytes of the frame
        size = 0
        while True:
            end = self.buffer.find(END_BLOCK)
            restart = self.buffer.find(START_BLOCK)
            stops = [i for i in (end, restart) if i != -1]
            cut = min(stops) if stops else len(self.buffer)
            kept += self.buffer[: max(0, min(cut, self.max_frame_bytes - len(kept)))]
            size += cut
            if stops and cut == end:
                del self.buffer[: end + 1]
                if self.buffer[:1] == bytes([CARRIAGE_RETURN]):
                    del self.buffer[:1]
                if size > self.max_frame_bytes:
                    return Frame("oversize", bytes(kept[:_HEAD_BYTES]), size)
                return Frame("message", bytes(kept), size)
            del self.buffer[:cut]
            if stops and cut == restart:
                return Frame("truncated", bytes(kept[:_HEAD_BYTES]), size)
            try:
                more = await self._fill(timeout=max(0.0, deadline - loop.time()))
            except TimeoutError:
                more = False
            if not more:
                return Frame("truncated", bytes(kept[:_HEAD_BYTES]), size, closes=True)

    async def _fill(self, timeout: float | None) -> bool:
        chunk = await asyncio.wait_for(self.reader.read(65536), timeout)
        self.buffer += chunk
        return bool(chunk)

    def _discard(self, count: int) -> None:
        junk = bytes(self.buffer[:count]).strip(b"\r\n\t ")
        del self.buffer[:count]
        if not junk:
            return
        self.discarded += len(junk)
        log.warning("discarded bytes outside MLLP frames", extra={"bytes": len(junk)})
        if self.discarded > self.max_frame_bytes:
            raise NotMllp(f"{self.discarded} bytes outside MLLP frames")


class MllpHandler:
    """Answers every frame of every connection. Never raises into the server task."""

    def __init__(
        self,
        accepter: Accepter,
        *,
        max_frame_bytes: int,
        enhanced: bool,
        dedupe_size: int,
        frame_timeout: float,
        accept_timeout: float,
        metrics: MllpMetrics,
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
        max_resources: int = DEFAULT_MAX_RESOURCES,
        processing_ids: frozenset[str] = DEFAULT_PROCESSING_IDS,
        peers: PeerAllowList | None = None,
    ) -> None:
        self.accepter = accepter
        self.processing_ids = processing_ids
        self.peers = peers
        self.max_frame_bytes = max_frame_bytes
        self.idle_timeout = idle_timeout
        self.max_resources = max_resources
        self.enhanced = enhanced
        self.frame_timeout = frame_timeout
        self.accept_timeout = accept_timeout
        self.metrics = metrics
        self.recent = RecentAcks(dedupe_size)
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        self.metrics.connections.inc()
        frames = FrameReader(reader, self.max_frame_bytes, self.frame_timeout, self.idle_timeout)
        certificate = subject_name(writer.get_extra_info("peercert"))
        try:
            while (frame := await frames.next()) is not None:
                answer = await self.answer(frame, certificate)
                if answer is not None:
                    writer.write(answer)
                    await writer.drain()
                if frame.closes:
                    break
        except asyncio.CancelledError:
            log.info("MLLP connection closed by shutdown", extra={"peer": str(peer)})
        except NotMllp as error:
            log.warning("closing a connection that does not speak MLLP: %s", error)
        except (ConnectionError, asyncio.IncompleteReadError) as error:
            log.info("MLLP peer went away: %s", type(error).__name__, extra={"peer": str(peer)})
        except Exception:
            log.exception("MLLP connection failed", extra={"peer": str(peer)})
        finally:
            self.metrics.connections.dec()
            writer.close()
            try:
                await writer.wait_closed()
            except (ConnectionError, OSError) as error:
                log.debug("MLLP close: %s", type(error).__name__)

    async def answer(self, frame: Frame, certificate: str | None = None) -> bytes | None:
        """The ACK for one frame. `certificate`: the verified client certificate's name, checked
        against the allow-list (when mutual TLS is on) before anything is published."""
        if frame.kind != "message":
            return self._bad_frame(frame)
        try:
            if len(frame.data) > INLINE_FRAME_BYTES:  # pure: safe in a thread, and off the loop
                found = await asyncio.to_thread(interpret, frame.data, self.processing_ids)
            else:
                found = interpret(frame.data, self.processing_ids)
        except Exception:
            # interpreting is pure: the same frame would fail the same way, so a resend cannot
            # help and the sender must not queue behind it (AE naming its MSH-10, not transient)
            log.exception("HL7 message could not be interpreted")
            text = "internal error on this message; not stored, do not resend it unchanged"
            issue = Hl7Issue("MSH^1", INTERNAL_ERROR, text)
            header = header_of_fragment(frame.data)
            return self._ack(header, "error", [issue], "utf-8", "UNICODE UTF-8")
        if found.outcome != "publish":
            self._log_refusal(found.header, found.outcome, found.issues)
            return self._ack(
                found.header, found.outcome, found.issues, found.codec, found.character_set
            )
        if len(found.resources) > self.max_resources:
            text = (
                f"the message maps to {len(found.resources)} resources; at most "
                f"{self.max_resources} per message: send the results in several messages"
            )
            issue = Hl7Issue("MSH^1", INTERNAL_ERROR, text)
            self._log_refusal(found.header, "reject", [issue])
            return self._ack(found.header, "reject", [issue], found.codec, found.character_set)
        facility = found.header.sending_facility
        if self.peers is not None and not self.peers.may_send_for(certificate, facility):
            # HL7 v2.5.1 table 0357 has no authorisation condition: 207 with the reason
            text = "this connection's certificate may not send for the facility in MSH-4"
            issue = Hl7Issue("MSH^1^4", INTERNAL_ERROR, text)
            self.metrics.not_allowed.inc()
            log.warning(
                "HL7 message refused: MSH-4 not allowed for the client certificate",
                extra={**_ids(found.header), "certificate": certificate},
            )
            return self._ack(found.header, "reject", [issue], found.codec, found.character_set)
        return await self._publish(found)

    async def _publish(self, found: Interpretation) -> bytes | None:
        lock = self._locks.get(found.key)
        if lock is None:
            lock = self._locks[found.key] = asyncio.Lock()
        async with lock:
            previous = self.recent.lookup(found.key)
            if previous is not None:
                return self._resend(found, previous)
            outcome, issues = await self._accept(found)
            if outcome == "accepted":
                self.recent.remember(found.key, found.fingerprint)
                for skipped in found.not_mapped:
                    self.metrics.not_mapped.labels(skipped.reason).inc()
                log.info(
                    "HL7 message accepted",
                    extra={
                        "control_id": found.header.control_id,
                        "facility": found.header.sending_facility,
                        "message_type": found.header.kind,
                        "resources": len(found.resources),
                        "not_mapped": [n.location for n in found.not_mapped],
                    },
                )
            else:
                self._log_refusal(found.header, outcome, issues)
            return self._ack(found.header, outcome, issues, found.codec, found.character_set)

    async def _accept(self, found: Interpretation) -> tuple[AckOutcome, list[Hl7Issue]]:
        if not found.resources:
            return "accepted", found.issues
        sender = Sender(
            channel="mllp", client=found.header.sending_facility, message_id=found.header.control_id
        )
        try:
            await asyncio.wait_for(
                self.accepter.accept(found.resources, sender, atomic=True), self.accept_timeout
            )
        except InvalidInput as invalid:
            issues = [_from_issue(issue, found.sources) for issue in invalid.issues]
            transient = invalid.retryable or any(i.code == "transient" for i in invalid.issues)
            if transient:
                return "transient", issues
            # too large for the event store: as for an oversize frame, AR; resending cannot help
            return ("reject" if refusal_status(invalid.issues) == 413 else "error"), issues
        except (BrokerUnavailable, TimeoutError):
            text = "transient: the event store did not acknowledge; resend the message"
            return "transient", [Hl7Issue("MSH^1", INTERNAL_ERROR, text)]
        except Exception:
            # not the broker (that is BrokerUnavailable): something in this message's content
            log.exception("accepting an HL7 message failed", extra=_ids(found.header))
            text = "internal error on this message; not stored, do not resend it unchanged"
            return "error", [Hl7Issue("MSH^1", INTERNAL_ERROR, text)]
        return "accepted", found.issues

    def _resend(self, found: Interpretation, previous: str) -> bytes | None:
        if previous != found.fingerprint:
            issue = Hl7Issue(
                "MSH^1^10",
                DUPLICATE_KEY,
                "MSH-10 was already used for a different message; give each message its own id",
            )
            self._log_refusal(found.header, "error", [issue])
            return self._ack(found.header, "error", [issue], found.codec, found.character_set)
        self.metrics.resends.inc()
        log.info("HL7 resend acknowledged again, not republished", extra=_ids(found.header))
        return self._ack(found.header, "accepted", found.issues, found.codec, found.character_set)

    def _bad_frame(self, frame: Frame) -> bytes | None:
        self.metrics.bad_frames.labels(frame.kind).inc()
        header = header_of_fragment(frame.data)
        if frame.kind == "oversize":
            text = f"frame of {frame.size} bytes exceeds the limit of {self.max_frame_bytes}"
        else:
            text = "truncated frame: no end block before the next frame, a timeout or end of stream"
        issue = Hl7Issue(
            "MSH^1", SEGMENT_SEQUENCE if frame.kind == "truncated" else INTERNAL_ERROR, text
        )
        log.warning(
            "MLLP %s frame rejected", frame.kind, extra={**_ids(header), "bytes": frame.size}
        )
        return self._ack(header, "reject", [issue], "utf-8", "UNICODE UTF-8")

    def _ack(
        self,
        header: Header,
        outcome: AckOutcome,
        issues: list[Hl7Issue],
        codec: str,
        character_set: str,
    ) -> bytes | None:
        code = ack_code(header, outcome, enhanced=self.enhanced)
        self.metrics.messages.labels(_message_type_label(header), code).inc()
        if not should_send(header, outcome, enhanced=self.enhanced):
            return None
        text = issues[0].text if issues and outcome != "accepted" else ""
        ack = build_ack(
            header,
            code,
            issues,
            control_id=uuid.uuid4().hex[:20],
            timestamp=datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000"),
            text=text,
            character_set=character_set,
        )
        return (
            bytes([START_BLOCK])
            + ack.encode(codec, errors="replace")
            + bytes([END_BLOCK, CARRIAGE_RETURN])
        )

    def _log_refusal(self, header: Header, outcome: str, issues: list[Hl7Issue]) -> None:
        # locations and codes only: ERR texts may quote the sender's values
        log.warning(
            "HL7 message refused",
            extra={
                **_ids(header),
                "outcome": outcome,
                "errors": [f"{i.location} {i.code}" for i in issues],
            },
        )


async def start_mllp_server(
    accepter: Accepter,
    host: str,
    port: int,
    *,
    max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES,
    enhanced: bool = False,
    dedupe_size: int = DEFAULT_DEDUPE_SIZE,
    frame_timeout: float = DEFAULT_FRAME_TIMEOUT,
    accept_timeout: float = DEFAULT_ACCEPT_TIMEOUT,
    idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
    max_connections: int = DEFAULT_MAX_CONNECTIONS,
    max_resources: int = DEFAULT_MAX_RESOURCES,
    metrics: MllpMetrics | None = None,
    ssl: SSLContext | None = None,
    processing_ids: frozenset[str] = DEFAULT_PROCESSING_IDS,
    peers: PeerAllowList | None = None,
) -> asyncio.Server:
    """Listen for MLLP on host:port (port 0 picks a free one: see `server.sockets`); over TLS
    when `ssl` is given."""
    handler = MllpHandler(
        accepter,
        max_frame_bytes=max_frame_bytes,
        enhanced=enhanced,
        dedupe_size=dedupe_size,
        frame_timeout=frame_timeout,
        accept_timeout=accept_timeout,
        metrics=metrics or MllpMetrics(),
        idle_timeout=idle_timeout,
        max_resources=max_resources,
        processing_ids=processing_ids,
        peers=peers,
    )
    admission = Admission(
        "MLLP", max_connections, on_refused=handler.metrics.refused_connections.inc
    )
    return await asyncio.start_server(
        handler.serve, sock=listen_admitting(host, port, admission), ssl=ssl
    )


def _message_type_label(header: Header) -> str:
    """MSH-9 as a metric label: only supported types, so senders cannot mint label values."""
    if not header.message_type:
        return "unreadable"
    if header.trigger_event in SUPPORTED_EVENTS.get(header.message_type, ()):
        return header.kind
    return "unsupported"


def _ids(header: Header) -> dict[str, str]:
    return {
        "control_id": header.control_id,
        "facility": header.sending_facility,
        "message_type": header.kind,
    }


def _from_issue(issue: Issue, sources: list[str]) -> Hl7Issue:
    """An Accepter issue (FHIRPath) as an ERR: located at the segment the resource came from."""
    # the Accepter numbers an issue by resource ("resource 2: ..."); a Bundle names its entry.
    # A bracket deeper in the expression (`coding[0]`) is not the resource's position.
    match = re.match(r"resource (\d+):", issue.diagnostics) or re.match(
        r"Bundle\.entry\[(\d+)\]", issue.expression or ""
    )
    index = int(match[1]) if match else (0 if len(sources) == 1 else -1)
    location = sources[index] if 0 <= index < len(sources) else "MSH^1"
    code = {
        "required": "101",
        "value": "102",
        "invalid": "102",
        "structure": "102",
        "code-invalid": "103",
        "not-found": "204",
        "duplicate": "205",
    }.get(issue.code, INTERNAL_ERROR)
    where = f" ({issue.expression})" if issue.expression else ""
    return Hl7Issue(location, code, f"{issue.diagnostics}{where}")
