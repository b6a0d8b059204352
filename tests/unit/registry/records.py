"""v2 registry records for registry tests, made the way the notifier makes them."""

from datetime import UTC, date, datetime
from typing import Any

from services.notifier.registry_record import registry_record, registry_record_v2
from shared.events import PrimaryTumour, RegistryRecordV2
from tests.unit.notifier.factory import flag, patient

OCTOBER = datetime(2026, 10, 20, 9, 0, tzinfo=UTC)
NOVEMBER = datetime(2026, 11, 5, 9, 0, tzinfo=UTC)


def record(
    *,
    kind: str = "recurrence",
    key: str = "9434765919",
    now: datetime = OCTOBER,
    action: str = "submit",
    revision: int = 1,
    patient_overrides: dict[str, Any] | None = None,
    **overrides: Any,
) -> RegistryRecordV2:
    p = patient(nhs_number=key, **(patient_overrides or {}))
    f = flag(kind=kind, key=key, revision=revision, patient=p, **overrides)
    return registry_record_v2(f, registry_record(f, action, None, now))  # type: ignore[arg-type]


def three_patients() -> list[RegistryRecordV2]:
    """A recurrence (bone, liver), a progression (lung) and de novo disease (brain)."""
    return [
        record(kind="recurrence", key="9434765919"),
        record(
            kind="metastatic_progression",
            key="9434765846",
            metastatic_sites=["lung"],
            episode_date=date(2026, 10, 3),
        ),
        record(
            kind="de_novo_metastatic",
            key="9434765862",
            metastatic_sites=["brain"],
            episode_date=date(2026, 9, 30),
            primary=PrimaryTumour(
                icd10="C50.9", laterality="right", diagnosis_date=date(2026, 9, 15)
            ),
            patient_overrides={"birth_date": date(1970, 1, 2), "gp_practice_ods": None},
        ),
    ]
