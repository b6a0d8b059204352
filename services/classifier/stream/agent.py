"""The agent: each clinical event through the pure core (`core.handle`) and out as flag changes.

Per event: decode, check its key and resource, classify it against the patient's state and send
the flag changes; once the broker acknowledges them, store the new state and let the event go for
commit (`in_flight`), so a crash in between re-emits the same flags (same event ids) rather than
losing them. An event that cannot be classified is dead-lettered with its reason; any other
failure stops the worker, and the restart replays the event (`stopping`).
"""

import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, Protocol

from services.classifier.bounds import fitted, refusal
from services.classifier.core import Change, handle
from services.classifier.flags import FlagContext
from services.classifier.state import PatientState
from services.classifier.stream.in_flight import InFlight
from services.classifier.stream.metrics import ClassifierMetrics
from services.classifier.stream.stopping import StopForReplay
from services.classifier.terminology import Terminology
from shared.attempts import Attempts, position
from shared.codec import UndecodableEvent, decode_as, encode
from shared.dead_letter import dead_letter_for_record
from shared.events import ClinicalEvent

SERVICE = "classifier"
RECORD_OVERHEAD = 512  # a record's framing and headers, besides its key and value
log = logging.getLogger("rmbc.classifier")


class Topic(Protocol):
    """Where records are sent (faust's Topic): `send` returns the broker's acknowledgement."""

    async def send(self, *, key: bytes | None, value: bytes) -> Awaitable[Any]: ...


@dataclass(frozen=True)
class Refused:
    """Why an event is dead-lettered rather than classified."""

    reason: str


@dataclass(frozen=True)
class Classified:
    """The patient's change, its flags encoded (with evidence items left out), its new state."""

    change: Change
    encoded: list[tuple[bytes, int]]
    state: bytes | None


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, kw_only=True, eq=False)
class ClassifyAgent:
    """The body of faust's agent (`run`); `table` holds each patient's stored state by key,
    `message_limit` is the largest record the broker takes."""

    terms: Terminology
    table: MutableMapping[bytes, bytes]
    flags: Topic
    dead_letters: Topic
    in_flight: InFlight
    stop: StopForReplay
    attempts: Attempts
    metrics: ClassifierMetrics
    message_limit: int
    clock: Callable[[], datetime] = utc_now

    async def run(self, stream: Any) -> None:
        # Yields nothing: a yielding agent costs faust a formatted debug line and a sink
        # dispatch per event.
        stream = stream.noack()  # each event is let go once what it caused is stored
        metrics = self.metrics
        async for event in stream.events():
            started = time.perf_counter()
            metrics.events.inc()
            now = self.clock()
            published = event.message.timestamp  # seconds; None or -1 from an old client
            if published and published > 0:
                metrics.age.observe(max(0.0, now.timestamp() - published))
            try:
                await self._take(stream, event, now)
            except Exception as error:
                # Neither classified nor let go (a flag the producer refused, say). faust would
                # restart the agent and go on with later events, this one never committed and
                # its flags never sent until some restart: stop now, so the restart is now.
                await self.stop(error, position(event.message))
                raise
            finally:
                metrics.latency.observe(time.perf_counter() - started)

    async def _take(self, stream: Any, event: Any, now: datetime) -> None:
        message = event.message
        clinical = self._admitted(message)
        if isinstance(clinical, Refused):
            await self._refuse(stream, event, clinical.reason, now)
            return
        key: bytes = message.key
        classified = self._classified(clinical, key, now)
        if isinstance(classified, Refused):
            await self._refuse(stream, event, classified.reason, now)
            return
        change, state = classified.change, classified.state
        deliveries = await self._send(classified, key, clinical.correlation_id)
        if deliveries or (change.changed and self.in_flight.is_held(key)):
            settle = partial(self._settle, stream, event, key, state)
            self.in_flight.hold(key, change.state, deliveries, settle, position(message))
            await self.in_flight.room()
        else:
            await self._settle(stream, event, key, state)

    def _admitted(self, message: Any) -> "ClinicalEvent | Refused":
        """The event, or why it is refused before it meets the patient's state."""
        exhausted = self.attempts.exhausted(position(message))
        if exhausted is not None:
            return Refused(exhausted)
        try:
            clinical = decode_as(message.value, ClinicalEvent)
        except UndecodableEvent as error:
            return Refused(str(error))
        key = message.key
        if key != clinical.patient_key.encode():
            # the key decides the partition, and with it whose state the event meets
            problem = "missing key" if key is None else "key is not the event's patient_key"
            return Refused(f"{problem}: records are keyed by the patient key")
        refused = refusal(clinical.resource)
        return clinical if refused is None else Refused(refused)

    def _classified(
        self, clinical: ClinicalEvent, key: bytes, now: datetime
    ) -> "Classified | Refused":
        """The patient's change with its flags encoded, or why the event cannot be classified."""
        limit = self.message_limit - len(key) - RECORD_OVERHEAD  # for a flag, and for the state
        try:
            change = handle(
                self.in_flight.state(key, self._stored),
                clinical.resource,
                clinical.patient,
                self.terms,
                FlagContext(
                    patient_key=clinical.patient_key,
                    now=now,
                    occurred_at=clinical.occurred_at,
                    correlation_id=clinical.correlation_id,
                ),
            )
            encoded = [fitted(flag, limit) for flag in change.flags]
            state = change.state.to_bytes() if change.changed else None
        except Exception as error:  # a rule bug must not stop every other patient
            log.exception("classification failed", extra={"event_id": clinical.event_id})
            return Refused(f"classification failed: {type(error).__name__}: {error}")
        if state is not None and len(state) > limit:
            # the state is one changelog record: this event would make it unstorable
            return Refused(f"the patient's state would be {len(state)} bytes, over {limit}")
        return Classified(change, encoded, state)

    async def _send(
        self, classified: "Classified", key: bytes, correlation_id: str
    ) -> list[Awaitable[Any]]:
        """Send the flag changes; their deliveries, to be awaited before the state is stored."""
        change, encoded = classified.change, classified.encoded
        deliveries = [await self.flags.send(key=key, value=value) for value, _ in encoded]
        for flag, (_, left_out) in zip(change.flags, encoded, strict=True):
            self.metrics.flags.labels(flag.state, flag.kind).inc()
            log.info(
                "flag %s",
                flag.state,
                extra={
                    "flag_id": flag.flag_id,
                    "kind": flag.kind,
                    "revision": flag.revision,
                    "correlation_id": correlation_id,
                    "evidence_left_out": left_out,
                },
            )
            if left_out:
                self.metrics.evidence_left_out.inc(left_out)
        return deliveries

    def _stored(self, key: bytes) -> PatientState:
        return PatientState.from_bytes(self.table.get(key))

    async def _settle(self, stream: Any, event: Any, key: bytes, state: bytes | None) -> None:
        """Store the patient's new state and let the event go for commit."""
        if state is not None:
            self.table[key] = state  # in the event's context: its partition
        self.attempts.done(position(event.message))
        await stream.ack(event)

    async def _refuse(self, stream: Any, event: Any, reason: str, now: datetime) -> None:
        """Dead-letter the event with its reason and let it go."""
        message = event.message
        letter = dead_letter_for_record(message, service=SERVICE, reason=reason, now=now)
        await (await self.dead_letters.send(key=message.key, value=encode(letter)))
        self.metrics.dead_letters.inc()
        log.warning(
            "dead-lettered an event",
            extra={"reason": reason, "partition": message.partition, "offset": message.offset},
        )
        self.attempts.done(position(message))
        await stream.ack(event)
