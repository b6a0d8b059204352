"""The COSD-shaped registry record for a flag (pure)."""

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal

from shared.events import (
    ICD_CODE_PATTERN,
    ODS_CODE_PATTERN,
    CancerFlag,
    Metastasis,
    MetastasisAtDiagnosis,
    MetastaticSite,
    PatientContext,
    PrimaryPathwayItems,
    ProgressionItems,
    RecurrenceItems,
    RecurrenceMetastasis,
    RecurrenceType,
    RegistryRecord,
    RegistryRecordV2,
    stable_id,
)

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


def metastatic_pairs(
    recurrence_types: Sequence[RecurrenceType], metastatic_sites: Sequence[MetastaticSite]
) -> list[tuple[MetastaticType, str]]:
    """Repeating COSD metastatic type + site pairs, one per site, plus the types no site explains
    (rmbc's finding, or what the MDT agreed)."""
    pairs: list[tuple[MetastaticType, str]] = []
    for site in metastatic_sites:
        kind: MetastaticType = REGIONAL if site == "regional_lymph_nodes" else DISTANT
        pairs.append((kind, COSD_SITE[site]))
    types_with_site = {kind for kind, _ in pairs}
    if "local" in recurrence_types:
        pairs.append((LOCAL, NOT_APPLICABLE_SITE))
    if "regional" in recurrence_types and REGIONAL not in types_with_site:
        pairs.append((REGIONAL, COSD_SITE["regional_lymph_nodes"]))
    if "distant" in recurrence_types and DISTANT not in types_with_site:
        pairs.append((DISTANT, COSD_SITE["unknown"]))
    return pairs


def metastases(flag: CancerFlag) -> list[Metastasis]:
    """CR6520 type + CR1590 site pairs of the flag."""
    return [
        Metastasis(cr6520_metastatic_type=t, cr1590_metastatic_site=s)
        for t, s in metastatic_pairs(flag.recurrence_types, flag.metastatic_sites)
    ]


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


# --- rmbc.registry-records.v2 -----------------------------------------------------------------
# COSD v10 items per pathway (Health-Informatics-UoN/nuh-data `schemas/datasets/cosd/cosd.yaml`):
# de novo disease is the primary pathway's metastatic type/site at diagnosis (CR6960/CR6970);
# recurrence is the non-primary pathway (CR6500, CR7100, CR6520/CR1590 pairs, CR1550, CR9000);
# progression is the non-primary pathway's CR6900 with its own CR6520/CR1590 pairs.
# Nothing is defaulted: an item the evidence does not give is absent, and a mandatory one is named
# in `incomplete_items`.

LOCAL_PATIENT_IDENTIFIER_MAX = 10  # CR0020 is an10
NHS_NUMBER_STATUS_PATTERN = r"^0[1-8]$"  # CR1350
# the envelope and identity a v2 record shares with the v1 record of the same flag revision
SAME_AS_V1 = {
    "occurred_at",
    "recorded_at",
    "source",
    "correlation_id",
    "record_id",
    "flag_id",
    "action",
    "supersedes",
    "evidence",
}


def local_patient_identifier(patient: PatientContext) -> str | None:
    """CR0020 from the `system|value` local identifier; too long for an10 means absent, not cut."""
    if patient.local_identifier is None:
        return None
    value = patient.local_identifier.rpartition("|")[2]
    return value if 0 < len(value) <= LOCAL_PATIENT_IDENTIFIER_MAX else None


def missing_mandatory_items(record: RegistryRecordV2) -> list[str]:
    """The mandatory COSD items the record lacks (CR0010 may be absent only when CR0020 is given)."""
    missing = []
    if record.cr0010_nhs_number is None and record.cr0020_local_patient_identifier is None:
        missing.append("CR0010/CR0020")
    for item, value in (
        ("CR1350", record.cr1350_nhs_number_status),
        ("CR0100", record.cr0100_birth_date),
        ("CR0030", record.cr0030_provider_ods),
    ):
        if value is None:
            missing.append(item)
    if record.primary is not None:
        if record.primary.cr0370_primary_diagnosis_icd is None:
            missing.append("CR0370")
        if record.primary.cr2030_primary_diagnosis_date is None:
            missing.append("CR2030")
    pathway = record.recurrence or record.progression
    if pathway is not None and pathway.cr6500_non_primary_diagnosis_date is None:
        missing.append("CR6500")
    if record.recurrence is not None and record.recurrence.cr7100_original_primary_icd is None:
        missing.append("CR7100")
    if record.progression is not None and record.progression.cr6900_progression_icd is None:
        missing.append("CR6900")
    return missing


def registry_record_v2(flag: CancerFlag, v1: RegistryRecord) -> RegistryRecordV2:
    """The v2 record of the same flag revision as `v1` (same record id, action and supersedes).

    Every record is `proposed` until clinically agreed records arrive from the MDT worklist."""
    patient = flag.patient
    invalid: list[str] = []
    icd_item = {"de_novo_metastatic": "CR0370", "recurrence": "CR7100"}.get(flag.kind, "CR6900")
    icd = flag.primary.icd10 if flag.primary else None
    primary_icd = _conforming(icd_item, icd, ICD_CODE_PATTERN, invalid)
    pairs = [(m.cr6520_metastatic_type, m.cr1590_metastatic_site) for m in v1.metastases]
    primary = recurrence = progression = None
    if flag.kind == "de_novo_metastatic":
        primary = PrimaryPathwayItems(
            cr0370_primary_diagnosis_icd=primary_icd,
            cr2030_primary_diagnosis_date=flag.primary.diagnosis_date if flag.primary else None,
            metastases_at_diagnosis=[
                MetastasisAtDiagnosis(cr6960_metastatic_type=t, cr6970_metastatic_site=s)
                for t, s in pairs
            ],
        )
    elif flag.kind == "recurrence":
        recurrence = RecurrenceItems(
            cr6500_non_primary_diagnosis_date=flag.episode_date,
            cr7100_original_primary_icd=primary_icd,
            metastases=[_pair(t, s) for t, s in pairs],
        )
    else:
        progression = ProgressionItems(
            cr6500_non_primary_diagnosis_date=flag.episode_date,
            cr6900_progression_icd=primary_icd,
            metastases=[_pair(t, s) for t, s in pairs],
        )
    draft = RegistryRecordV2(
        **v1.model_dump(include=SAME_AS_V1),
        event_id=stable_id("registry-record-v2-event", v1.record_id, v1.action),
        provenance="proposed",
        pathway="primary" if primary is not None else "non_primary",
        cr0010_nhs_number=patient.nhs_number,
        cr0020_local_patient_identifier=local_patient_identifier(patient),
        cr1350_nhs_number_status=_conforming(
            "CR1350", patient.nhs_number_status, NHS_NUMBER_STATUS_PATTERN, invalid
        ),
        cr0100_birth_date=patient.birth_date,
        cr0030_provider_ods=_conforming("CR0030", patient.provider_ods, ODS_CODE_PATTERN, invalid),
        cr0120_gp_practice_ods=_conforming(
            "CR0120", patient.gp_practice_ods, ODS_CODE_PATTERN, invalid
        ),
        primary=primary,
        recurrence=recurrence,
        progression=progression,
        original_primary_diagnosis_date=flag.primary.diagnosis_date if flag.primary else None,
        incomplete_items=[],
        invalid_items=invalid,
    )
    return draft.model_copy(update={"incomplete_items": missing_mandatory_items(draft)})


def _conforming(item: str, value: str | None, pattern: str, invalid: list[str]) -> Any:
    """The value when it has the item's COSD format; otherwise absent, and the item named."""
    if value is None or re.fullmatch(pattern, value):
        return value
    invalid.append(item)
    return None


def _pair(metastatic_type: str, site: str) -> RecurrenceMetastasis:
    return RecurrenceMetastasis(cr6520_metastatic_type=metastatic_type, cr1590_metastatic_site=site)
