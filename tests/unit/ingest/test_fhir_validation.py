from services.ingest.fhir.request_body import bundle_shell_issues
from services.ingest.validation import fhir_path, resource_issues
from tests.unit.ingest.samples import (
    BAD_NHS_NUMBER,
    NHS_SYSTEM,
    bundle,
    condition,
    observation,
    patient,
)


def expressions(issues):
    return [issue.expression for issue in issues]


def test_a_uk_core_condition_observation_and_patient_are_valid():
    assert resource_issues(condition(), "Condition") == []
    assert resource_issues(observation(), "Observation") == []
    assert resource_issues(patient(), "Patient") == []


def test_an_unknown_element_is_named_by_its_fhirpath():
    issues = resource_issues(condition(severityScore=3), "Bundle.entry[2].resource")
    assert expressions(issues) == ["Bundle.entry[2].resource.severityScore"]
    assert issues[0].code == "structure"


def test_a_bad_date_is_a_value_issue_at_the_element():
    issues = resource_issues(condition(onsetDateTime="2024-13-01"), "Condition")
    assert [(i.code, i.expression) for i in issues] == [("value", "Condition.onsetDateTime")]


def test_a_missing_required_element_is_a_required_issue():
    resource = observation()
    del resource["status"]
    issues = resource_issues(resource, "Observation")
    assert [(i.code, i.expression) for i in issues] == [("required", "Observation.status")]


def test_a_nested_wrong_type_points_inside_the_element():
    resource = condition(code={"coding": [{"system": "http://snomed.info/sct", "code": 5}]})
    assert expressions(resource_issues(resource, "Condition")) == ["Condition.code.coding[0].code"]


def test_a_clinical_status_outside_the_required_value_set_is_refused():
    resource = condition()
    resource["clinicalStatus"]["coding"][0]["code"] = "metastatic"
    issues = resource_issues(resource, "Condition")
    assert [(i.code, i.expression) for i in issues] == [
        ("code-invalid", "Condition.clinicalStatus.coding[0].code")
    ]


def test_a_verification_status_without_the_fhir_code_system_is_refused():
    resource = condition(verificationStatus={"coding": [{"system": "urn:local", "code": "yes"}]})
    assert expressions(resource_issues(resource, "Condition")) == [
        "Condition.verificationStatus.coding"
    ]


def test_an_observation_status_outside_the_value_set_is_refused():
    issues = resource_issues(observation(status="done"), "Observation")
    assert [(i.code, i.expression) for i in issues] == [("code-invalid", "Observation.status")]


def test_a_condition_without_subject_is_refused():
    resource = condition()
    del resource["subject"]
    assert expressions(resource_issues(resource, "Condition")) == ["Condition.subject"]


def test_an_observation_without_subject_is_refused_because_it_has_no_patient():
    resource = observation()
    del resource["subject"]
    assert expressions(resource_issues(resource, "Observation")) == ["Observation.subject"]


def test_a_patient_nhs_number_failing_the_check_digit_is_refused():
    issues = resource_issues(patient(nhs_number=BAD_NHS_NUMBER), "Patient")
    assert [(i.code, i.expression) for i in issues] == [("value", "Patient.identifier[0].value")]
    assert BAD_NHS_NUMBER not in issues[0].diagnostics


def test_a_subject_nhs_number_failing_the_check_digit_is_refused():
    subject = {"identifier": {"system": NHS_SYSTEM, "value": "123456789"}}
    issues = resource_issues(condition(subject=subject), "Condition")
    assert expressions(issues) == ["Condition.subject.identifier.value"]


def test_an_unsupported_resource_type_is_not_supported():
    issues = resource_issues(
        {"resourceType": "Encounter", "status": "planned"}, "Bundle.entry[0].resource"
    )
    assert [(i.code, i.expression) for i in issues] == [
        ("not-supported", "Bundle.entry[0].resource.resourceType")
    ]


def test_a_resource_that_is_not_an_object_is_a_structure_issue():
    assert [i.code for i in resource_issues([1, 2], "Condition")] == ["structure"]


def test_a_bundle_of_an_unsupported_type_is_refused_at_bundle_type():
    issues = bundle_shell_issues(bundle("searchset", [condition()]))
    assert expressions(issues) == ["Bundle.type"]


def test_a_transaction_entry_without_request_is_named():
    raw = bundle("transaction", [condition(), condition("c2")])
    del raw["entry"][1]["request"]
    assert expressions(bundle_shell_issues(raw)) == ["Bundle.entry[1].request"]


def test_a_delete_in_a_transaction_is_not_supported():
    raw = bundle("transaction", [condition()])
    raw["entry"][0]["request"] = {"method": "DELETE", "url": "Condition/c1"}
    assert [(i.code, i.expression) for i in bundle_shell_issues(raw)] == [
        ("not-supported", "Bundle.entry[0].request.method")
    ]


def test_pydantic_locations_become_fhirpath():
    assert fhir_path("Bundle", ("entry", 3, "resource", "subject", "root")) == (
        "Bundle.entry[3].resource.subject"
    )
    assert fhir_path("Condition", ("resource_type",)) == "Condition.resourceType"


def test_an_unknown_element_in_one_entry_among_plain_ones_is_named_at_its_entry():
    raw = bundle("transaction", [condition(), condition("c2"), condition("c3")])
    raw["entry"][2]["request"]["ifNoneExist"] = "identifier=x"
    raw["entry"][1]["searchMode"] = "match"
    assert [(i.code, i.expression) for i in bundle_shell_issues(raw)] == [
        ("structure", "Bundle.entry[1].searchMode")
    ]
