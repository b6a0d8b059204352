"""Nothing falls through: an alert e-mailed to a breast CNS team that no one acknowledged within N
working days is escalated once, by e-mail, to the team's MDT lead (pure).

What counts, read from the topics (services/worklist/escalation_loop.py feeds them in):
- an alert: an `AlertEvent` on rmbc.alerts.v1 with channel `smtp` and outcome `sent` (or
  `already_sent`) for a flag that was not retracted; one flag's alerts to one team are one item,
  due from the first of them;
- acknowledged: any `acknowledged` review of the flag on rmbc.reviews.v1;
- retracted: the flag's latest state on rmbc.cancer-flags.v1 (or on an alert event) is
  `retracted`: a retracted flag is never escalated;
- overdue: services/worklist/overdue.py (working days of England and Wales, Europe/London).

An escalation has its own alert id, `stable_id("escalation", flag id, team address)`, and its
attempts and outcome go on rmbc.alerts.v1 like any alert's: `attempting` before the e-mail,
`escalated` after it, `failed` when it could not go (tried again), `unroutable` when the team has
no MDT lead in the directory. The notifier's send ledger (services/notifier/ledger.py) reads them,
and so does this: an escalation whose outcome is final is never sent again, across restarts.
The e-mail names no patient: it gives the references the worklist finds the item by.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from services.notifier.cns_email import Email
from services.notifier.directory import CnsTeam, Directory
from services.notifier.ledger import Ledger
from services.notifier.mime import Part, multipart
from services.worklist.overdue import LONDON, Calendar, acknowledgement_due
from shared.events import AlertEvent, AlertOutcome, CancerFlag, FlagState, ReviewEvent, stable_id

SOURCE = "worklist-escalation"
DELIVERED: frozenset[AlertOutcome] = frozenset({"sent", "already_sent"})


def escalation_id(flag_id: str, team_email: str) -> str:
    return stable_id("escalation", flag_id, team_email.strip().lower())


@dataclass(frozen=True)
class TeamAlert:
    """A flag's first alert that reached a CNS team."""

    alert_id: str
    flag_id: str
    flag_state: FlagState
    flag_revision: int
    team_email: str
    alerted_at: datetime
    correlation_id: str


@dataclass(frozen=True)
class Escalation:
    escalation_id: str
    alert: TeamAlert
    due_at: datetime
    team: CnsTeam | None  # None: the address is no longer a team in the directory
    attempt: int  # this attempt's number

    @property
    def mdt_lead_email(self) -> str | None:
        lead = self.team.mdt_lead if self.team else None
        return lead.email if lead else None


class Watch:
    """The open team alerts, acknowledgements, retractions and escalations seen so far."""

    def __init__(self) -> None:
        self._alerts: dict[str, TeamAlert] = {}  # escalation id -> the item's first alert
        self._acknowledged: set[str] = set()  # flag ids
        self._flag_states: dict[str, tuple[int, FlagState]] = {}  # flag id -> latest revision
        self.ledger = Ledger()  # escalations' outcomes, by escalation id

    def hear_alert(self, event: AlertEvent) -> None:
        self.ledger.apply(event)
        self._hear_flag_state(event.flag_id, event.flag_revision, event.flag_state)
        if event.channel != "smtp" or event.outcome not in DELIVERED:
            return
        if event.flag_state == "retracted":
            return  # a correction, not an item to act on
        key = escalation_id(event.flag_id, event.recipient)
        first = self._alerts.get(key)
        if first is None or event.occurred_at < first.alerted_at:
            self._alerts[key] = TeamAlert(
                event.alert_id,
                event.flag_id,
                event.flag_state,
                event.flag_revision,
                event.recipient,
                event.occurred_at,
                event.correlation_id,
            )

    def hear_review(self, review: ReviewEvent) -> None:
        if review.action == "acknowledged":
            self._acknowledged.add(review.flag_id)

    def hear_flag(self, flag: CancerFlag) -> None:
        self._hear_flag_state(flag.flag_id, flag.revision, flag.state)

    def _hear_flag_state(self, flag_id: str, revision: int, state: FlagState) -> None:
        known = self._flag_states.get(flag_id)
        if known is None or revision >= known[0]:
            self._flag_states[flag_id] = (revision, state)

    def is_retracted(self, flag_id: str) -> bool:
        known = self._flag_states.get(flag_id)
        return known is not None and known[1] == "retracted"

    def due(
        self,
        now: datetime,
        working_days: int,
        holidays: Calendar,
        teams: Mapping[str, CnsTeam],
    ) -> list[Escalation]:
        """Every escalation that must go now, oldest alert first. `teams`: by lower-case address."""
        due = []
        for key, alert in self._alerts.items():
            if alert.flag_id in self._acknowledged or self.is_retracted(alert.flag_id):
                continue
            if self.ledger.is_final(key):
                continue
            due_at = acknowledgement_due(alert.alerted_at, working_days, holidays)
            if now < due_at:
                continue
            earlier = self.ledger.get(key)
            team = teams.get(alert.team_email.strip().lower())
            due.append(Escalation(key, alert, due_at, team, earlier.attempt + 1 if earlier else 1))
        return sorted(due, key=lambda e: e.alert.alerted_at)


def teams_by_email(directory: Directory) -> dict[str, CnsTeam]:
    """Every CNS team of the directory (the fallback team too), by lower-case team address."""
    teams = [provider.cns_team for provider in directory.providers.values()]
    if directory.fallback_cns_team is not None:
        teams.append(directory.fallback_cns_team)
    return {team.email.strip().lower(): team for team in teams}


def escalation_event(
    escalation: Escalation,
    outcome: AlertOutcome,
    now: datetime,
    *,
    transport_id: str | None = None,
    detail: str | None = None,
) -> AlertEvent:
    """The escalation's attempt or outcome as recorded on rmbc.alerts.v1."""
    alert = escalation.alert
    return AlertEvent(
        event_id=stable_id(
            "alert-event", escalation.escalation_id, str(escalation.attempt), outcome
        ),
        occurred_at=now,
        recorded_at=now,
        source=SOURCE,
        correlation_id=alert.correlation_id,
        alert_id=escalation.escalation_id,
        flag_id=alert.flag_id,
        flag_state=alert.flag_state,
        flag_revision=alert.flag_revision,
        channel="smtp",
        recipient=escalation.mdt_lead_email or f"mdt-lead:{alert.team_email}",
        attempt=escalation.attempt,
        outcome=outcome,
        transport_id=transport_id,
        detail=detail
        or f"alert {alert.alert_id} to {alert.team_email} not acknowledged by "
        f"{escalation.due_at.isoformat()}",
    )


def escalation_email(
    escalation: Escalation,
    *,
    sender: str,
    working_days: int,
    worklist_url: str | None,
    now: datetime,
) -> Email:
    """The e-mail to the MDT lead. No patient identifier: the references find the item."""
    assert escalation.team is not None and escalation.team.mdt_lead is not None
    alert, team, lead = escalation.alert, escalation.team, escalation.team.mdt_lead
    message_id = f"<{escalation.escalation_id}@rmbc>"
    lines = [
        f"Dear {lead.name},",
        "",
        f"An rmbc alert sent to {team.name} on {_spoken(alert.alerted_at)} has not been "
        f"acknowledged within {working_days} working days (due by the end of "
        f"{_spoken(escalation.due_at, end_of_previous_day=True)}).",
        "",
        "Please make sure a clinical nurse specialist picks it up.",
        "",
        f"Finding reference: {alert.flag_id}",
        f"Alert reference: {alert.alert_id}",
    ]
    if worklist_url:
        lines.append(f"Worklist: {worklist_url}")
    lines += ["", "This e-mail is sent once for this alert."]
    headers = [
        ("From", sender),
        ("To", lead.email),
        ("Subject", f"[rmbc Overdue] alert not acknowledged - ref {alert.alert_id[:8]}"),
        ("Date", format_datetime(now)),
        ("Message-ID", message_id),
        ("References", f"<{alert.alert_id}@rmbc>"),
    ]
    body = ("\n".join(lines) + "\n").encode()
    data = multipart(
        headers,
        "alternative",
        [Part('text/plain; charset="utf-8"', body)],
        boundary=f"=_rmbc_{escalation.escalation_id}",
    )
    return Email(sender, lead.email, message_id, data)


def _spoken(moment: datetime, *, end_of_previous_day: bool = False) -> str:
    """A date as the NHS service manual writes it, e.g. '3 December 2026', in London time."""
    day = moment.astimezone(LONDON).date()
    if end_of_previous_day:
        day = day.fromordinal(day.toordinal() - 1)
    return f"{day.day} {day:%B %Y}"
