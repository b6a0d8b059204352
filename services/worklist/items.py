"""The worklist read model (pure): one item per flag, built from three topics.

`rmbc.cancer-flags.v1` gives the finding and every change of it, `rmbc.alerts.v1` the CNS e-mail
and the GP document's delivery, `rmbc.reviews.v1` what people did. Events may come twice (a
restart re-reads the topics) and in any order across topics: each is applied once, by its id, and
an item is shown only once its flag is known. No clock, no I/O: the shell feeds events in.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, TypeVar, get_args

from shared.events import AlertEvent, CancerFlag, Envelope, ReviewAction, ReviewEvent

E = TypeVar("E", CancerFlag, AlertEvent, ReviewEvent)
ItemState = Literal[
    "open",
    "acknowledged",
    "contacted",
    "confirmed",
    "not_confirmed",
    "more_information",
    "closed",
]
ITEM_STATES: tuple[ItemState, ...] = get_args(ItemState)
STATE_WORDS: dict[ItemState, str] = {
    "open": "Open",
    "acknowledged": "Acknowledged",
    "contacted": "Patient contacted",
    "confirmed": "Confirmed by MDT",
    "not_confirmed": "Not confirmed by MDT",
    "more_information": "More information needed",
    "closed": "Closed (flag retracted)",
}
_STATE_AFTER: dict[ReviewAction, ItemState] = {
    "acknowledged": "acknowledged",
    "patient_contacted": "contacted",
    "confirmed": "confirmed",
    "not_confirmed": "not_confirmed",
    "more_information_needed": "more_information",
}


@dataclass
class WorklistItem:
    """Everything known about one flag: its changes, alerts and the people's reviews, in order."""

    flag_id: str
    default_trust: str | None = None  # the trust of a patient whose treating trust is not known
    flags: list[CancerFlag] = field(default_factory=list)
    alerts: list[AlertEvent] = field(default_factory=list)
    reviews: list[ReviewEvent] = field(default_factory=list)

    @property
    def known(self) -> bool:
        """Shown only once its flag has arrived (an alert or review may be read first)."""
        return bool(self.flags)

    @property
    def flag(self) -> CancerFlag:
        """The flag as it is now: its highest revision."""
        return self.flags[-1]

    @property
    def trust_ods(self) -> str | None:
        """The patient's treating trust, else the worklist's default: no item is left unseen."""
        return self.flag.patient.provider_ods or self.default_trust

    @property
    def latest_review(self) -> ReviewEvent | None:
        return self.reviews[-1] if self.reviews else None

    @property
    def state(self) -> ItemState:
        if self.flag.state == "retracted":
            return "closed"
        latest = self.latest_review
        return _STATE_AFTER[latest.action] if latest else "open"

    @property
    def closed_reason(self) -> str | None:
        return self.flag.reason if self.state == "closed" else None

    @property
    def raised_at(self) -> datetime:
        """When rmbc first recorded the finding."""
        return self.flags[0].recorded_at

    @property
    def alerted_at(self) -> datetime:
        """When the CNS team was first told (the e-mail sent), else when the flag was raised."""
        sent = [a.occurred_at for a in self.alerts if a.channel == "smtp" and a.outcome == "sent"]
        return min(sent) if sent else self.raised_at

    @property
    def acknowledged_at(self) -> datetime | None:
        acks = [r.occurred_at for r in self.reviews if r.action == "acknowledged"]
        return min(acks) if acks else None

    @property
    def escalated_at(self) -> datetime | None:
        """When the unacknowledged alert was escalated to the team's MDT lead, if it was."""
        escalations = [a.occurred_at for a in self.alerts if a.outcome == "escalated"]
        return min(escalations) if escalations else None

    @property
    def gp_delivery(self) -> AlertEvent | None:
        """The latest word on the GP document (MESH), for the flag's latest revision first."""
        mesh = [a for a in self.alerts if a.channel == "mesh"]
        return max(mesh, key=lambda a: (a.flag_revision, a.attempt, a.recorded_at), default=None)

    @property
    def reviewed_revision_behind(self) -> bool:
        """The flag changed after the latest review: the reviewer saw an older finding."""
        latest = self.latest_review
        return latest is not None and latest.flag_revision < self.flag.revision

    @property
    def needs_acknowledgement(self) -> bool:
        return self.state != "closed" and self.acknowledged_at is None


@dataclass
class Worklist:
    """All items, by flag id. `apply` takes any event of the three topics; others are ignored.
    A flag without a treating trust goes to `default_trust`'s list."""

    default_trust: str | None = None
    items: dict[str, WorklistItem] = field(default_factory=dict)
    _seen: set[str] = field(default_factory=set)

    def apply(self, event: Envelope) -> bool:
        """Apply one event; False when it was already applied or is not the worklist's."""
        if not isinstance(event, (CancerFlag, AlertEvent, ReviewEvent)):
            return False
        if event.event_id in self._seen:
            return False
        self._seen.add(event.event_id)
        item = self.items.get(event.flag_id)
        if item is None:
            item = self.items[event.flag_id] = WorklistItem(event.flag_id, self.default_trust)
        if isinstance(event, CancerFlag):
            _insert(item.flags, event, lambda f: f.revision)
        elif isinstance(event, AlertEvent):
            _insert(item.alerts, event, lambda a: a.recorded_at)
        else:
            _insert(item.reviews, event, lambda r: r.recorded_at)
        return True

    def item(self, flag_id: str) -> WorklistItem | None:
        item = self.items.get(flag_id)
        return item if item and item.known else None

    def for_trust(self, trust_ods: str) -> list[WorklistItem]:
        return [i for i in self.items.values() if i.known and i.trust_ods == trust_ods]


def _insert(events: list[E], event: E, order: Callable[[E], Any]) -> None:
    """Keep `events` sorted by `order` (a stable sort: equal keys keep their arrival order)."""
    events.append(event)
    events.sort(key=order)
