"""What a flag should cause: which alerts go to whom, and which registry record (pure).

Alert ids are deterministic - `stable_id("alert", flag id, recipient, purpose)` - so a replayed flag
plans the same alerts and the send ledger turns the repeat into nothing.

- `raised`: the GP (MESH) and the breast CNS team (SMTP) are alerted; the registry gets `submit`.
- `updated`: the registry gets `amend`. Nobody is alerted again, unless nobody was ever alerted
  for this flag (it was a review flag before, or the raise never reached us): then alert now.
  Otherwise each recipient's latest document is compared with the revision: when something it
  stated is withdrawn (a site, a piece of evidence entered in error) the recipient - GP practice
  and CNS team alike - gets a replacement document that names the one it replaces; when something
  is only added (a new site), the CNS team gets an update and the GP practice nothing (no new GP
  letter for what does not contradict the one it filed). A GP practice that was never sent a
  letter (no registered practice then, or no mailbox) gets the alert once it becomes reachable.
- `retracted`: one correction to every recipient that was told, naming its latest document; the
  registry gets `withdraw`.
- `review` flags go to the CNS team only, marked for review; no GP letter, no registry record.
- The GP practice's mailbox: the directory's entry for its ODS code when there is one (an
  override), else what MESH endpoint lookup (ODS code + workflow id) found, which the shell looks
  up before planning and passes in `looked_up`.
- No route to the GP: the CNS alert carries a "GP not reachable" note and the GP alert is recorded
  as unroutable. No route to any CNS team: recorded as unroutable and the flag is dead-lettered.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from services.notifier.directory import Directory
from services.notifier.registry_record import Action, record_id, registry_record
from shared.events import AlertOutcome, CancerFlag, RegistryRecord, stable_id

Channel = Literal["mesh", "smtp"]
Purpose = Literal["alert", "review", "correction", "gp_not_told", "replacement", "update"]
# purposes of which there may be one per flag revision: their ids name the revision
PER_REVISION: frozenset[Purpose] = frozenset({"replacement", "update"})
# a GP alert with one of these outcomes told no practice (the practice said it is not theirs)
GP_NOT_TOLD: frozenset[str] = frozenset({"unroutable", "patient_not_registered", "rejected"})
# what tells a recipient the finding (each states the whole finding as it then stood)
DOCUMENTS: frozenset[Purpose] = frozenset({"alert", "review", "replacement", "update"})


def alert_id(flag_id: str, recipient: str, purpose: Purpose, revision: int | None = None) -> str:
    if purpose in PER_REVISION:
        return stable_id("alert", flag_id, recipient, purpose, str(revision))
    return stable_id("alert", flag_id, recipient, purpose)


@dataclass(frozen=True)
class Told:
    """What a document states that a later revision can withdraw or add to."""

    sites: frozenset[str] = frozenset()
    evidence: frozenset[str] = frozenset()  # FHIR references without their version


def evidence_id(reference: str) -> str:
    """`Condition/abc/_history/2` -> `Condition/abc`: a new version is the same evidence."""
    return reference.split("/_history/", 1)[0]


def told_by(flag: CancerFlag) -> Told:
    return Told(
        frozenset(flag.metastatic_sites), frozenset(evidence_id(e.reference) for e in flag.evidence)
    )


@dataclass(frozen=True)
class Change:
    """How a revision differs from what a recipient's latest document stated."""

    withdrawn_sites: tuple[str, ...] = ()
    withdrawn_evidence: int = 0
    added_sites: tuple[str, ...] = ()
    added_evidence: int = 0

    @property
    def withdraws(self) -> bool:
        return bool(self.withdrawn_sites or self.withdrawn_evidence)

    @property
    def adds(self) -> bool:
        return bool(self.added_sites or self.added_evidence)


def change_between(before: Told, after: Told) -> Change:
    return Change(
        tuple(sorted(before.sites - after.sites)),
        len(before.evidence - after.evidence),
        tuple(sorted(after.sites - before.sites)),
        len(after.evidence - before.evidence),
    )


@dataclass(frozen=True)
class EarlierAlert:
    """What the send ledger knows of an alert already planned for the same flag."""

    alert_id: str
    channel: Channel
    recipient: str
    outcome: AlertOutcome | Literal["queued"]
    revision: int = 1  # the flag revision it was planned for
    told: Told | None = None  # None when its events predate `told_*` (nothing to compare)


@dataclass(frozen=True)
class Delivery:
    alert_id: str
    channel: Channel
    recipient: str
    purpose: Purpose
    corrects: str | None = None
    gp_not_reachable: str | None = None
    version: int = 1  # the recipient's how-manyth document about this finding
    change: Change | None = None  # for a replacement or an update: what changed


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
    flag: CancerFlag,
    directory: Directory,
    earlier: Sequence[EarlierAlert],
    now: datetime,
    looked_up: Mapping[str, str | None] | None = None,
) -> Plan:
    """`looked_up`: GP ODS code -> MESH mailbox found by endpoint lookup (None: none found).

    Only what earlier revisions caused counts: a revision read again (after a crash, a rebalance)
    plans exactly what it planned the first time, the same alert ids, so an alert of this revision
    that was cut short is sent, and one already sent is turned into nothing by the ledger. Seen as
    "the latest document", an update still being sent would hide itself: nothing would differ."""
    earlier = [e for e in earlier if e.revision < flag.revision]
    if flag.state == "retracted":
        return _retraction(flag, earlier, now)
    purposes = {_purpose_of(flag.flag_id, e) for e in earlier}
    already_alerted = "alert" in purposes or (flag.kind == "review" and "review" in purposes)
    alerting = flag.state == "raised" or not already_alerted
    if alerting:
        plan = _alerts(flag, directory, looked_up or {})
    else:
        plan = _changes(flag, directory, earlier, looked_up or {})
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


def needs_lookup(flag: CancerFlag, directory: Directory) -> str | None:
    """The GP ODS code to look up in MESH before planning, if the directory has no override."""
    ods = flag.patient.gp_practice_ods
    if flag.state == "retracted" or flag.kind == "review" or not ods:
        return None
    return None if directory.gp_practice(ods) is not None else ods.strip().upper()


def _alerts(flag: CancerFlag, directory: Directory, looked_up: Mapping[str, str | None]) -> Plan:
    deliveries: list[Delivery] = []
    unroutable: list[Unroutable] = []
    dead_letter_reasons: list[str] = []
    purpose: Purpose = "review" if flag.kind == "review" else "alert"
    gp_not_reachable = None
    if purpose == "alert":
        gp = _gp_alert(flag, directory, looked_up)
        if isinstance(gp, Delivery):
            deliveries.append(gp)
        else:
            unroutable.append(gp)
            gp_not_reachable = gp.reason
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


def _gp_alert(
    flag: CancerFlag, directory: Directory, looked_up: Mapping[str, str | None]
) -> Delivery | Unroutable:
    ods = flag.patient.gp_practice_ods
    practice = directory.gp_practice(ods)
    mailbox = practice.mesh_mailbox if practice else looked_up.get((ods or "").strip().upper())
    if mailbox:
        return Delivery(alert_id(flag.flag_id, mailbox, "alert"), "mesh", mailbox, "alert")
    reason = (
        f"GP practice {ods} has no MESH mailbox for GP documents (endpoint lookup)"
        if ods
        else "the patient has no registered GP practice on record"
    )
    recipient = f"gp-practice:{ods or 'none'}"
    return Unroutable(alert_id(flag.flag_id, recipient, "alert"), "mesh", recipient, reason)


def _changes(
    flag: CancerFlag,
    directory: Directory,
    earlier: Sequence[EarlierAlert],
    looked_up: Mapping[str, str | None],
) -> Plan:
    """An `updated` revision of a flag whose recipients were alerted (see the module docstring)."""
    deliveries: list[Delivery] = []
    unroutable: list[Unroutable] = []
    now = told_by(flag)
    for latest, version in _latest_documents(flag.flag_id, earlier).values():
        if latest.told is None:
            continue
        change = change_between(latest.told, now)
        if change.withdraws:
            purpose: Purpose = "replacement"
        elif change.adds and latest.channel == "smtp":
            purpose = "update"
        else:
            continue
        deliveries.append(
            Delivery(
                alert_id(flag.flag_id, latest.recipient, purpose, flag.revision),
                latest.channel,
                latest.recipient,
                purpose,
                corrects=latest.alert_id if purpose == "replacement" else None,
                version=version + 1,
                change=change,
            )
        )
    gp_told = any(
        e.channel == "mesh"
        and e.outcome not in GP_NOT_TOLD
        and _purpose_of(flag.flag_id, e) == "alert"
        for e in earlier
    )
    if flag.kind != "review" and not gp_told:
        # perhaps the practice can be reached now (a registration that came after the alert);
        # the same practice and mailbox plan the same alert id, which the ledger holds already
        gp = _gp_alert(flag, directory, looked_up)
        if isinstance(gp, Delivery):
            deliveries.append(gp)
        else:
            unroutable.append(gp)
    return Plan(tuple(deliveries), tuple(unroutable))


def _latest_documents(
    flag_id: str, earlier: Sequence[EarlierAlert]
) -> dict[str, tuple[EarlierAlert, int]]:
    """recipient -> (the latest document it was sent, how many documents it was sent)."""
    latest: dict[str, tuple[EarlierAlert, int]] = {}
    for e in earlier:
        if e.outcome in GP_NOT_TOLD or _purpose_of(flag_id, e) not in DOCUMENTS:
            continue
        before, count = latest.get(e.recipient, (e, 0))
        latest[e.recipient] = (e if e.revision >= before.revision else before, count + 1)
    return latest


def _retraction(flag: CancerFlag, earlier: Sequence[EarlierAlert], now: datetime) -> Plan:
    corrections = tuple(
        Delivery(
            alert_id(flag.flag_id, e.recipient, "correction"),
            e.channel,
            e.recipient,
            "correction",
            corrects=e.alert_id,
            version=count + 1,
        )
        for e, count in _latest_documents(flag.flag_id, earlier).values()
    )
    record = None
    if flag.kind != "review":
        record = registry_record(
            flag, "withdraw", record_id(flag.flag_id, max(flag.revision - 1, 1)), now
        )
    return Plan(corrections, (), record, ())


def _purpose_of(flag_id: str, earlier: EarlierAlert) -> Purpose | None:
    for purpose in ("alert", "review", "correction", "replacement", "update"):
        if alert_id(flag_id, earlier.recipient, purpose, earlier.revision) == earlier.alert_id:
            return purpose
    return None
