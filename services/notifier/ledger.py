"""The send ledger: alert id -> latest known outcome, rebuilt from `rmbc.alerts.v1` (pure).

Applying is monotonic - an entry only moves forward by (attempt, rank) - so the same events read
twice, or read back after being recorded locally, never move an alert backwards.
"""

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Literal

from services.notifier.decisions import Channel, EarlierAlert, Told, told_by
from shared.events import AlertEvent, AlertOutcome, CancerFlag, stable_id

SERVICE = "notifier"
State = AlertOutcome | Literal["queued"]
# after MESH accepted a GP document: what the practice's acknowledgements or MESH's reports said
ANSWERED: frozenset[State] = frozenset(
    {"delivered", "filed", "patient_not_registered", "rejected", "not_collected", "not_filed"}
)
# a GP document in one of these states still waits for the practice's (next) answer
AWAITING_ANSWER: frozenset[State] = frozenset({"sent", "already_sent", "delivered"})
# `escalated` is the worklist's escalation of an unacknowledged alert (its own alert id)
FINAL: frozenset[State] = ANSWERED | {
    "sent",
    "already_sent",
    "unroutable",
    "dead_lettered",
    "escalated",
}
DELIVERED: frozenset[State] = frozenset({"sent", "already_sent"})
_RANK: dict[State, int] = {
    "queued": 0,
    "attempting": 1,
    "uploading": 2,
    "failed": 3,
    "dead_lettered": 4,
    "unroutable": 5,
    "sent": 5,
    "already_sent": 5,
    "escalated": 5,
    "delivered": 6,  # the practice's system took it in (infrastructure acknowledgement)
    "not_collected": 7,  # no answer in time (or MESH's expiry report): a late answer still counts
    "not_filed": 7,
    "filed": 8,  # the last word: filed, or why not
    "patient_not_registered": 8,
    "rejected": 8,
}


@dataclass(frozen=True)
class Entry:
    alert_id: str
    flag_id: str
    channel: Channel
    recipient: str
    outcome: State
    attempt: int
    event: AlertEvent | None = None  # the latest event recorded (None while only queued)
    transport_id: str | None = None  # the latest transport id any of its events recorded
    revision: int = 1  # the flag revision the alert was planned for
    told: Told | None = None  # what its document states (None: not recorded)


class Ledger:
    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._by_flag: dict[str, dict[str, None]] = {}
        self._awaiting: dict[str, None] = {}  # GP documents waiting for the practice's answer

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, alert_id: str) -> Entry | None:
        return self._entries.get(alert_id)

    def is_final(self, alert_id: str) -> bool:
        entry = self._entries.get(alert_id)
        return entry is not None and entry.outcome in FINAL

    def apply(self, event: AlertEvent) -> None:
        self._put(
            Entry(
                event.alert_id,
                event.flag_id,
                event.channel,
                event.recipient,
                event.outcome,
                event.attempt,
                event,
                event.transport_id,
                event.flag_revision,
                _told(event),
            )
        )

    def advances(self, alert_id: str, outcome: State) -> bool:
        """Whether recording `outcome` (at the entry's attempt) would move the alert forward."""
        entry = self._entries.get(alert_id)
        return entry is None or _RANK[outcome] > _RANK[entry.outcome]

    def queue(self, alert_id: str, flag: CancerFlag, channel: Channel, recipient: str) -> None:
        """Known in this process before its first attempt is recorded."""
        entry = Entry(alert_id, flag.flag_id, channel, recipient, "queued", 0)
        self._put(replace(entry, revision=flag.revision, told=told_by(flag)))

    def awaiting_answer(self) -> list[Entry]:
        """GP documents MESH accepted that the practice has not yet filed (or refused)."""
        return [self._entries[a] for a in self._awaiting]

    def for_flag(self, flag_id: str) -> list[EarlierAlert]:
        return [
            EarlierAlert(e.alert_id, e.channel, e.recipient, e.outcome, e.revision, e.told)
            for e in (self._entries[a] for a in self._by_flag.get(flag_id, {}))
        ]

    def _put(self, entry: Entry) -> None:
        current = self._entries.get(entry.alert_id)
        if current is not None and (current.attempt, _RANK[current.outcome]) > (
            entry.attempt,
            _RANK[entry.outcome],
        ):
            return
        if entry.transport_id is None and current is not None and current.transport_id:
            entry = replace(entry, transport_id=current.transport_id)
        if entry.told is None and current is not None and current.told is not None:
            entry = replace(entry, told=current.told)
        self._entries[entry.alert_id] = entry
        self._by_flag.setdefault(entry.flag_id, {})[entry.alert_id] = None
        if entry.channel == "mesh" and entry.outcome in AWAITING_ANSWER:
            self._awaiting[entry.alert_id] = None
        else:
            self._awaiting.pop(entry.alert_id, None)


def alert_event(
    flag: CancerFlag,
    *,
    alert_id: str,
    channel: Channel,
    recipient: str,
    attempt: int,
    outcome: AlertOutcome,
    now: datetime,
    transport_id: str | None = None,
    detail: str | None = None,
) -> AlertEvent:
    told = told_by(flag)
    return AlertEvent(
        event_id=stable_id("alert-event", alert_id, str(attempt), outcome),
        occurred_at=now,
        recorded_at=now,
        source=SERVICE,
        correlation_id=flag.correlation_id,
        alert_id=alert_id,
        flag_id=flag.flag_id,
        flag_state=flag.state,
        flag_revision=flag.revision,
        channel=channel,
        recipient=recipient,
        attempt=attempt,
        outcome=outcome,
        transport_id=transport_id,
        detail=detail,
        told_sites=sorted(told.sites),
        told_evidence=sorted(told.evidence),
    )


def _told(event: AlertEvent) -> Told | None:
    if event.told_sites is None or event.told_evidence is None:
        return None
    return Told(frozenset(event.told_sites), frozenset(event.told_evidence))
