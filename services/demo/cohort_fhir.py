"""UK Core FHIR R4 JSON for the cohort's resource versions, single or in Bundles."""

from typing import Any, Literal

from services.demo import cohort_codes as codes
from services.demo.cohort_codes import Code
from services.demo.cohort_model import (
    ConditionVersion,
    ObservationVersion,
    PatientProfile,
    PatientVersion,
    Version,
)

Json = dict[str, Any]
BundleType = Literal["transaction", "batch", "collection"]


def coding(code: Code) -> Json:
    return {"system": code.system, "code": code.code, "display": code.display}


def concept(code: Code) -> Json:
    return {"coding": [coding(code)], "text": code.display}


def status_concept(system: str, code: str) -> Json:
    return {"coding": [{"system": system, "code": code}]}


def ods_reference(ods: str, display: str) -> Json:
    return {"identifier": {"system": codes.ODS_SYSTEM, "value": ods}, "display": display}


def meta(version: Version) -> Json:
    return {"versionId": str(version.version), "lastUpdated": version.updated.isoformat()}


def patient(profile: PatientProfile, version: PatientVersion, resource_id: str) -> Json:
    return {
        "resourceType": "Patient",
        "id": resource_id,
        "meta": meta(version),
        "identifier": [
            {
                "extension": [
                    {
                        "url": codes.NHS_NUMBER_VERIFICATION,
                        "valueCodeableConcept": {
                            "coding": [
                                {
                                    "system": codes.NHS_NUMBER_VERIFICATION_CODES,
                                    "code": "01",
                                    "display": "Number present and verified",
                                }
                            ]
                        },
                    }
                ],
                "system": codes.NHS_NUMBER_SYSTEM,
                "value": profile.nhs_number,
            },
            {
                "system": f"https://{profile.trust_ods.lower()}.nhs.uk/Id/{version.local_system}",
                "value": profile.local_id + version.resource_id_suffix,
            },
        ],
        "name": [{"use": "official", "family": profile.family, "given": [profile.given]}],
        "telecom": [{"system": "phone", "value": version.phone, "use": "mobile"}],
        "gender": profile.gender,
        "birthDate": profile.birth_date.isoformat(),
        "generalPractitioner": [ods_reference(profile.gp_ods, profile.gp_name)],
        "managingOrganization": ods_reference(
            profile.trust_ods, codes.TRUSTS.get(profile.trust_ods, profile.trust_ods)
        ),
    }


def subject(profile: PatientProfile, reference: str, with_identifier: bool) -> Json:
    value: Json = {"reference": reference}
    if with_identifier:
        value["identifier"] = {"system": codes.NHS_NUMBER_SYSTEM, "value": profile.nhs_number}
    return value


def condition(
    version: ConditionVersion, resource_id: str, subject_ref: Json, related: str | None
) -> Json:
    resource: Json = {"resourceType": "Condition", "id": resource_id, "meta": meta(version)}
    if related:
        resource["extension"] = [
            {"url": codes.CONDITION_RELATED, "valueReference": {"reference": related}}
        ]
    if version.clinical_status:
        resource["clinicalStatus"] = status_concept(codes.CLINICAL_STATUS, version.clinical_status)
    resource["verificationStatus"] = status_concept(codes.VERIFICATION_STATUS, version.verification)
    resource["category"] = [status_concept(codes.CONDITION_CATEGORY, version.category)]
    resource["code"] = concept(version.code)
    if version.body_site:
        resource["bodySite"] = [concept(version.body_site)]
    resource["subject"] = subject_ref
    if version.onset:
        resource["onsetDateTime"] = version.onset
    if version.abatement:
        resource["abatementDateTime"] = version.abatement
    if version.recorded:
        resource["recordedDate"] = version.recorded
    return resource


def observation(version: ObservationVersion, resource_id: str, subject_ref: Json) -> Json:
    category = "survey" if version.code == codes.DISEASE_STATUS else "exam"
    return {
        "resourceType": "Observation",
        "id": resource_id,
        "meta": meta(version),
        "status": version.status,
        "category": [status_concept(codes.OBSERVATION_CATEGORY, category)],
        "code": concept(version.code),
        "subject": subject_ref,
        "effectiveDateTime": version.effective,
        "valueCodeableConcept": concept(version.value),
    }


def render(
    profile: PatientProfile,
    version: Version,
    resource_id: str,
    patient_reference: str,
    with_identifier: bool,
    related: str | None = None,
) -> Json:
    if isinstance(version, PatientVersion):
        return patient(profile, version, resource_id)
    subject_ref = subject(profile, patient_reference, with_identifier)
    if isinstance(version, ConditionVersion):
        return condition(version, resource_id, subject_ref, related)
    return observation(version, resource_id, subject_ref)


def bundle(bundle_id: str, kind: BundleType, entries: list[tuple[str, Json]]) -> Json:
    """A Bundle whose entries carry `urn:uuid` full URLs; updates keep their ids (PUT)."""
    rendered = []
    for full_url, resource in entries:
        entry: Json = {"fullUrl": full_url, "resource": resource}
        if kind != "collection":
            entry["request"] = {
                "method": "PUT",
                "url": f"{resource['resourceType']}/{resource['id']}",
            }
        rendered.append(entry)
    return {"resourceType": "Bundle", "id": bundle_id, "type": kind, "entry": rendered}
