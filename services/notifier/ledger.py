"""The send ledger: alert id -> latest known outcome, rebuilt from `rmbc.alerts.v1` (pure).

Applying is monotonic - an entry only moves forward by (attempt, rank) - so the same events read
twice, or read back after being recorded locally, never move an alert backwards.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from services.notifier.decisions import Channel, EarlierAlert
from shared.events import AlertEvent, AlertOutcome, CancerFlag, stable_id

SERVICE = "notifier"
State = AlertOutcome | Literal["queued"]
# `escalated` is the worklist's escalation of an unacknowledged alert (its own alert id)
FINAL: frozenset[State] = frozenset(
    {"sent", "already_sent", "unroutable", "dead_lettered", "escalated"}
)
DELIVERED: frozenset[State] = frozenset({"sent", "already_sent"})
_RANK: dict[State, int] = {
    "queued": 0,
    "attempting": 1,
    "failed": 2,
    "dead_lettered": 3,
    "unroutable": 4,
    "sent": 4,
    "already_sent": 4,
    "escalated": 4,
}


@dataclass(frozen=True)
class Entry:
    alert_id: str
    flag_id: str
    channel: Channel
    recipient: str
    outcome: State
    attempt: int


class Ledger:
    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._by_flag: dict[str, dict[str, None]] = {}

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
            )
        )

    def queue(self, alert_id: str, flag_id: str, channel: Channel, recipient: str) -> None:
        """Known in this process before its first attempt is recorded."""
        self._put(Entry(alert_id, flag_id, channel, recipient, "queued", 0))

    def for_flag(self, flag_id: str) -> list[EarlierAlert]:
        return [
            EarlierAlert(e.alert_id, e.channel, e.recipient, e.outcome)
            for e in (self._entries[a] for a in self._by_flag.get(flag_id, {}))
        ]

    def _put(self, entry: Entry) -> None:
        current = self._entries.get(entry.alert_id)
        if current is not None and (current.attempt, _RANK[current.outcome]) > (
            entry.attempt,
            _RANK[entry.outcome],
        ):
            return
        self._entries[entry.alert_id] = entry
        self._by_flag.setdefault(entry.flag_id, {})[entry.alert_id] = None


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
    )
