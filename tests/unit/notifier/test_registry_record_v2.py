"""COSD v10 items of the v2 registry record, pathway by pathway.

Item numbers and value sets: Health-Informatics-UoN/nuh-data `schemas/datasets/cosd/cosd.yaml`."""

from datetime import date

from services.notifier.registry_record import registry_record, registry_record_v2
from shared.events import PrimaryTumour
from tests.unit.notifier.factory import NHS_NUMBER, NOW, flag, patient


def v2(f, action="submit", supersedes=None):
    return registry_record_v2(f, registry_record(f, action, supersedes, NOW))


def test_a_recurrence_is_a_non_primary_record_with_cr6500_cr7100_and_cr6520_cr1590_pairs():
    record = v2(flag(kind="recurrence"))
    assert record.pathway == "non_primary"
    assert record.primary is None and record.progression is None
    assert record.recurrence is not None
    assert record.recurrence.cr6500_non_primary_diagnosis_date == date(2026, 10, 1)
    assert record.recurrence.cr7100_original_primary_icd == "C50.4"
    pairs = [
        (m.cr6520_metastatic_type, m.cr1590_metastatic_site) for m in record.recurrence.metastases
    ]
    assert pairs == [("03", "10"), ("03", "03")]


def test_a_recurrence_asserts_no_palliative_care_or_detection_method_it_was_not_given():
    record = v2(flag(kind="recurrence"))
    assert record.recurrence is not None
    assert record.recurrence.cr1550_palliative_care_seen is None
    assert record.recurrence.cr9000_relapse_method is None
    assert "cr9000_relapse_method" not in record.recurrence.model_dump(exclude_none=True)


def test_progression_carries_cr6900_with_its_own_type_and_site_pairs():
    record = v2(flag(kind="metastatic_progression"))
    assert record.pathway == "non_primary"
    assert record.recurrence is None and record.progression is not None
    assert record.progression.cr6900_progression_icd == "C50.4"
    assert record.progression.cr6500_non_primary_diagnosis_date == date(2026, 10, 1)
    pairs = [
        (m.cr6520_metastatic_type, m.cr1590_metastatic_site) for m in record.progression.metastases
    ]
    assert pairs == [("03", "10"), ("03", "03")]


def test_de_novo_disease_is_the_primary_pathway_with_cr6960_cr6970_pairs_at_diagnosis():
    record = v2(flag(kind="de_novo_metastatic"))
    assert record.pathway == "primary"
    assert record.recurrence is None and record.progression is None
    assert record.primary is not None
    assert record.primary.cr0370_primary_diagnosis_icd == "C50.4"
    assert record.primary.cr2030_primary_diagnosis_date == date(2019, 5, 2)
    pairs = [
        (m.cr6960_metastatic_type, m.cr6970_metastatic_site)
        for m in record.primary.metastases_at_diagnosis
    ]
    assert pairs == [("03", "10"), ("03", "03")]


def test_the_linkage_items_come_from_the_patient_and_the_record_is_complete():
    record = v2(flag())
    assert record.cr0010_nhs_number == NHS_NUMBER
    assert record.cr1350_nhs_number_status == "01"
    assert record.cr0100_birth_date == date(1961, 3, 14)
    assert record.cr0030_provider_ods == "RX1"
    assert record.cr0120_gp_practice_ods == "A81001"
    assert record.incomplete_items == []


def test_every_record_is_proposed_until_agreed_at_mdt():
    assert {v2(flag(kind=k)).provenance for k in ("recurrence", "de_novo_metastatic")} == {
        "proposed"
    }


def test_a_patient_known_only_by_a_local_id_gets_cr0020_and_stays_complete():
    p = patient(nhs_number=None, local_identifier="https://trust.example/mrn|MRN0042")
    record = v2(flag(patient=p))
    assert record.cr0010_nhs_number is None
    assert record.cr0020_local_patient_identifier == "MRN0042"
    assert record.incomplete_items == []


def test_a_local_id_longer_than_an10_is_left_out_not_cut_and_named_as_missing():
    p = patient(nhs_number=None, local_identifier="sys|ABCDEFGHIJK")
    record = v2(flag(patient=p))
    assert record.cr0020_local_patient_identifier is None
    assert record.incomplete_items == ["CR0010/CR0020"]


def test_missing_nhs_number_status_and_birth_date_are_named_never_filled():
    record = v2(flag(patient=patient(nhs_number_status=None, birth_date=None)))
    assert record.cr1350_nhs_number_status is None
    assert record.cr0100_birth_date is None
    assert record.incomplete_items == ["CR1350", "CR0100"]


def test_a_recurrence_without_an_episode_date_or_primary_code_names_cr6500_and_cr7100():
    record = v2(flag(episode_date=None, primary=None))
    assert record.incomplete_items == ["CR6500", "CR7100"]


def test_the_v2_record_keeps_the_v1_record_id_action_and_supersedes():
    f = flag(state="updated", revision=2)
    v1 = registry_record(f, "amend", "earlier-id", NOW)
    record = registry_record_v2(f, v1)
    assert (record.record_id, record.action, record.supersedes) == (
        v1.record_id,
        "amend",
        "earlier-id",
    )
    assert record.schema_version == 2


def test_a_value_outside_the_cosd_value_set_is_left_out_and_named_not_passed_on():
    f = flag(patient=patient(nhs_number_status="9", gp_practice_ods="a81001"))
    record = v2(f)
    assert record.cr1350_nhs_number_status is None
    assert record.cr0120_gp_practice_ods is None
    assert record.invalid_items == ["CR1350", "CR0120"]
    assert record.incomplete_items == ["CR1350"]


def test_a_us_icd_10_cm_primary_code_is_not_a_cosd_icd_10_code_and_is_named():
    f = flag(primary=PrimaryTumour(icd10="C50.911", diagnosis_date=date(2019, 5, 2)))
    record = v2(f)
    assert record.invalid_items == ["CR7100"]
    assert record.incomplete_items == ["CR7100"]
