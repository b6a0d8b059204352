"""The rmbc HL7 v2 profile maps to FHIR R4 resources that validate, or says what it did not map."""

from typing import Any

import hl7
import pytest
from fhir.resources.R4B import get_fhir_model_class

from services.ingest.hl7.issues import MessageRejected
from services.ingest.hl7.mapping import map_message
from tests.unit.ingest import hl7_samples as s

NHS_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"


def validate_r4(resource: dict[str, Any]) -> None:
    get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def rejected(text: str) -> MessageRejected:
    with pytest.raises(MessageRejected) as caught:
        map_message(text)
    return caught.value


@pytest.mark.parametrize("event", ["A01", "A04", "A08", "A28", "A31"])
def test_every_adt_event_becomes_one_valid_patient(event: str) -> None:
    mapped = map_message(s.adt(event))
    [patient] = mapped.resources
    validate_r4(patient)
    assert patient["resourceType"] == "Patient"
    assert patient["id"] == "hl7-RX1-L123"


def test_adt_patient_carries_identity_demographics_practice_and_trust() -> None:
    [patient] = map_message(s.adt()).resources
    assert patient["identifier"][0] == {"system": NHS_SYSTEM, "value": s.NHS}
    assert patient["identifier"][1]["value"] == "L123"
    assert patient["name"] == [{"use": "official", "family": "BRONTË", "given": ["ZOË"]}]
    assert patient["birthDate"] == "1970-01-01"
    assert patient["gender"] == "female"
    assert patient["generalPractitioner"][0]["identifier"]["value"] == "Y01234"
    assert patient["managingOrganization"]["identifier"]["value"] == "RX1"
    assert patient["meta"] == {"versionId": "20250314103000", "lastUpdated": "2025-03-14T10:30:00Z"}


def test_a_python_hl7_message_maps_like_its_text() -> None:
    assert map_message(hl7.parse(s.adt())).resources == map_message(s.adt()).resources


def test_lf_and_crlf_segment_endings_are_read_as_carriage_returns() -> None:
    text = s.adt()
    assert map_message(text.replace("\r", "\n")).resources == map_message(text).resources
    assert map_message(text.replace("\r", "\r\n")).resources == map_message(text).resources


def test_summer_message_time_without_offset_is_london_time() -> None:
    [patient] = map_message(s.adt(header=s.msh("ADT^A08", stamp="20250701120000"))).resources
    assert patient["meta"]["lastUpdated"] == "2025-07-01T11:00:00Z"


@pytest.mark.parametrize(
    ("code", "value", "status", "expected_status"),
    [
        ("97509-4^Disease status^LN", "271299001^Worsened^SCT", "F", "final"),
        ("399387003^Clinical M^SCT", "1229903009^cM1^SCT", "C", "amended"),
        ("371497001^Pathological M^SCT", "1229916009^pM1^SCT", "P", "preliminary"),
        ("21907-1^Distant metastases.clinical^LN", "1229901006^cM0^SCT", "W", "entered-in-error"),
        ("21901-4^Distant metastases.pathology^LN", "1229916009^pM1^SCT", "D", "entered-in-error"),
    ],
)
def test_disease_status_and_tnm_m_results_become_observations(
    code: str, value: str, status: str, expected_status: str
) -> None:
    mapped = map_message(s.oru(s.obx(code=code, value=value, status=status)))
    [observation] = mapped.resources
    validate_r4(observation)
    assert observation["resourceType"] == "Observation"
    resent = map_message(s.oru(s.obx(code=code, value=value), header=s.msh(control_id="MSG0002")))
    assert observation["id"] == resent.resources[0]["id"]  # the observation's identity, not MSH-10
    assert observation["status"] == expected_status
    assert observation["code"]["coding"][0]["code"] == code.split("^")[0]
    assert observation["valueCodeableConcept"]["coding"][0]["code"] == value.split("^")[0]
    assert observation["effectiveDateTime"] == "2025-03-14T10:00:00+00:00"
    assert observation["subject"] == {
        "reference": "Patient/hl7-RX1-L123",
        "identifier": {"system": NHS_SYSTEM, "value": s.NHS},
    }
    assert mapped.not_mapped == []


@pytest.mark.parametrize(
    ("status", "verification", "clinical"),
    [("F", "confirmed", "active"), ("P", "provisional", "active"), ("W", "entered-in-error", None)],
)
def test_a_diagnosis_result_becomes_a_condition(
    status: str, verification: str, clinical: str | None
) -> None:
    diagnosis = s.obx(code="29308-4^Diagnosis^LN", value="94222008^Bone mets^SCT", status=status)
    [condition] = map_message(s.oru(diagnosis)).resources
    validate_r4(condition)
    assert condition["resourceType"] == "Condition"
    assert condition["verificationStatus"]["coding"][0]["code"] == verification
    assert condition.get("clinicalStatus", {}).get("coding", [{}])[0].get("code") == clinical
    assert condition["onsetDateTime"] == "2025-03-14T10:00:00+00:00"
    assert condition["subject"]["identifier"]["value"] == s.NHS


def test_an_icd10_diagnosis_keeps_its_icd10_system() -> None:
    diagnosis = s.obx(code="29308-4^Diagnosis^LN", value="C78.7^Liver secondary^I10")
    [condition] = map_message(s.oru(diagnosis)).resources
    assert condition["code"]["coding"][0] == {
        "system": "http://hl7.org/fhir/sid/icd-10",
        "code": "C78.7",
        "display": "Liver secondary",
    }


def test_an_obx_outside_the_profile_is_named_as_not_mapped_and_the_rest_still_maps() -> None:
    haemoglobin = s.obx("2", code="718-7^Haemoglobin^LN", value="x^y^SCT")
    mapped = map_message(s.oru(s.obx("1"), haemoglobin))
    assert [r["code"]["coding"][0]["code"] for r in mapped.resources] == ["97509-4"]
    [skipped] = mapped.not_mapped
    assert skipped.location == "OBX^2^3"
    assert skipped.reason == "unsupported-observation-code"
    assert "718-7" in skipped.text


@pytest.mark.parametrize(
    ("segment", "location", "reason"),
    [
        (s.obx(value_type="NM", value="42"), "OBX^1^2", "unsupported-value-type"),
        (s.obx(status="X"), "OBX^1^11", "unsupported-result-status"),
        (s.obx(value="123^Local^99LOCAL"), "OBX^1^5", "unsupported-code-system"),
    ],
)
def test_well_formed_results_the_profile_does_not_cover_are_not_mapped(
    segment: str, location: str, reason: str
) -> None:
    mapped = map_message(s.oru(segment))
    assert mapped.resources == []
    assert [(n.location, n.reason) for n in mapped.not_mapped] == [(location, reason)]


@pytest.mark.parametrize(
    ("life_cycle", "confirmation"),
    [
        ("active", "confirmed"),
        ("recurrence", "confirmed"),
        ("relapse", "unconfirmed"),
        ("inactive", "provisional"),
        ("remission", "differential"),
        ("resolved", "refuted"),
    ],
)
def test_each_problem_status_maps_to_the_condition_statuses(
    life_cycle: str, confirmation: str
) -> None:
    [condition] = map_message(
        s.ppr(s.prb(life_cycle=life_cycle, confirmation=confirmation))
    ).resources
    validate_r4(condition)
    assert condition["id"] == "hl7-RX1-P42"
    assert condition["clinicalStatus"]["coding"][0]["code"] == life_cycle
    assert condition["verificationStatus"]["coding"][0]["code"] == confirmation
    assert condition["onsetDateTime"] == "2025-03-01"
    assert condition["code"]["coding"][0]["system"] == "http://hl7.org/fhir/sid/icd-10"


def test_a_deleted_problem_is_entered_in_error_without_a_clinical_status() -> None:
    [condition] = map_message(s.ppr(s.prb(action="DE"))).resources
    validate_r4(condition)
    assert condition["verificationStatus"]["coding"][0]["code"] == "entered-in-error"
    assert "clinicalStatus" not in condition


def test_every_prb_becomes_a_condition_with_its_own_id() -> None:
    mapped = map_message(
        s.ppr(s.prb(instance="P1"), s.prb(instance="P2", code="94222008^Bone^SCT"))
    )
    assert [r["id"] for r in mapped.resources] == ["hl7-RX1-P1", "hl7-RX1-P2"]
    assert mapped.resources[1]["code"]["coding"][0]["system"] == "http://snomed.info/sct"
    assert mapped.sources == ["PRB^1", "PRB^2"]


def test_a_problem_changed_the_same_day_is_versioned_by_the_message_time() -> None:
    [condition] = map_message(s.ppr(s.prb(action_date="20250314"))).resources
    assert condition["meta"]["lastUpdated"] == "2025-03-14T10:30:00Z"
    [older] = map_message(s.ppr(s.prb(action_date="20250201"))).resources
    assert older["meta"]["lastUpdated"] == "2025-02-01T00:00:00Z"


def test_a_problem_abatement_date_maps_to_abatement() -> None:
    problem = s.prb(life_cycle="remission").split("|")
    problem[9] = "20240601"
    [condition] = map_message(s.ppr("|".join(problem))).resources
    assert condition["abatementDateTime"] == "2024-06-01"


def test_a_problem_in_an_unknown_coding_system_is_not_mapped() -> None:
    mapped = map_message(s.ppr(s.prb(code="X1^Local^99ZZ")))
    assert mapped.resources == []
    assert [n.location for n in mapped.not_mapped] == ["PRB^1^3"]


def test_an_invalid_nhs_number_rejects_the_message_at_pid_3() -> None:
    error = rejected(s.oru(patient=s.pid(s.BAD_NHS)))
    assert error.ack_code == "AE"
    assert [(i.location, i.code) for i in error.issues] == [("PID^1^3", "102")]
    assert s.BAD_NHS not in str(error)


@pytest.mark.parametrize(
    ("text", "location", "code"),
    [
        (s.adt(patient=s.pid(birth="19701301")), "PID^1^7", "102"),
        (s.adt(patient=s.pid(birth="1970-01-01")), "PID^1^7", "102"),
        (s.adt(patient=s.pid(sex="Q")), "PID^1^8", "103"),
        (s.oru(s.obx(date="20250230")), "OBX^1^14", "102"),
        (s.oru(s.obx(status="")), "OBX^1^11", "101"),
        (s.oru(s.obx(value="")), "OBX^1^5", "101"),
        (s.oru(s.obx("1"), s.obx("1")), "OBX^2^1", "205"),
        (s.ppr(s.prb(onset="2025")), None, None),
        (s.ppr(s.prb(onset="20251399")), "PRB^1^16", "102"),
        (s.ppr(s.prb(instance="")), "PRB^1^4", "101"),
        (s.ppr(s.prb(confirmation="maybe")), "PRB^1^13", "103"),
        (s.ppr(s.prb(life_cycle="gone")), "PRB^1^14", "103"),
        (s.ppr(s.prb(action="XX")), "PRB^1^1", "103"),
        (s.adt(header=s.msh("ADT^A08", stamp="not-a-date")), "MSH^1^7", "102"),
        (s.adt(patient="PID|1||^^^NHS^NH"), "PID^1^3", "101"),
    ],
)
def test_bad_content_is_rejected_with_ae_at_its_location(
    text: str, location: str | None, code: str | None
) -> None:
    if location is None:
        assert map_message(text).resources[0]["onsetDateTime"] == "2025"
        return
    error = rejected(text)
    assert error.ack_code == "AE"
    assert (location, code) in [(i.location, i.code) for i in error.issues]


@pytest.mark.parametrize(
    ("header", "location", "code"),
    [
        (s.msh("SIU^S12"), "MSH^1^9", "200"),
        (s.msh("ADT^A03"), "MSH^1^9", "201"),
        (s.msh(control_id=""), "MSH^1^10", "101"),
        (s.msh(processing="T"), "MSH^1^11", "202"),
        (s.msh(version="2.2"), "MSH^1^12", "203"),
    ],
)
def test_messages_rmbc_does_not_take_are_rejected_with_ar(
    header: str, location: str, code: str
) -> None:
    error = rejected(s.oru(header=header))
    assert error.ack_code == "AR"
    assert [(i.location, i.code) for i in error.issues] == [(location, code)]


def test_a_message_without_pid_is_rejected() -> None:
    error = rejected(s.msh() + "\rOBX|1")
    assert error.issues[0].location == "PID^1"


def test_a_patient_with_only_a_local_identifier_is_keyed_by_it() -> None:
    [obs] = map_message(s.oru(patient="PID|1||L9^^^RX1^MR||DOE^JO||19800101|F")).resources
    assert obs["subject"] == {
        "reference": "Patient/hl7-RX1-L9",
        "identifier": {"system": "urn:rmbc:hl7:RX1:MR", "value": "L9"},
    }
    validate_r4(obs)


def test_ids_that_are_not_valid_fhir_ids_become_stable_hashes() -> None:
    [first] = map_message(s.ppr(s.prb(instance="PROB 42/a"))).resources
    [again] = map_message(s.ppr(s.prb(instance="PROB 42/a"))).resources
    assert first["id"] == again["id"]
    assert first["id"].startswith("hl7-")
    validate_r4(first)
