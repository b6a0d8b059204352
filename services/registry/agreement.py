"""The registry hears people: an MDT decision on rmbc.reviews.v1 turns rmbc's proposed registry
record of an episode into a clinically agreed one (pure).

- `confirmed`: an `amend` (a `submit` when the registry holds nothing for the episode) with
  `provenance="agreed"` carrying what the MDT agreed: its date as CR6500 (CR2030 when it agreed de
  novo metastatic disease, which is the primary pathway), its types and sites as the COSD pairs,
  the pathway its de novo answer gives; the identity items stay those of rmbc's latest record.
- `not_confirmed`: a `withdraw` with `provenance="agreed"`, carrying the items as last recorded so
  the registry can match what it removes.
- Both name who decided and when (`agreed_by`, `agreed_at`, `agreed_review_id`). The MDT's
  reason is never copied: it is free text, and a registry record carries only coded items.
- Other review actions (acknowledged, contacted, more information needed) change nothing here.
- Only the latest decision of an episode counts: decisions recorded while this process was down
  give one record, the latest's.
- rmbc revising a flag after the MDT agreed it: the notifier publishes a new `proposed` record;
  nothing here replaces the agreed one with it (registry consumers and the COSD export hold the
  agreed record and keep the proposal aside) until the MDT decides again on the worklist.

Record ids are `stable_id("registry-record-agreed", flag id, review id)`: one record per decision,
the same on every run, so reading the topic back tells which decisions are already recorded.
The COSD items follow services/registry/README.md (COSD v10 as published in the LinkML schema of
Health-Informatics-UoN/nuh-data, `schemas/datasets/cosd/cosd.yaml`).
"""

from dataclasses import dataclass, field, replace
from datetime import datetime

from services.notifier.registry_record import metastatic_pairs, missing_mandatory_items
from shared.events import (
    AgreedFinding,
    MetastasisAtDiagnosis,
    PrimaryPathwayItems,
    ProgressionItems,
    RecurrenceItems,
    RecurrenceMetastasis,
    RegistryRecordV2,
    ReviewEvent,
    stable_id,
)

SOURCE = "registry-agreement"
DECISIONS = frozenset({"confirmed", "not_confirmed"})


def agreed_record_id(flag_id: str, review_id: str) -> str:
    return stable_id("registry-record-agreed", flag_id, review_id)


@dataclass(frozen=True)
class Refusal:
    """A decision that cannot be recorded as agreed, and why (no patient identifier in it)."""

    review_id: str
    flag_id: str
    reason: str


@dataclass(frozen=True)
class Episode:
    """What the agreement knows of one episode (flag)."""

    proposed: RegistryRecordV2 | None = None  # rmbc's latest proposed record
    latest: RegistryRecordV2 | None = None  # the latest record on the topic, either provenance
    decision: ReviewEvent | None = None  # the MDT's latest decision
    recorded: frozenset[str] = field(default_factory=frozenset)  # record ids on the topic


class Agreement:
    """Every episode's state, built from both topics in the order they were read."""

    def __init__(self) -> None:
        self._episodes: dict[str, Episode] = {}
        self._published: set[str] = set()  # record ids published here, read back or not

    def published(self, record: RegistryRecordV2) -> None:
        """A record this process has just published: never due again, even before it is read
        back. Read back, it takes its place in the topic's order (`hear_record`)."""
        self._published.add(record.record_id)

    def episode(self, flag_id: str) -> Episode:
        return self._episodes.get(flag_id, Episode())

    def hear_record(self, record: RegistryRecordV2) -> bool:
        """Take a record read from (or just published to) the v2 topic. True when rmbc's rules
        proposed a change to an episode the MDT had already agreed: the agreed record stands."""
        before = self.episode(record.flag_id)
        if record.record_id in before.recorded:
            return False  # a record read again, or read back after publishing it
        after = replace(before, latest=record, recorded=before.recorded | {record.record_id})
        if record.provenance == "proposed":
            after = replace(after, proposed=record)
        self._episodes[record.flag_id] = after
        return (
            record.provenance == "proposed"
            and before.latest is not None
            and before.latest.provenance == "agreed"
        )

    def hear_review(self, review: ReviewEvent) -> Refusal | None:
        """Take a review; an MDT decision becomes the episode's latest, anything else is ignored.
        A decision no MDT coordinator recorded, or a confirmation without agreed values, is
        refused."""
        if review.action not in DECISIONS:
            return None
        if review.reviewer.role != "mdt_coordinator":
            return Refusal(
                review.review_id,
                review.flag_id,
                f"an MDT decision recorded by role {review.reviewer.role}, not an MDT coordinator",
            )
        if review.action == "confirmed" and review.agreed is None:
            return Refusal(review.review_id, review.flag_id, "confirmed without agreed values")
        before = self.episode(review.flag_id)
        self._episodes[review.flag_id] = replace(before, decision=review)
        return None

    def due(self, flag_id: str, now: datetime) -> RegistryRecordV2 | Refusal | None:
        """The agreed record the episode's latest decision calls for and the topic lacks."""
        due = record_due(self.episode(flag_id), now)
        if isinstance(due, RegistryRecordV2) and due.record_id in self._published:
            return None
        return due

    def waiting(self) -> int:
        """Decisions on episodes of which rmbc has proposed no registry record (yet)."""
        return sum(1 for e in self._episodes.values() if e.decision and e.proposed is None)

    def flag_ids(self) -> list[str]:
        return list(self._episodes)


def record_due(episode: Episode, now: datetime) -> RegistryRecordV2 | Refusal | None:
    decision, proposed, latest = episode.decision, episode.proposed, episode.latest
    if decision is None or proposed is None or latest is None:
        return None
    if agreed_record_id(decision.flag_id, decision.review_id) in episode.recorded:
        return None
    trust = proposed.cr0030_provider_ods
    if trust is not None and trust != decision.reviewer.trust_ods:
        return Refusal(
            decision.review_id,
            decision.flag_id,
            f"decided for trust {decision.reviewer.trust_ods}, the episode is trust {trust}'s",
        )
    if decision.action == "not_confirmed":
        return withdrawal(latest, decision, now)
    assert decision.agreed is not None  # refused on hearing otherwise
    return agreed_amendment(proposed, latest, decision, decision.agreed, now)


def agreed_amendment(
    proposed: RegistryRecordV2,
    latest: RegistryRecordV2,
    decision: ReviewEvent,
    agreed: AgreedFinding,
    now: datetime,
) -> RegistryRecordV2:
    """rmbc's latest proposal with the clinical items the MDT agreed in place of rmbc's."""
    pairs = metastatic_pairs(agreed.recurrence_types, agreed.metastatic_sites)
    icd = _primary_icd(proposed)
    pairs_after_diagnosis = [
        RecurrenceMetastasis(cr6520_metastatic_type=t, cr1590_metastatic_site=s) for t, s in pairs
    ]
    primary = recurrence = progression = None
    if agreed.de_novo_metastatic:
        primary = PrimaryPathwayItems(
            cr0370_primary_diagnosis_icd=icd,
            cr2030_primary_diagnosis_date=agreed.episode_date,
            metastases_at_diagnosis=[
                MetastasisAtDiagnosis(cr6960_metastatic_type=t, cr6970_metastatic_site=s)
                for t, s in pairs
            ],
        )
    elif proposed.progression is not None:
        progression = ProgressionItems(
            cr6500_non_primary_diagnosis_date=agreed.episode_date,
            cr6900_progression_icd=icd,
            metastases=pairs_after_diagnosis,
        )
    else:
        recorded = proposed.recurrence
        recurrence = RecurrenceItems(
            cr6500_non_primary_diagnosis_date=agreed.episode_date,
            cr7100_original_primary_icd=icd,
            metastases=pairs_after_diagnosis,
            cr1550_palliative_care_seen=recorded.cr1550_palliative_care_seen if recorded else None,
            cr9000_relapse_method=recorded.cr9000_relapse_method if recorded else None,
        )
    action = "submit" if latest.action == "withdraw" else "amend"
    draft = _decided(proposed, latest, decision, now, action).model_copy(
        update={
            "pathway": "primary" if primary is not None else "non_primary",
            "primary": primary,
            "recurrence": recurrence,
            "progression": progression,
        }
    )
    return draft.model_copy(update={"incomplete_items": missing_mandatory_items(draft)})


def withdrawal(latest: RegistryRecordV2, decision: ReviewEvent, now: datetime) -> RegistryRecordV2:
    """The MDT did not confirm the finding: the episode's record as last recorded, withdrawn."""
    return _decided(latest, latest, decision, now, "withdraw")


def _decided(
    items: RegistryRecordV2,
    latest: RegistryRecordV2,
    decision: ReviewEvent,
    now: datetime,
    action: str,
) -> RegistryRecordV2:
    record_id = agreed_record_id(decision.flag_id, decision.review_id)
    return items.model_copy(
        update={
            "event_id": stable_id("registry-record-v2-event", record_id, action),
            "occurred_at": decision.occurred_at,
            "recorded_at": now,
            "source": SOURCE,
            "correlation_id": decision.correlation_id,
            "record_id": record_id,
            "action": action,
            "supersedes": latest.record_id,
            "provenance": "agreed",
            "agreed_by": decision.reviewer,
            "agreed_at": decision.occurred_at,
            "agreed_review_id": decision.review_id,
        }
    )


def _primary_icd(record: RegistryRecordV2) -> str | None:
    """The breast primary's ICD-10 code, whichever pathway rmbc proposed."""
    if record.primary is not None:
        return record.primary.cr0370_primary_diagnosis_icd
    if record.recurrence is not None:
        return record.recurrence.cr7100_original_primary_icd
    if record.progression is not None:
        return record.progression.cr6900_progression_icd
    return None
