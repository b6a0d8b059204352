"""What a flag should cause: which alerts go to whom, and which registry record (pure).

Alert ids are deterministic - `stable_id("alert", flag id, recipient, purpose)` - so a replayed flag
plans the same alerts and the send ledger turns the repeat into nothing.

- `raised`: the GP (MESH) and the breast CNS team (SMTP) are alerted; the registry gets `submit`.
- `updated`: the registry gets `amend`; nobody is alerted again, unless nobody was ever alerted
  for this flag (it was a review flag before, or the raise never reached us): then alert now.
- `retracted`: one correction to every recipient that was alerted; the registry gets `withdraw`.
- `review` flags go to the CNS team only, marked for review; no GP letter, no registry record.
- No route to the GP: the CNS alert carries a "GP not reachable" note and the GP alert is recorded
  as unroutable. No route to any CNS team: recorded as unroutable and the flag is dead-lettered.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from services.notifier.directory import Directory
from services.notifier.registry_record import Action, record_id, registry_record
from shared.events import AlertOutcome, CancerFlag, RegistryRecord, stable_id

Channel = Literal["mesh", "smtp"]
Purpose = Literal["alert", "review", "correction"]


def alert_id(flag_id: str, recipient: str, purpose: Purpose) -> str:
    return stable_id("alert", flag_id, recipient, purpose)


@dataclass(frozen=True)
class EarlierAlert:
    """What the send ledger knows of an alert already planned for the same flag."""

    alert_id: str
    channel: Channel
    recipient: str
    outcome: AlertOutcome | Literal["queued"]


@dataclass(frozen=True)
class Delivery:
    alert_id: str
    channel: Channel
    recipient: str
    purpose: Purpose
    corrects: str | None = None
    gp_not_reachable: str | None = None


@dataclass(frozen=True)
class Unroutable:
    alert_id: str
    channel: Channel
    recipient: str
    reason: str


@dataclass(frozen=True)
class Plan:
    deliveries: tuple[Delivery, ...] = ()
    unroutable: tuple[Unroutable, ...] = ()
    record: RegistryRecord | None = None
    dead_letter_reasons: tuple[str, ...] = field(default=())


def plan_for(
    flag: CancerFlag, directory: Directory, earlier: Sequence[EarlierAlert], now: datetime
) -> Plan:
    if flag.state == "retracted":
        return _retraction(flag, earlier, now)
    purposes = {_purpose_of(flag.flag_id, e) for e in earlier}
    already_alerted = "alert" in purposes or (flag.kind == "review" and "review" in purposes)
    plan = _alerts(flag, directory) if flag.state == "raised" or not already_alerted else Plan()
    record = _record(flag, purposes, now)
    return Plan(plan.deliveries, plan.unroutable, record, plan.dead_letter_reasons)


def _record(
    flag: CancerFlag, earlier_purposes: set[Purpose | None], now: datetime
) -> RegistryRecord | None:
    if flag.kind == "review":
        return None
    action: Action = "submit"
    supersedes = None
    was_only_review = "review" in earlier_purposes and "alert" not in earlier_purposes
    if flag.state == "updated" and flag.revision > 1 and not was_only_review:
        action, supersedes = "amend", record_id(flag.flag_id, flag.revision - 1)
    return registry_record(flag, action, supersedes, now)


def _alerts(flag: CancerFlag, directory: Directory) -> Plan:
    deliveries: list[Delivery] = []
    unroutable: list[Unroutable] = []
    dead_letter_reasons: list[str] = []
    purpose: Purpose = "review" if flag.kind == "review" else "alert"
    gp_not_reachable = None
    if purpose == "alert":
        ods = flag.patient.gp_practice_ods
        practice = directory.gp_practice(ods)
        if practice is not None:
            deliveries.append(
                Delivery(
                    alert_id(flag.flag_id, practice.mesh_mailbox, purpose),
                    "mesh",
                    practice.mesh_mailbox,
                    purpose,
                )
            )
        else:
            gp_not_reachable = (
                f"GP practice {ods} has no MESH mailbox in the directory"
                if ods
                else "the patient has no registered GP practice on record"
            )
            recipient = f"gp-practice:{ods or 'none'}"
            unroutable.append(
                Unroutable(
                    alert_id(flag.flag_id, recipient, purpose), "mesh", recipient, gp_not_reachable
                )
            )
    team = directory.cns_team(flag.patient.provider_ods)
    if team is not None:
        deliveries.append(
            Delivery(
                alert_id(flag.flag_id, team.email, purpose),
                "smtp",
                team.email,
                purpose,
                gp_not_reachable=gp_not_reachable,
            )
        )
    else:
        reason = (
            f"no breast CNS team in the directory for provider {flag.patient.provider_ods or 'none'}"
            " and no fallback team"
        )
        recipient = f"cns-team:{flag.patient.provider_ods or 'none'}"
        unroutable.append(
            Unroutable(alert_id(flag.flag_id, recipient, purpose), "smtp", recipient, reason)
        )
        dead_letter_reasons.append(reason)
    return Plan(tuple(deliveries), tuple(unroutable), None, tuple(dead_letter_reasons))


def _retraction(flag: CancerFlag, earlier: Sequence[EarlierAlert], now: datetime) -> Plan:
    corrections = tuple(
        Delivery(
            alert_id(flag.flag_id, e.recipient, "correction"),
            e.channel,
            e.recipient,
            "correction",
            corrects=e.alert_id,
        )
        for e in earlier
        if _purpose_of(flag.flag_id, e) in ("alert", "review") and e.outcome != "unroutable"
    )
    record = None
    if flag.kind != "review":
        record = registry_record(
            flag, "withdraw", record_id(flag.flag_id, max(flag.revision - 1, 1)), now
        )
    return Plan(corrections, (), record, ())


def _purpose_of(flag_id: str, earlier: EarlierAlert) -> Purpose | None:
    for purpose in ("alert", "review", "correction"):
        if alert_id(flag_id, earlier.recipient, purpose) == earlier.alert_id:
            return purpose
    return None
