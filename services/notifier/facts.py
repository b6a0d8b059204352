"""The facts an alert states, in plain words, gathered once for every renderer (pure)."""

from dataclasses import dataclass
from datetime import date

from services.notifier.decisions import Delivery
from services.notifier.directory import CnsTeam, Directory
from shared.events import CancerFlag, Evidence

SITE_WORDS = {
    "bone": "bone",
    "brain": "brain",
    "liver": "liver",
    "lung": "lung",
    "skin": "skin",
    "distant_lymph_nodes": "distant lymph nodes",
    "bone_marrow": "bone marrow",
    "regional_lymph_nodes": "regional lymph nodes",
    "other": "another distant site",
    "unknown": "distant site not specified",
}


@dataclass(frozen=True)
class Facts:
    alert_id: str
    purpose: str
    corrects: str | None
    headline: str
    patient_name: str
    nhs_number: str | None
    birth_date: date | None
    gp_practice_ods: str | None
    finding: str
    sites: tuple[str, ...]
    episode_date: date | None
    primary: str | None
    evidence: tuple[str, ...]
    trust_name: str
    trust_ods: str | None
    cns_team: CnsTeam | None
    gp_not_reachable: str | None
    retraction_reason: str | None
    review_reason: str | None


def facts_for(flag: CancerFlag, delivery: Delivery, directory: Directory) -> Facts:
    patient = flag.patient
    provider = directory.provider(patient.provider_ods)
    name = " ".join(part for part in (patient.given_names, patient.family_name) if part)
    return Facts(
        alert_id=delivery.alert_id,
        purpose=delivery.purpose,
        corrects=delivery.corrects,
        headline=_headline(flag, delivery),
        patient_name=name or "name not recorded",
        nhs_number=patient.nhs_number,
        birth_date=patient.birth_date,
        gp_practice_ods=patient.gp_practice_ods,
        finding=finding(flag),
        sites=tuple(SITE_WORDS[s] for s in flag.metastatic_sites),
        episode_date=flag.episode_date,
        primary=_primary(flag),
        evidence=tuple(_evidence_line(e) for e in flag.evidence),
        trust_name=provider.name if provider else f"trust {patient.provider_ods or 'not known'}",
        trust_ods=patient.provider_ods,
        cns_team=directory.cns_team(patient.provider_ods),
        gp_not_reachable=delivery.gp_not_reachable,
        retraction_reason=flag.reason if flag.state == "retracted" else None,
        review_reason=flag.review_reason,
    )


def finding(flag: CancerFlag) -> str:
    if flag.kind == "recurrence":
        types = ", ".join(flag.recurrence_types)
        return f"Recurrent breast cancer ({types})" if types else "Recurrent breast cancer"
    if flag.kind == "de_novo_metastatic":
        return "Metastatic breast cancer at diagnosis (de novo)"
    if flag.kind == "metastatic_progression":
        return "Progression of breast cancer to metastatic disease"
    return "Possible recurrent or metastatic breast cancer, not yet confirmed (needs review)"


def _headline(flag: CancerFlag, delivery: Delivery) -> str:
    if delivery.purpose == "correction":
        return "Correction: an earlier breast cancer alert is withdrawn"
    if delivery.purpose == "review":
        return "For review: possible recurrent or metastatic breast cancer"
    return "Alert: recurrent or metastatic breast cancer"


def _primary(flag: CancerFlag) -> str | None:
    primary = flag.primary
    if primary is None:
        return None
    parts = ["Breast primary"]
    if primary.icd10:
        parts.append(f"ICD-10 {primary.icd10}")
    if primary.laterality:
        parts.append(f"{primary.laterality} side")
    if primary.diagnosis_date:
        parts.append(f"diagnosed {primary.diagnosis_date.isoformat()}")
    return ", ".join(parts)


_SYSTEM_NAMES = {
    "http://snomed.info/sct": "SNOMED CT",
    "http://hl7.org/fhir/sid/icd-10": "ICD-10",
    "http://loinc.org": "LOINC",
}


def _evidence_line(evidence: Evidence) -> str:
    """In plain words: what the record shows (the rule that used it), its code, when, where."""
    finding = evidence.rule.split(": ", 1)[-1]
    finding = finding[:1].upper() + finding[1:]
    if evidence.code:
        system = _SYSTEM_NAMES.get(evidence.system or "", evidence.system or "code")
        coded = f"{evidence.display}, " if evidence.display else ""
        finding += f" ({coded}{system} {evidence.code})"
    when = f", recorded for {evidence.date.isoformat()}" if evidence.date else ""
    return f"{finding}{when} - hospital record {evidence.reference}"
