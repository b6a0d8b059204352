"""PID and PD1 to a FHIR Patient: the whole of an ADT message (A01, A04, A08, A28, A31), and the
subject every PPR and ORU resource refers to. Pure.
"""

from typing import Any

from services.ingest.hl7.issues import DATA_TYPE_ERROR, REQUIRED_MISSING, TABLE_VALUE_NOT_FOUND
from services.ingest.hl7.mapping_run import MappingRun, fhir_id, id_token
from services.ingest.hl7.message import Segment
from shared.nhs_number import (
    NHS_NUMBER_SYSTEM,
    ODS_SYSTEM,
    RANGE_NAMES,
    SYSTEMS,
    is_valid_nhs_number,
    number_range,
)

GENDER = {"F": "female", "M": "male", "U": "unknown", "O": "other", "A": "other", "N": "unknown"}


def patient_identity(run: MappingRun, pid: Segment) -> dict[str, Any]:
    """PID-3's NHS number, else its Scottish CHI or Northern Ireland H&C number (HL7 type
    NH covers all three; their ranges tell them apart), else its first local identifier."""
    nhs: str | None = None
    regional: dict[str, str] | None = None
    local: dict[str, str] | None = None
    for components in pid.repetitions(3):
        value = components[0].strip() if components else ""
        authority = components[3].strip() if len(components) > 3 else ""
        kind = components[4].strip().upper() if len(components) > 4 else ""
        if not value:
            continue
        if kind == "NH" or authority.upper() == "NHS":
            if not is_valid_nhs_number(value):
                run.error(pid, 3, DATA_TYPE_ERROR, "PID-3 NHS number fails the modulus-11 check")
                continue
            value = value.replace(" ", "")
            found = number_range(value)
            if found in ("nhs", "test"):
                nhs = value
            elif found in SYSTEMS:
                regional = {"system": SYSTEMS[found], "value": value}
            else:
                run.error(pid, 3, DATA_TYPE_ERROR, f"PID-3 national number is {RANGE_NAMES[found]}")
        elif local is None:
            local = {
                "system": f"urn:rmbc:hl7:{id_token(authority or run.facility)}:{id_token(kind or 'PI')}",
                "value": value,
            }
    if (
        nhs is None
        and regional is None
        and local is None
        and not any(i.location == "PID^1^3" for i in run.issues)
    ):
        run.error(pid, 3, REQUIRED_MISSING, "PID-3 needs an NHS number or a local identifier")
    key = local["value"] if local else nhs or (regional["value"] if regional else "unknown")
    patient_id = fhir_id("hl7", run.facility, key)
    subject: dict[str, Any] = {"reference": f"Patient/{patient_id}"}
    if nhs:
        subject["identifier"] = {"system": NHS_NUMBER_SYSTEM, "value": nhs}
    elif regional or local:
        subject["identifier"] = dict(regional or local or {})
    return {
        "id": patient_id, "nhs": nhs, "regional": regional, "local": local, "subject": subject,
    }  # fmt: skip


def patient_resource(run: MappingRun, pid: Segment, message_time: str) -> dict[str, Any]:
    """The Patient PID (identifiers, name, birth date, sex), PD1-3 (registered practice)
    and MSH-4 (the sending trust) describe."""
    identifiers = []
    if run.patient["nhs"]:
        identifiers.append({"system": NHS_NUMBER_SYSTEM, "value": run.patient["nhs"]})
    for other in ("regional", "local"):  # the national number first: it keys the patient
        if run.patient[other]:
            identifiers.append(dict(run.patient[other]))
    resource: dict[str, Any] = {
        "resourceType": "Patient",
        "id": run.patient["id"],
        "meta": run.meta(message_time),
        "identifier": identifiers,
    }
    family, given = pid.component(5, 1), pid.component(5, 2)
    if family or given:
        name: dict[str, Any] = {"use": "official"}
        if family:
            name["family"] = family
        if given:
            name["given"] = given.split()
        resource["name"] = [name]
    if birth := run.date(pid, 7):
        resource["birthDate"] = birth[:10]
    if sex := pid.component(8).upper():
        if sex in GENDER:
            resource["gender"] = GENDER[sex]
        else:
            run.error(pid, 8, TABLE_VALUE_NOT_FOUND, f"PID-8 sex {sex!r} is not F, M or U")
    if pd1 := run.message.first("PD1"):
        practice = pd1.component(3, 3) or pd1.component(3, 10)
        if practice:
            resource["generalPractitioner"] = [
                {"identifier": {"system": ODS_SYSTEM, "value": practice}}
            ]
    if run.header.sending_facility:
        resource["managingOrganization"] = {
            "identifier": {"system": ODS_SYSTEM, "value": run.header.sending_facility}
        }
    return resource
