"""Every accepted FHIR message is valid R4 (checked with fhir.resources R4B) in the UK Core shapes."""

import json
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient

from services.demo.cohort import GP_PRACTICES, TRUSTS, UNROUTABLE_GP_PRACTICES, Cohort
from shared.nhs_number import NHS_NUMBER_SYSTEM, ODS_SYSTEM, is_valid_nhs_number

MODELS = {"Condition": Condition, "Observation": Observation, "Patient": Patient}


def accepted_resources(cohort: Cohort) -> list[dict[str, Any]]:
    resources = []
    for delivery in cohort.deliveries:
        if delivery.channel != "http" or delivery.expect != "accepted":
            continue
        body = json.loads(delivery.body)
        if body["resourceType"] == "Bundle":
            resources += [entry["resource"] for entry in body["entry"]]
        else:
            resources.append(body)
    return resources


def test_every_accepted_resource_validates_as_fhir_r4(cohort: Cohort) -> None:
    resources = accepted_resources(cohort)
    for resource in resources:
        MODELS[resource["resourceType"]].model_validate(resource)
    assert {r["resourceType"] for r in resources} == set(MODELS)


def test_every_bundle_validates_and_its_entries_use_urn_uuid_full_urls(cohort: Cohort) -> None:
    bundles = [json.loads(d.body) for d in cohort.deliveries if d.path == "/fhir"]
    for bundle in bundles:
        Bundle.model_validate(bundle)
        assert all(entry["fullUrl"].startswith("urn:uuid:") for entry in bundle["entry"])
        if bundle["type"] != "collection":
            assert all(entry["request"]["method"] == "PUT" for entry in bundle["entry"])
    assert {b["type"] for b in bundles} == {"transaction", "batch", "collection"}


def test_urn_uuid_subjects_resolve_to_a_patient_in_the_same_bundle(cohort: Cohort) -> None:
    resolved = 0
    for delivery in cohort.deliveries:
        if delivery.path != "/fhir":
            continue
        entries = json.loads(delivery.body)["entry"]
        patients = {e["fullUrl"] for e in entries if e["resource"]["resourceType"] == "Patient"}
        for entry in entries:
            reference = entry["resource"].get("subject", {}).get("reference", "")
            if reference.startswith("urn:uuid:"):
                assert reference in patients
                resolved += 1
    assert resolved > 0


def test_every_resource_version_has_a_version_id_and_last_updated(cohort: Cohort) -> None:
    for resource in accepted_resources(cohort):
        assert resource["meta"]["versionId"].isdigit()
        assert resource["meta"]["lastUpdated"].endswith("+00:00")


def test_every_nhs_number_in_truth_and_patients_is_valid_and_in_the_test_range(
    cohort: Cohort,
) -> None:
    numbers = set(cohort.truth)
    for resource in accepted_resources(cohort):
        if resource["resourceType"] == "Patient":
            (nhs,) = [
                i["value"] for i in resource["identifier"] if i["system"] == NHS_NUMBER_SYSTEM
            ]
            numbers.add(nhs)
    assert all(is_valid_nhs_number(n) and n.startswith("999") for n in numbers)
    assert len(numbers) == len(cohort.truth)


def test_patients_name_their_gp_practice_and_treating_trust_by_ods_code(cohort: Cohort) -> None:
    practices = {**GP_PRACTICES, **UNROUTABLE_GP_PRACTICES}
    for resource in accepted_resources(cohort):
        if resource["resourceType"] != "Patient":
            continue
        (gp,) = resource["generalPractitioner"]
        assert gp["identifier"]["system"] == ODS_SYSTEM and gp["identifier"]["value"] in practices
        trust = resource["managingOrganization"]["identifier"]
        assert trust["system"] == ODS_SYSTEM and trust["value"] in TRUSTS


def test_clinical_resources_refer_to_their_patient_with_the_nhs_number_when_given(
    cohort: Cohort,
) -> None:
    for resource in accepted_resources(cohort):
        if resource["resourceType"] == "Patient":
            continue
        subject = resource["subject"]
        assert subject["reference"].startswith(("Patient/", "urn:uuid:"))
        if "identifier" in subject:
            assert subject["identifier"]["system"] == NHS_NUMBER_SYSTEM
            assert subject["identifier"]["value"] in cohort.truth


def test_entered_in_error_conditions_carry_no_clinical_status(cohort: Cohort) -> None:
    corrected = [
        r
        for r in accepted_resources(cohort)
        if r["resourceType"] == "Condition"
        and r["verificationStatus"]["coding"][0]["code"] == "entered-in-error"
    ]
    assert corrected
    assert not any("clinicalStatus" in r for r in corrected)


def test_http_paths_match_the_resource_they_carry(cohort: Cohort) -> None:
    for delivery in cohort.deliveries:
        if delivery.channel != "http" or delivery.expect != "accepted":
            continue
        body = json.loads(delivery.body)
        if delivery.method == "PUT":
            assert delivery.path == f"/fhir/{body['resourceType']}/{body['id']}"
        elif body["resourceType"] == "Bundle":
            assert delivery.path == "/fhir"
        else:
            assert delivery.path == f"/fhir/{body['resourceType']}"
        assert delivery.content_type == "application/fhir+json"
