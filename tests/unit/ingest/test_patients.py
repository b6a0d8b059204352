from datetime import date

from services.ingest.patients import (
    PatientIndex,
    context_from_patient,
    context_from_subject,
    fill_gaps,
    patient_key,
    reference_key,
)
from shared.events import PatientContext
from tests.unit.ingest.samples import GP_ODS, NHS_NUMBER, NHS_SYSTEM, TRUST_ODS, patient


def test_a_patient_with_an_nhs_number_is_keyed_by_it_and_carries_its_demographics():
    context = context_from_patient(patient(), "Patient/p1")
    assert patient_key(context) == NHS_NUMBER
    assert context.gp_practice_ods == GP_ODS
    assert context.provider_ods == TRUST_ODS
    assert context.birth_date == date(1961, 4, 12)
    assert (context.family_name, context.given_names) == ("Brontë", "Zoë Ann")
    assert context.patient_reference == "Patient/p1"


def test_a_patient_without_nhs_number_is_keyed_by_its_local_identifier():
    context = context_from_patient(patient(nhs_number=None), "Patient/p1")
    assert patient_key(context) == "https://trust.example.nhs.uk/mrn|MRN-p1"


def test_a_subject_with_only_a_reference_is_keyed_by_the_reference():
    context = context_from_subject({"reference": "Patient/x9"}, "Patient/x9")
    assert patient_key(context) == "Patient/x9"


def test_a_spaced_nhs_number_in_the_subject_is_normalised():
    subject = {"identifier": {"system": NHS_SYSTEM, "value": "943 476 5919"}}
    assert patient_key(context_from_subject(subject, None)) == NHS_NUMBER


def test_the_nhs_number_verification_status_extension_is_read():
    resource = patient()
    resource["identifier"][0]["extension"] = [
        {
            "url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus",
            "valueCodeableConcept": {"coding": [{"code": "01"}]},
        }
    ]
    assert context_from_patient(resource, "Patient/p1").nhs_number_status == "01"


def test_absolute_and_versioned_patient_references_reduce_to_patient_id():
    assert reference_key("https://trust.example.nhs.uk/fhir/Patient/p1") == "Patient/p1"
    assert reference_key("Patient/p1/_history/3") == "Patient/p1"
    assert reference_key("Group/g1") is None


def test_the_patient_index_forgets_the_least_recently_used_beyond_its_bound():
    index = PatientIndex(max_patients=2)
    for name in ("a", "b"):
        index.remember(context_from_patient(patient(name), f"Patient/{name}"))
    assert index.get("Patient/a") is not None  # a is now the most recently used
    index.remember(context_from_patient(patient("c"), "Patient/c"))
    assert index.get("Patient/b") is None
    assert index.get("Patient/a") is not None
    assert len(index) == 2


def test_a_later_patient_keeps_earlier_fields_it_leaves_empty_unless_another_nhs_number() -> None:
    earlier = PatientContext(nhs_number="9434765919", gp_practice_ods="Y01234", family_name="A")
    same = PatientContext(nhs_number="9434765919", family_name="B")
    other = PatientContext(nhs_number="9449306753", family_name="C")
    assert fill_gaps(same, earlier) == PatientContext(
        nhs_number="9434765919", gp_practice_ods="Y01234", family_name="B"
    )
    assert fill_gaps(other, earlier) == other
