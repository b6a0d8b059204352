"""The COSD-shaped registry record for a flag (pure)."""

from datetime import datetime
from typing import Literal

from shared.events import CancerFlag, Metastasis, RegistryRecord, stable_id

SERVICE = "notifier"

# COSD Metastatic Site (CR1590)
COSD_SITE = {
    "brain": "02",
    "liver": "03",
    "lung": "04",
    "unknown": "07",
    "skin": "08",
    "distant_lymph_nodes": "09",
    "bone": "10",
    "bone_marrow": "11",
    "regional_lymph_nodes": "12",
    "other": "98",
}
NOT_APPLICABLE_SITE = "97"
MetastaticType = Literal["01", "02", "03"]
LOCAL: MetastaticType = "01"
REGIONAL: MetastaticType = "02"
DISTANT: MetastaticType = "03"

Action = Literal["submit", "amend", "withdraw"]


def record_id(flag_id: str, revision: int) -> str:
    return stable_id("registry-record", flag_id, str(revision))


def metastases(flag: CancerFlag) -> list[Metastasis]:
    """Repeating CR6520 type + CR1590 site pairs, one per site, plus the types no site explains."""
    pairs: list[tuple[MetastaticType, str]] = []
    for site in flag.metastatic_sites:
        kind: MetastaticType = REGIONAL if site == "regional_lymph_nodes" else DISTANT
        pairs.append((kind, COSD_SITE[site]))
    types_with_site = {kind for kind, _ in pairs}
    if "local" in flag.recurrence_types:
        pairs.append((LOCAL, NOT_APPLICABLE_SITE))
    if "regional" in flag.recurrence_types and REGIONAL not in types_with_site:
        pairs.append((REGIONAL, COSD_SITE["regional_lymph_nodes"]))
    if "distant" in flag.recurrence_types and DISTANT not in types_with_site:
        pairs.append((DISTANT, COSD_SITE["unknown"]))
    return [Metastasis(cr6520_metastatic_type=t, cr1590_metastatic_site=s) for t, s in pairs]


def registry_record(
    flag: CancerFlag, action: Action, supersedes: str | None, now: datetime
) -> RegistryRecord:
    """Recurrence and progression are non-primary pathway records; de novo disease is recorded as
    metastatic at diagnosis. CR7100 keeps the breast primary's C50.x code (COSD rule)."""
    rid = record_id(flag.flag_id, flag.revision)
    patient = flag.patient
    primary = flag.primary
    if flag.kind == "de_novo_metastatic":
        record_type: Literal["non_primary_pathway", "metastatic_at_diagnosis"] = (
            "metastatic_at_diagnosis"
        )
        category: Literal["recurrence", "progression"] | None = None
    else:
        record_type = "non_primary_pathway"
        category = "recurrence" if flag.kind == "recurrence" else "progression"
    return RegistryRecord(
        event_id=stable_id("registry-record-event", rid, action),
        occurred_at=datetime.combine(flag.episode_date, datetime.min.time(), tzinfo=now.tzinfo)
        if flag.episode_date
        else flag.occurred_at,
        recorded_at=now,
        source=SERVICE,
        correlation_id=flag.correlation_id,
        record_id=rid,
        flag_id=flag.flag_id,
        action=action,
        supersedes=supersedes,
        record_type=record_type,
        non_primary_category=category,
        cr0010_nhs_number=patient.nhs_number,
        cr1350_nhs_number_status=patient.nhs_number_status,
        cr0100_birth_date=patient.birth_date,
        cr0030_provider_ods=patient.provider_ods,
        cr0120_gp_practice_ods=patient.gp_practice_ods,
        cr7100_original_primary_icd=primary.icd10 if primary else None,
        cr6500_episode_date=flag.episode_date,
        metastases=metastases(flag),
        evidence=[e.reference for e in flag.evidence],
    )
