"""rmbc.reviews.v1 events for registry and escalation tests, shaped as the worklist records them."""

from datetime import UTC, date, datetime
from typing import Any

from services.registry.agreement import Agreement
from shared.events import (
    AgreedFinding,
    KeyWorker,
    RegistryRecordV2,
    Reviewer,
    ReviewEvent,
    stable_id,
)

DECIDED_AT = datetime(2026, 11, 12, 14, 30, tzinfo=UTC)
ISSUER = "https://sign-in.example-hospitals.nhs.uk"


def reviewer(role: str = "mdt_coordinator", trust_ods: str = "RX1") -> Reviewer:
    names = {"mdt_coordinator": "Priya Shah", "cns": "Tom Evans"}
    return Reviewer.model_validate(
        {
            "subject": f"user-{role}",
            "issuer": ISSUER,
            "name": names[role],
            "role": role,
            "trust_ods": trust_ods,
        }
    )


def agreed(**overrides: Any) -> AgreedFinding:
    data: dict[str, Any] = {
        "episode_date": date(2026, 9, 24),
        "recurrence_types": ["distant"],
        "de_novo_metastatic": False,
        "metastatic_sites": ["bone"],
    }
    return AgreedFinding.model_validate(data | overrides)


def review(
    flag_id: str,
    action: str = "confirmed",
    *,
    number: int = 1,
    at: datetime = DECIDED_AT,
    patient_key: str = "9434765919",
    **overrides: Any,
) -> ReviewEvent:
    review_id = stable_id("test-review", flag_id, str(number))
    data: dict[str, Any] = {
        "event_id": review_id,
        "occurred_at": at,
        "recorded_at": at,
        "source": "worklist",
        "correlation_id": review_id,
        "review_id": review_id,
        "flag_id": flag_id,
        "flag_revision": 1,
        "patient_key": patient_key,
        "action": action,
        "reviewer": reviewer(
            "cns" if action in ("acknowledged", "patient_contacted") else "mdt_coordinator"
        ),
        "previous_review_id": None,
        "key_worker": KeyWorker(name="Tom Evans", role="Breast CNS")
        if action == "acknowledged"
        else None,
        "agreed": agreed() if action == "confirmed" else None,
        "reason": "no evidence of disease on MRI" if action == "not_confirmed" else None,
    }
    return ReviewEvent.model_validate(data | overrides)


def agreed_record(
    proposed: RegistryRecordV2, action: str = "confirmed", at: datetime = DECIDED_AT
) -> RegistryRecordV2:
    """The agreed record `rmbc registry agree` makes of one MDT decision on `proposed`."""
    agreement = Agreement()
    agreement.hear_record(proposed)
    assert agreement.hear_review(review(proposed.flag_id, action)) is None
    due = agreement.due(proposed.flag_id, at)
    assert isinstance(due, RegistryRecordV2)
    return due
