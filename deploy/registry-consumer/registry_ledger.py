"""What a registry holds after each v2 record: one holding per episode (the flag it came from),
proposed by rmbc's rules or agreed at MDT, by whom and when.

`submit` and `amend` replace the episode's record, `withdraw` marks it withdrawn (kept, so that what
the MDT rejected stays rejected). A record rmbc's rules propose after the MDT agreed the episode
never replaces the agreed one: it is held beside it until the MDT decides again (the rule of
services/registry/standing.py). Applying the same record twice gives the same holdings, so a
redelivered message changes nothing.
"""

from collections.abc import Mapping
from dataclasses import dataclass

from shared.events import RegistryRecordV2


@dataclass(frozen=True)
class Holding:
    record: RegistryRecordV2  # the episode's record as the registry holds it
    held_for_mdt: RegistryRecordV2 | None = None  # a rules revision made after agreement

    @property
    def withdrawn(self) -> bool:
        return bool(self.record.action == "withdraw")


def apply(held: Mapping[str, Holding], record: RegistryRecordV2) -> dict[str, Holding]:
    """The holdings after `record`, keyed by flag id; `held` is left unchanged."""
    after = dict(held)
    current = after.get(record.flag_id)
    if (
        record.provenance == "proposed"
        and current is not None
        and current.record.provenance == "agreed"
    ):
        after[record.flag_id] = Holding(current.record, held_for_mdt=record)
    else:
        after[record.flag_id] = Holding(record)
    return after


def state(holding: Holding) -> str:
    """The holding in words: proposed by rules, or agreed at MDT by whom and when."""
    record = holding.record
    if record.provenance == "agreed" and record.agreed_by is not None:
        who = record.agreed_by
        when = record.agreed_at.isoformat() if record.agreed_at else "an unknown time"
        decided = "not confirmed" if holding.withdrawn else "agreed"
        words = f"{decided} at MDT by {who.name} ({who.role}, {who.trust_ods}) on {when}"
    else:
        words = "withdrawn by rmbc's rules" if holding.withdrawn else "proposed by rmbc's rules"
    if holding.held_for_mdt is not None:
        words += "; a later rules revision is held for the MDT"
    return words


def summary(held: Mapping[str, Holding]) -> dict[str, int]:
    """Counts of episodes held by provenance, withdrawn, and awaiting the MDT, for a log line that
    carries no patient identifiers."""
    counts = {"proposed": 0, "agreed": 0, "withdrawn": 0, "held_for_mdt": 0}
    for holding in held.values():
        counts["withdrawn" if holding.withdrawn else holding.record.provenance] += 1
        counts["held_for_mdt"] += holding.held_for_mdt is not None
    return counts
