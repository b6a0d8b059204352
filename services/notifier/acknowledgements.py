"""Closing the loop: read the notifier's MESH inbox and record what became of each GP document.

Each poll downloads what waits in the inbox, records what it means on `rmbc.alerts.v1`, and only
then acknowledges it in MESH (a crash in between reads it again; the ledger turns the repeat into
nothing). An ITK3 infrastructure acknowledgement records `delivered`; a business acknowledgement
`filed` or `patient_not_registered`; any other negative code `rejected`; a MESH report about our
message `not_collected` (error 14) or `rejected`. A negative outcome tells the CNS team "the GP
practice could not be told", once: the notice has its own deterministic alert id in the ledger.
Sources: see `itk3_response.py`; GPCM-SD-094/095 (nhsconnect/gpconnect-messaging) ask the sender
to inform an appropriate person when a document is not received or acknowledged.
"""

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from services.notifier.channels import DeliveryChannel, InboxMessage
from services.notifier.cns_email import gp_not_told_email
from services.notifier.decisions import alert_id as planned_alert_id
from services.notifier.delivery import Recorder
from services.notifier.itk3_response import (
    Outcome,
    acknowledgement_outcome,
    read_acknowledgement,
    report_outcome,
)
from services.notifier.ledger import Entry, Ledger
from services.notifier.metrics import NotifierMetrics
from services.notifier.overdue import overdue
from shared.events import AlertEvent, AlertOutcome, stable_id

log = logging.getLogger(__name__)
INBOX_BATCH = 100


class Inbox(Protocol):
    async def collect(self, limit: int) -> list[InboxMessage]: ...

    async def acknowledge(self, message_id: str) -> None: ...


def gp_not_told_id(flag_id: str, team_email: str) -> str:
    return planned_alert_id(flag_id, team_email, "gp_not_told")


class AcknowledgementReader:
    def __init__(
        self,
        inbox: Inbox,
        smtp: DeliveryChannel,
        ledger: Ledger,
        recorder: Recorder,
        *,
        ack_workflow_id: str,
        smtp_from: str,
        clock: Callable[[], datetime],
        metrics: NotifierMetrics,
        answer_within: timedelta = timedelta(days=5),
    ) -> None:
        self._inbox = inbox
        self._smtp = smtp
        self._ledger = ledger
        self._recorder = recorder
        self._ack_workflow_id = ack_workflow_id
        self._smtp_from = smtp_from
        self._clock = clock
        self._metrics = metrics
        self._answer_within = answer_within

    async def run(self, stop: asyncio.Event, every_seconds: float) -> None:
        while not stop.is_set():
            try:
                await self.poll_once()
            except Exception as error:  # MESH or SMTP unreachable: the inbox waits for us
                log.warning("inbox poll failed", extra={"error": type(error).__name__})
                self._metrics.inbox_poll_failures.inc()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every_seconds)

    async def poll_once(self) -> int:
        """Handle what waits in the inbox; return how many messages were handled."""
        messages = await self._inbox.collect(INBOX_BATCH)
        for message in messages:
            await self._handle(message)
            await self._inbox.acknowledge(message.message_id)
        await self._overdue()  # after the inbox: an answer that came in time counts
        return len(messages)

    async def _overdue(self) -> None:
        for entry, meaning in overdue(
            self._ledger.awaiting_answer(), self._clock(), self._answer_within
        ):
            assert entry.event is not None  # `overdue` passes only entries with an event
            await self._record(entry, entry.event, meaning.outcome, meaning.detail, None)
            log.warning(
                "GP document not answered in time",
                extra={"alert_id": entry.alert_id, "outcome": meaning.outcome},
            )
            await self._tell_cns_team(entry, entry.event, meaning)

    async def _handle(self, message: InboxMessage) -> None:
        if message.message_type == "REPORT":
            about = message.local_id
            meaning = report_outcome(message.status_code, message.status_description)
        elif message.workflow_id == self._ack_workflow_id:
            try:
                ack = read_acknowledgement(message.body)
            except ValueError as error:
                self._unreadable(message, f"unreadable acknowledgement: {error}"[:300])
                return
            about, meaning = ack.answers, acknowledgement_outcome(ack)
        else:
            self._unreadable(message, f"unexpected workflow {message.workflow_id}")
            return
        entry = self._ledger.get(about) if about else None
        if entry is None or entry.channel != "mesh" or entry.event is None:
            self._unreadable(message, "about no GP document rmbc knows")
            return
        if self._ledger.advances(entry.alert_id, meaning.outcome):
            await self._record(
                entry, entry.event, meaning.outcome, meaning.detail, message.message_id
            )
            log.info(
                "GP document answered",
                extra={"alert_id": entry.alert_id, "outcome": meaning.outcome},
            )
        if meaning.negative:
            await self._tell_cns_team(entry, entry.event, meaning)

    def _unreadable(self, message: InboxMessage, reason: str) -> None:
        """Kept out of the ledger, counted and logged; acknowledged, since it cannot improve."""
        self._metrics.inbox_unmatched.inc()
        log.warning(
            "inbox message not matched",
            extra={"message_id": message.message_id, "reason": reason},
        )

    async def _record(
        self,
        entry: Entry,
        last: AlertEvent,
        outcome: AlertOutcome,
        detail: str,
        transport_id: str | None,
    ) -> None:
        now = self._clock()
        event = last.model_copy(
            update={
                "event_id": stable_id("alert-event", entry.alert_id, str(entry.attempt), outcome),
                "occurred_at": now,
                "recorded_at": now,
                "outcome": outcome,
                "detail": detail,
                "transport_id": transport_id,
            }
        )
        await self._recorder.alert(event, None)

    async def _tell_cns_team(self, gp: Entry, gp_event: AlertEvent, meaning: Outcome) -> None:
        team_alerts = [
            e
            for e in self._ledger.for_flag(gp.flag_id)
            if e.channel == "smtp"
            and e.alert_id == planned_alert_id(gp.flag_id, e.recipient, "alert")
        ]
        if not team_alerts:
            log.error("GP not told and no CNS alert to follow", extra={"alert_id": gp.alert_id})
            return
        team = team_alerts[0]
        notice_id = gp_not_told_id(gp.flag_id, team.recipient)
        if self._ledger.is_final(notice_id):
            return
        earlier = self._ledger.get(notice_id)
        attempt = (earlier.attempt if earlier else 0) + 1
        notice = Entry(notice_id, gp.flag_id, "smtp", team.recipient, "queued", attempt)
        base = gp_event.model_copy(
            update={
                "alert_id": notice_id,
                "channel": "smtp",
                "recipient": team.recipient,
                "attempt": attempt,
            }
        )
        detail = f"GP not told: {meaning.detail}"
        await self._record(notice, base, "attempting", detail, None)
        email = gp_not_told_email(
            notice_id=notice_id,
            cns_alert_id=team.alert_id,
            gp_alert_id=gp.alert_id,
            reason=meaning.detail,
            sender=self._smtp_from,
            recipient=team.recipient,
            sent_at=self._clock(),
        )
        try:
            await self._smtp.send(email)
        except Exception as error:
            failure = f"{type(error).__name__}: {error}"[:500]
            await self._record(notice, base, "failed", failure, None)
            raise  # the acknowledgement stays in the inbox: the next poll tries again
        await self._record(notice, base, "sent", detail, email.message_id)
