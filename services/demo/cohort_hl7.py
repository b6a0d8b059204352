"""HL7 v2.5.1 messages in the rmbc profile: ADT for patients, PPR^PC1 for problems, ORU^R01 results.

Segments are separated by `\\r`; the text is UTF-8 (MSH-18). Bodies are unframed: the MLLP sender
adds the start and end blocks.
"""

from datetime import date, datetime

from services.demo import cohort_codes as codes
from services.demo.cohort_codes import Code
from services.demo.cohort_model import ConditionVersion, ObservationVersion, PatientProfile

SENDING_APPLICATIONS = ("EPR", "PAS", "ONCOLOGY")
OBX_STATUS = {"final": "F", "amended": "C", "preliminary": "P", "entered-in-error": "W"}


def timestamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%d%H%M%S")


def hl7_date(iso: str | None) -> str:
    return iso.replace("-", "") if iso else ""


def coded(code: Code) -> str:
    return f"{code.code}^{code.display}^{code.hl7_system}"


def segment(name: str, *fields: str) -> str:
    return "|".join((name, *fields)).rstrip("|")


def msh(
    profile: PatientProfile, application: str, sent_at: datetime, kind: str, control_id: str
) -> str:
    return (
        f"MSH|^~\\&|{application}|{profile.trust_ods}|RMBC|RMBC|{timestamp(sent_at)}||{kind}|"
        f"{control_id}|P|2.5.1|||AL|NE||UNICODE UTF-8"
    )


def pid(profile: PatientProfile, nhs_number: str | None = None, local_suffix: str = "") -> str:
    identifiers = (
        f"{nhs_number or profile.nhs_number}^^^NHS^NH~"
        f"{profile.local_id}{local_suffix}^^^{profile.trust_ods}^MR"
    )
    name = f"{profile.family.upper()}^{profile.given}"
    sex = {"female": "F", "male": "M"}[profile.gender]
    return f"PID|1||{identifiers}||{name}||{profile.birth_date.strftime('%Y%m%d')}|{sex}"


def message(*segments: str) -> bytes:
    return "\r".join(segments).encode("utf-8")


def adt(
    profile: PatientProfile,
    event: str,
    application: str,
    sent_at: datetime,
    control_id: str,
    local_suffix: str = "",
    nhs_number: str | None = None,
) -> bytes:
    return message(
        msh(profile, application, sent_at, f"ADT^{event}^ADT_A01", control_id),
        f"EVN|{event}|{timestamp(sent_at)}",
        pid(profile, nhs_number, local_suffix),
        f"PD1|||{profile.gp_name}^^{profile.gp_ods}",
    )


def prb(version: ConditionVersion, instance_id: str) -> str:
    """PRB-1 action, -2 action time, -3 code, -4 instance, -9 abatement, -13, -14, -16 onset."""
    fields = [""] * 16
    if version.verification == "entered-in-error":
        fields[0] = "DE"
    else:
        fields[0] = "AD" if version.version == 1 else "UP"
    fields[1] = timestamp(version.updated)
    fields[2] = coded(version.code)
    fields[3] = instance_id
    fields[8] = hl7_date(version.abatement)
    fields[12] = version.verification
    fields[13] = version.clinical_status or ""
    fields[15] = hl7_date(version.onset)
    return segment("PRB", *fields)


def ppr(
    profile: PatientProfile,
    version: ConditionVersion,
    instance_id: str,
    application: str,
    sent_at: datetime,
    control_id: str,
) -> bytes:
    return message(
        msh(profile, application, sent_at, "PPR^PC1^PPR_PC1", control_id),
        pid(profile),
        prb(version, instance_id),
    )


def obx(set_id: int, code: Code, value: Code, status: str, effective: str) -> str:
    return f"OBX|{set_id}|CWE|{coded(code)}||{coded(value)}||||||{status}|||{hl7_date(effective)}"


def unmapped_obx(set_id: int, effective: str) -> str:
    """A result outside the profile: ingest names it in the ACK (ERR severity W)."""
    return (
        f"OBX|{set_id}|NM|{coded(codes.UNMAPPED_OBSERVATION)}||128|mm[Hg]^^UCUM||||||F|||"
        f"{hl7_date(effective)}"
    )


def oru(
    profile: PatientProfile,
    results: list[str],
    application: str,
    sent_at: datetime,
    control_id: str,
    effective: date,
) -> bytes:
    return message(
        msh(profile, application, sent_at, "ORU^R01^ORU_R01", control_id),
        pid(profile),
        f"OBR|1|{control_id}||MDT^Breast MDT outcome^L|||{effective.strftime('%Y%m%d')}",
        *results,
    )


def observation_obx(set_id: int, version: ObservationVersion) -> str:
    return obx(set_id, version.code, version.value, OBX_STATUS[version.status], version.effective)


def diagnosis_obx(set_id: int, version: ConditionVersion) -> str:
    """A diagnosis result (LOINC 29308-4): becomes a Condition, P -> provisional."""
    status = "P" if version.verification == "provisional" else "F"
    return obx(set_id, codes.DIAGNOSIS_OBSERVATION, version.code, status, version.onset or "")
