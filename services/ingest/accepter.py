"""The accepter: the core both edges (HTTP, MLLP) call through `ports.Accepter`. It validates,
decides (`acceptance.plan`), publishes, then remembers the accepted Patients.

Two limits hold here, for both edges:
- no event larger than the topic stores: such a resource is refused as too costly (413 / AR), not
  handed to the broker to fail as an outage (503 / transient);
- a large request shares the event loop: validation, the bulk of a request's CPU, hands the loop
  back every few milliseconds, so /healthz and other senders are answered meanwhile.
"""

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from services.ingest.acceptance import Accepted, Outcome, Refused, ResourceInRequest, plan
from services.ingest.errors import InvalidInput, Issue, refusal_status
from services.ingest.metrics import IngestMetrics
from services.ingest.patients import PatientIndex
from services.ingest.ports import PartlyAccepted
from services.ingest.publisher import (
    DOCUMENTED_MAX_MESSAGE_BYTES,
    RECORD_OVERHEAD_BYTES,
    Publisher,
    fits,
)
from services.ingest.validation import resource_issues
from shared.codec import encode
from shared.events import ClinicalEvent, Sender

log = logging.getLogger(__name__)

YIELD_EVERY_SECONDS = 0.005  # the longest stretch of validation before the loop gets a turn


class PublishingAccepter:
    """Implements `ports.Accepter`. Nothing is published for a request with a refused resource
    unless the caller asked for atomic=False (a FHIR batch)."""

    def __init__(
        self,
        publisher: Publisher,
        *,
        topic: str,
        index: PatientIndex,
        metrics: IngestMetrics,
        clock: Callable[[], datetime],
        new_correlation_id: Callable[[], str],
        accept_test_numbers: bool,
        max_message_bytes: Callable[[], int] = lambda: DOCUMENTED_MAX_MESSAGE_BYTES,
    ) -> None:
        self.publisher = publisher
        self.accept_test_numbers = accept_test_numbers
        self.max_message_bytes = max_message_bytes
        self.topic = topic
        self.index = index
        self.metrics = metrics
        self.clock = clock
        self.new_correlation_id = new_correlation_id

    async def accept(
        self,
        resources: Sequence[dict[str, Any] | ResourceInRequest],
        sender: Sender,
        *,
        atomic: bool = True,
        correlation_id: str | None = None,
    ) -> list[ClinicalEvent]:
        """See `ports.Accepter`."""
        placed = [_placed(resource) for resource in resources]
        outcomes = await self._process(placed, sender, atomic=atomic, correlation_id=correlation_id)
        # a bare resource's FHIRPath starts at its type: with several, name its position
        numbered = len(placed) > 1
        issues = [
            _numbered(issue, position)
            if numbered and not isinstance(resources[position], ResourceInRequest)
            else issue
            for position, outcome in enumerate(outcomes)
            if isinstance(outcome, Refused)
            for issue in outcome.issues
        ]
        accepted = [o.event for o in outcomes if isinstance(o, Accepted)]
        if issues and atomic:
            raise InvalidInput(issues, status=refusal_status(issues))
        if issues:
            raise PartlyAccepted(issues, accepted=accepted, outcomes=outcomes)
        return accepted

    async def _process(
        self,
        items: list[ResourceInRequest],
        sender: Sender,
        *,
        atomic: bool,
        correlation_id: str | None,
    ) -> list[Outcome]:
        """Plan every item; publish the accepted ones unless atomic and something was refused."""
        # an MLLP message is traced by its control id (MSH-10), as the sender's engine knows it
        mllp_id = sender.message_id if sender.channel == "mllp" else None
        correlation = correlation_id or mllp_id or self.new_correlation_id()
        outcomes = plan(
            items,
            index=self.index,
            sender=sender,
            correlation_id=correlation,
            now=self.clock(),
            accept_test_numbers=self.accept_test_numbers,
            checked=await self._validate(items),
        )
        outcomes, messages = self._encode(items, outcomes)
        events = [o.event for o in outcomes if isinstance(o, Accepted)]
        if atomic and len(events) < len(outcomes):
            return outcomes
        if events:
            await self._publish(events, messages, sender)
        log.info(
            "accepted",
            extra={
                "correlation_id": correlation,
                "channel": sender.channel,
                "accepted": len(events),
                "refused": len(outcomes) - len(events),
            },
        )
        return outcomes

    async def _validate(self, items: list[ResourceInRequest]) -> list[list[Issue]]:
        """Each item's issues, yielding to the event loop every YIELD_EVERY_SECONDS."""
        issues = []
        started = time.perf_counter()
        for item in items:
            issues.append(resource_issues(item.resource, item.at))
            if time.perf_counter() - started > YIELD_EVERY_SECONDS:
                await asyncio.sleep(0)
                started = time.perf_counter()
        return issues

    def _encode(
        self, items: list[ResourceInRequest], outcomes: list[Outcome]
    ) -> tuple[list[Outcome], list[tuple[bytes, bytes]]]:
        """The accepted events as Kafka records; an event the topic cannot store is refused."""
        limit = self.max_message_bytes()
        checked: list[Outcome] = []
        messages = []
        for item, outcome in zip(items, outcomes, strict=True):
            if isinstance(outcome, Accepted):
                key, value = outcome.event.patient_key.encode(), encode(outcome.event)
                if not fits(key, value, limit):
                    most = limit - RECORD_OVERHEAD_BYTES - len(key)
                    text = (
                        f"As an event this resource takes {len(value)} bytes; the event store "
                        f"takes at most {most}. Send less in this resource."
                    )
                    outcome = Refused([Issue("too-costly", text, item.at)])
                else:
                    messages.append((key, value))
            checked.append(outcome)
        return checked, messages

    async def _publish(
        self, events: list[ClinicalEvent], messages: list[tuple[bytes, bytes]], sender: Sender
    ) -> None:
        started = time.perf_counter()
        await self.publisher.publish(self.topic, messages)
        self.metrics.publish_seconds.observe(time.perf_counter() - started)
        for event in events:
            self.metrics.accepted.labels(sender.channel, event.resource_type).inc()
            if event.resource_type == "Patient" and event.patient is not None:
                self.index.remember(event.patient)


def _placed(resource: Any) -> ResourceInRequest:
    """A resource given bare sits in the request at its type (`Observation.status`)."""
    if isinstance(resource, ResourceInRequest):
        return resource
    if isinstance(resource, dict) and isinstance(resource.get("resourceType"), str):
        return ResourceInRequest(resource, str(resource["resourceType"]))
    return ResourceInRequest(resource, "Resource")


def _numbered(issue: Issue, position: int) -> Issue:
    return dataclasses.replace(issue, diagnostics=f"resource {position}: {issue.diagnostics}")
