"""A patient's state: the records of each resource's latest version, demographics, and the flags
already emitted. Applying the same version twice changes nothing, and versions may arrive in any
order: the highest version key wins. `to_bytes` and `from_bytes` hand over to the stored form
(`stored_state.py`), which this module leaves to itself.
"""

from collections.abc import Mapping
from dataclasses import field
from typing import Any

from services.classifier import stored_state
from services.classifier.bounds import MAX_TEXT, cut
from services.classifier.facts import Fact
from services.classifier.immutable import immutable
from services.classifier.records import Emitted, HistoryEntry, Record, Records
from shared.events import PatientContext


@immutable
class PatientState:
    records: Records = field(default_factory=Records)
    patient: dict[str, Any] = field(default_factory=dict)
    emitted: Mapping[int, Emitted] = field(default_factory=dict)

    def with_fact(self, fact: Fact) -> "PatientState | None":
        """The state with this version applied, or None when it changes nothing (a replay)."""
        current = self.records.get(fact.key)
        if current is None:
            if fact.kind == "irrelevant" and fact.certainty != "void":
                return None
            record = Record(fact, _history((), fact))
        else:
            latest = fact if fact.version >= current.fact.version else current.fact
            record = Record(latest, _history(current.history, fact))
            if record == current:
                return None
        return PatientState(self.records.with_record(record), self.patient, self.emitted)

    def with_patient(self, context: PatientContext) -> "PatientState | None":
        """The state with these demographics merged in; each kept to `MAX_TEXT` characters."""
        known = {
            k: v if len(v) <= MAX_TEXT else cut(v)
            for k, v in context.model_dump(mode="json").items()
            if v is not None
        }
        merged = {**self.patient, **known}
        return None if merged == self.patient else PatientState(self.records, merged, self.emitted)

    def with_emitted(self, emitted: Mapping[int, Emitted]) -> "PatientState":
        return PatientState(self.records, self.patient, emitted)

    def patient_context(self) -> PatientContext:
        return PatientContext.model_validate(self.patient)

    def to_bytes(self) -> bytes:
        return stored_state.written(self.records, self.patient, self.emitted)

    @classmethod
    def from_bytes(cls, data: bytes | None) -> "PatientState":
        return cls(*stored_state.read(data)) if data else cls()


def _history(history: tuple[HistoryEntry, ...], fact: Fact) -> tuple[HistoryEntry, ...]:
    if not fact.key.startswith("Condition/") or fact.kind == "irrelevant":
        return history
    entry: HistoryEntry = (fact.version, fact.status, fact.abatement)
    if entry in history:
        return history
    return tuple(sorted((*history, entry), key=lambda e: e[0]))
