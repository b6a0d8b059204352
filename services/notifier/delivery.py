"""Delivering planned alerts exactly once: attempt recorded before the send, outcome after.

Every alert runs as its own task, so a failing channel (or one slow recipient) never holds up
the other channel or other patients. Alerts of the same flag on the same channel run in order
(an alert before its correction). Sends are bounded per channel by a semaphore that is held
only during the call, never during a backoff.
"""

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.notifier.channels import DeliveryChannel
from services.notifier.decisions import Channel, Delivery
from services.notifier.ledger import Ledger, alert_event
from services.notifier.metrics import NotifierMetrics
from shared.dead_letter import dead_letter_for
from shared.events import AlertEvent, AlertOutcome, CancerFlag, DeadLetter

log = logging.getLogger(__name__)
SERVICE = "notifier"
UNDELIVERABLE = re.compile(r"^undeliverable alert (?P<alert_id>[0-9a-f-]{36}) ")


@dataclass(frozen=True)
class Job:
    flag: CancerFlag
    delivery: Delivery
    payload: Any
    source: Any  # the consumed record (topic/partition/offset/key/value), for dead letters
    redrive: bool = False  # re-open an alert that was dead-lettered


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: float
    max_seconds: float

    def delay(self, attempt: int) -> float:
        return float(min(self.max_seconds, self.base_seconds * 2 ** (attempt - 1)))


class Recorder:
    """Writes ledger events (and applies them locally) and dead letters; acks=all."""

    def __init__(
        self,
        publish: Callable[[str, bytes | None, Any], Awaitable[None]],
        ledger: Ledger,
        alerts_topic: str,
        dead_letter_topic: str,
        metrics: NotifierMetrics,
    ) -> None:
        self._publish = publish
        self._ledger = ledger
        self._alerts_topic = alerts_topic
        self._dead_letter_topic = dead_letter_topic
        self._metrics = metrics

    async def alert(self, event: AlertEvent, key: bytes | None) -> None:
        await self._publish(self._alerts_topic, key, event)
        self._ledger.apply(event)
        self._metrics.alerts.labels(event.channel, event.outcome).inc()

    async def dead_letter(self, event: DeadLetter) -> None:
        await self._publish(self._dead_letter_topic, None, event)
        self._metrics.dead_letters.inc()


class Deliverer:
    def __init__(
        self,
        channels: dict[Channel, DeliveryChannel],
        ledger: Ledger,
        recorder: Recorder,
        policy: RetryPolicy,
        clock: Callable[[], datetime],
        metrics: NotifierMetrics,
        concurrency: int = 4,
        pause_after_send: float = 0.0,
    ) -> None:
        self._channels = channels
        self._ledger = ledger
        self._recorder = recorder
        self._policy = policy
        self._clock = clock
        self._metrics = metrics
        self._limits = {name: asyncio.Semaphore(concurrency) for name in channels}
        self._pause_after_send = pause_after_send
        self._tails: dict[tuple[Channel, str], asyncio.Task[None]] = {}

    def submit(self, job: Job) -> "asyncio.Task[None]":
        d = job.delivery
        if not self._ledger.get(d.alert_id):
            self._ledger.queue(d.alert_id, job.flag.flag_id, d.channel, d.recipient)
        chain = (d.channel, job.flag.flag_id)
        task = asyncio.create_task(self._run(job, self._tails.get(chain)), name=d.alert_id)
        self._tails[chain] = task
        task.add_done_callback(lambda t: self._forget(chain, t))
        return task

    def _forget(self, chain: tuple[Channel, str], task: "asyncio.Task[None]") -> None:
        if self._tails.get(chain) is task:
            del self._tails[chain]

    async def _run(self, job: Job, previous: "asyncio.Task[None] | None") -> None:
        if previous is not None:
            await asyncio.wait([previous])
        d = job.delivery
        channel = self._channels[d.channel]
        reopen = job.redrive
        while reopen or not self._ledger.is_final(d.alert_id):
            reopen = False
            entry = self._ledger.get(d.alert_id)
            attempt = (entry.attempt if entry else 0) + 1
            unsure = entry is not None and entry.outcome in (
                "attempting",
                "failed",
                "dead_lettered",
            )
            if unsure and (went := await channel.already_sent(d.alert_id)) is not None:
                await self._record(job, attempt - 1, "already_sent", transport_id=went)
                return
            await self._record(job, attempt, "attempting")
            failure: Exception | None = None
            async with self._limits[d.channel]:
                try:
                    transport_id = await channel.send(job.payload)
                except Exception as error:  # recorded, retried, dead-lettered
                    failure = error
                else:
                    # The slot is held until `sent` is recorded, so at most `concurrency` sends per
                    # channel are ever done but unrecorded: the window a crash can repeat (SMTP).
                    if self._pause_after_send:
                        await asyncio.sleep(self._pause_after_send)
                    await self._record(job, attempt, "sent", transport_id=transport_id)
            if failure is not None:
                detail = f"{type(failure).__name__}: {failure}"[:500]
                log.warning(
                    "send failed",
                    extra={"alert_id": d.alert_id, "channel": d.channel, "attempt": attempt},
                )
                await self._record(job, attempt, "failed", detail=detail)
                if attempt >= self._policy.max_attempts:
                    await self._give_up(job, attempt, detail)
                    return
                await asyncio.sleep(self._policy.delay(attempt))
                continue
            self._metrics.latency.labels(d.channel).observe(
                max(0.0, (self._clock() - job.flag.recorded_at).total_seconds())
            )
            log.info(
                "alert sent",
                extra={"alert_id": d.alert_id, "channel": d.channel, "purpose": d.purpose},
            )

    async def _give_up(self, job: Job, attempt: int, detail: str) -> None:
        d = job.delivery
        reason = (
            f"undeliverable alert {d.alert_id} via {d.channel} to {d.recipient} "
            f"after {attempt} attempts: {detail}"
        )
        source = job.source
        await self._recorder.dead_letter(
            dead_letter_for(
                service=SERVICE,
                reason=reason,
                value=source.value,
                key=source.key,
                topic=source.topic,
                partition=source.partition,
                offset=source.offset,
                now=self._clock(),
                correlation_id=job.flag.correlation_id,
            )
        )
        await self._record(job, attempt, "dead_lettered", detail=detail)
        log.error("alert dead-lettered", extra={"alert_id": d.alert_id, "channel": d.channel})

    async def _record(
        self,
        job: Job,
        attempt: int,
        outcome: AlertOutcome,
        transport_id: str | None = None,
        detail: str | None = None,
    ) -> None:
        d = job.delivery
        event = alert_event(
            job.flag,
            alert_id=d.alert_id,
            channel=d.channel,
            recipient=d.recipient,
            attempt=max(attempt, 1),
            outcome=outcome,
            now=self._clock(),
            transport_id=transport_id,
            detail=detail,
        )
        await self._recorder.alert(event, job.flag.patient_key.encode())
