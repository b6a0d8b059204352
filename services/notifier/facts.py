"""The facts an alert states, in plain words, gathered once for every renderer (pure).

Every value is one line of printable text, whatever the record held: a line separator becomes a
space, and a control character or a bidirectional override (which would reorder what the reader
sees, Unicode TR #9) becomes U+FFFD. So no value can start a line of its own in the plain-text
e-mail, spoof a label, or carry a NUL or an escape sequence into a letter or the Communication.
"""

from dataclasses import dataclass, fields, replace
from datetime import date

from services.notifier.decisions import Delivery
from services.notifier.directory import CnsTeam, Directory, Provider
from shared.events import CancerFlag, Evidence, PatientContext

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


_LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"  # those of str.splitlines
_BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_ONE_LINE = str.maketrans(
    {
        **dict.fromkeys(map(chr, [*range(0x20), *range(0x7F, 0xA0)]), "\ufffd"),  # category Cc
        **dict.fromkeys(_BIDI_CONTROLS, "\ufffd"),
        **dict.fromkeys(_LINE_BREAKS + "\t", " "),
    }
)


def one_line(text: str) -> str:
    """`text` as one line of printable text (see the module's docstring)."""
    return text.translate(_ONE_LINE)


def _printable(facts: "Facts") -> "Facts":
    changed: dict[str, object] = {}
    for item in fields(facts):
        value = getattr(facts, item.name)
        if isinstance(value, str):
            cleaned: object = one_line(value)
        elif isinstance(value, tuple):
            cleaned = tuple(one_line(v) if isinstance(v, str) else v for v in value)
        else:
            continue
        if cleaned != value:
            changed[item.name] = cleaned
    return replace(facts, **changed) if changed else facts  # type: ignore[arg-type]


def facts_for(flag: CancerFlag, delivery: Delivery, directory: Directory) -> Facts:
    patient = flag.patient
    provider = directory.provider(patient.provider_ods)
    name = " ".join(part for part in (patient.given_names, patient.family_name) if part)
    return _printable(_facts(flag, delivery, directory, patient, provider, name))


def _facts(
    flag: CancerFlag,
    delivery: Delivery,
    directory: Directory,
    patient: PatientContext,
    provider: Provider | None,
    name: str,
) -> Facts:
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
