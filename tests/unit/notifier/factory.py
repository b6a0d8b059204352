"""Flags and a directory for notifier tests."""

from datetime import UTC, date, datetime
from typing import Any

from services.notifier.directory import Directory
from shared.events import CancerFlag, Evidence, PatientContext, PrimaryTumour, stable_id

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
NHS_NUMBER = "9434765919"
GP_ODS = "A81001"
GP_MAILBOX = "X26ABC2"
TRUST_ODS = "RX1"
CNS_EMAIL = "breast-cns@example-hospitals.nhs.net"


def directory(**overrides: Any) -> Directory:
    data: dict[str, Any] = {
        "gp_practices": {GP_ODS: {"name": "The Densham Surgery", "mesh_mailbox": GP_MAILBOX}},
        "providers": {
            TRUST_ODS: {
                "name": "Example Hospitals NHS Foundation Trust",
                "cns_team": {
                    "name": "Breast CNS team",
                    "email": CNS_EMAIL,
                    "phone": "01234 567890",
                },
            }
        },
    }
    data.update(overrides)
    return Directory.model_validate(data)


def patient(**overrides: Any) -> PatientContext:
    data: dict[str, Any] = {
        "nhs_number": NHS_NUMBER,
        "nhs_number_status": "01",
        "family_name": "O'Brien",
        "given_names": "Ann <Marie>",
        "birth_date": date(1961, 3, 14),
        "gp_practice_ods": GP_ODS,
        "provider_ods": TRUST_ODS,
    }
    data.update(overrides)
    return PatientContext(**data)


def flag(
    *,
    state: str = "raised",
    kind: str = "recurrence",
    revision: int = 1,
    episode: int = 1,
    key: str = NHS_NUMBER,
    **overrides: Any,
) -> CancerFlag:
    flag_id = stable_id("flag", key, str(episode))
    recurrence = kind == "recurrence"
    data: dict[str, Any] = {
        "event_id": stable_id("flag-event", flag_id, str(revision)),
        "occurred_at": NOW,
        "recorded_at": NOW,
        "source": "classifier",
        "correlation_id": "corr-1",
        "flag_id": flag_id,
        "patient_key": key,
        "episode": episode,
        "state": state,
        "revision": revision,
        "kind": kind,
        "needs_review": kind == "review",
        "review_reason": "provisional secondary in liver" if kind == "review" else None,
        "recurrence": recurrence,
        "recurrence_types": ["distant"] if recurrence else [],
        "metastatic": kind in ("recurrence", "de_novo_metastatic", "metastatic_progression"),
        "de_novo_metastatic": kind == "de_novo_metastatic",
        "metastatic_sites": ["bone", "liver"] if kind != "review" else [],
        "episode_date": date(2026, 10, 1),
        "primary": PrimaryTumour(icd10="C50.4", laterality="left", diagnosis_date=date(2019, 5, 2)),
        "patient": patient(),
        "evidence": [
            Evidence(
                reference="Condition/sec-1/_history/1",
                rule="secondary",
                system="http://snomed.info/sct",
                code="94222008",
                display="Secondary malignant neoplasm of bone",
                date=date(2026, 10, 1),
            )
        ],
        "reason": "entered in error" if state == "retracted" else None,
    }
    data.update(overrides)
    return CancerFlag(**data)
