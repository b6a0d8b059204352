"""Events of the worklist's three topics, made for tests (a whole valid event from a few facts)."""

from datetime import UTC, date, datetime, timedelta

from shared.events import (
    AlertEvent,
    CancerFlag,
    Evidence,
    KeyWorker,
    PatientContext,
    ReviewAction,
    Reviewer,
    ReviewEvent,
)

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)  # a Tuesday
TRUST = "RX1"


def flag(
    flag_id: str = "flag-1",
    revision: int = 1,
    *,
    state: str = "raised",
    at: datetime = T0,
    trust: str = TRUST,
    kind: str = "recurrence",
    sites: tuple[str, ...] = ("bone",),
    reason: str | None = None,
) -> CancerFlag:
    return CancerFlag.model_validate(
        {
            "event_id": f"{flag_id}-r{revision}",
            "occurred_at": at,
            "recorded_at": at,
            "source": "classifier",
            "correlation_id": "c",
            "flag_id": flag_id,
            "patient_key": "9434765919",
            "episode": 1,
            "state": state,
            "revision": revision,
            "kind": kind,
            "recurrence": kind == "recurrence",
            "recurrence_types": ["distant"] if kind == "recurrence" else [],
            "metastatic": bool(sites),
            "de_novo_metastatic": kind == "de_novo_metastatic",
            "metastatic_sites": list(sites),
            "episode_date": date(2026, 11, 20),
            "patient": PatientContext(
                nhs_number="9434765919", family_name="Smith", given_names="Jo", provider_ods=trust
            ),
            "evidence": [
                Evidence(
                    reference="Condition/c1/_history/1",
                    rule="R3: secondary malignant neoplasm of bone",
                    system="http://snomed.info/sct",
                    code="94222008",
                    display="Secondary malignant neoplasm of bone",
                    date=date(2026, 11, 20),
                )
            ],
            "reason": reason,
        }
    )


def alert(
    flag_id: str = "flag-1",
    *,
    channel: str = "smtp",
    outcome: str = "sent",
    at: datetime = T0,
    attempt: int = 1,
    revision: int = 1,
) -> AlertEvent:
    return AlertEvent(
        event_id=f"{flag_id}-{channel}-{outcome}-{attempt}-{revision}",
        occurred_at=at,
        recorded_at=at,
        source="notifier",
        correlation_id="c",
        alert_id=f"{flag_id}-{channel}",
        flag_id=flag_id,
        flag_state="raised",
        flag_revision=revision,
        channel=channel,
        recipient="team@example.invalid",
        attempt=attempt,
        outcome=outcome,
    )


def review(
    review_id: str,
    action: ReviewAction = "acknowledged",
    *,
    flag_id: str = "flag-1",
    at: datetime = T0 + timedelta(hours=3),
    previous: str | None = None,
    revision: int = 1,
) -> ReviewEvent:
    return ReviewEvent(
        event_id=review_id,
        occurred_at=at,
        recorded_at=at,
        source="worklist",
        correlation_id=flag_id,
        review_id=review_id,
        flag_id=flag_id,
        flag_revision=revision,
        patient_key="9434765919",
        action=action,
        reviewer=Reviewer(
            subject="cns-1", issuer="https://idp", name="Ann Nurse", role="cns", trust_ods=TRUST
        ),
        previous_review_id=previous,
        key_worker=KeyWorker(name="Ann Nurse", role="Breast CNS")
        if action == "acknowledged"
        else None,
        reason="scan shows no change" if action == "not_confirmed" else None,
    )
