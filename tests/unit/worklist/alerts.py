"""rmbc.alerts.v1 events and a directory for escalation tests, as the notifier records them."""

from datetime import datetime
from typing import Any

from services.notifier.decisions import alert_id
from services.notifier.directory import Directory
from services.notifier.ledger import alert_event
from shared.events import AlertEvent
from tests.unit.notifier.factory import CNS_EMAIL, GP_MAILBOX, TRUST_ODS, flag

MDT_LEAD_EMAIL = "breast-mdt-lead@example-hospitals.nhs.net"


def team_alert(
    sent_at: datetime,
    *,
    outcome: str = "sent",
    channel: str = "smtp",
    state: str = "raised",
    revision: int = 1,
    **flag_overrides: Any,
) -> AlertEvent:
    """The notifier's record of an alert e-mailed to the CNS team (or sent to the GP, by MESH)."""
    flagged = flag(state=state, revision=revision, **flag_overrides)
    recipient = CNS_EMAIL if channel == "smtp" else GP_MAILBOX
    purpose = "correction" if state == "retracted" else "alert"
    return alert_event(
        flagged,
        alert_id=alert_id(flagged.flag_id, recipient, purpose),
        channel=channel,  # type: ignore[arg-type]
        recipient=recipient,
        attempt=1,
        outcome=outcome,  # type: ignore[arg-type]
        now=sent_at,
        transport_id="<x@rmbc>",
    )


def directory(*, with_mdt_lead: bool = True, mdt_lead_email: str = MDT_LEAD_EMAIL) -> Directory:
    team: dict[str, Any] = {"name": "Breast CNS team", "email": CNS_EMAIL}
    if with_mdt_lead:
        team["mdt_lead"] = {"name": "Dr Amara Okafor", "email": mdt_lead_email}
    return Directory.model_validate(
        {"providers": {TRUST_ODS: {"name": "Example Hospitals NHS FT", "cns_team": team}}}
    )
