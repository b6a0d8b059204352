from datetime import date

from services.notifier.registry_record import metastases, registry_record
from tests.unit.notifier.factory import NHS_NUMBER, NOW, flag


def pairs(f):
    return [(m.cr6520_metastatic_type, m.cr1590_metastatic_site) for m in metastases(f)]


def test_the_record_carries_the_cosd_linkage_items_and_the_original_primary():
    record = registry_record(flag(), "submit", None, NOW)
    assert record.cr0010_nhs_number == NHS_NUMBER
    assert record.cr1350_nhs_number_status == "01"
    assert record.cr0100_birth_date == date(1961, 3, 14)
    assert record.cr0030_provider_ods == "RX1"
    assert record.cr0120_gp_practice_ods == "A81001"
    assert record.cr7100_original_primary_icd == "C50.4"
    assert record.cr6500_episode_date == date(2026, 10, 1)
    assert record.cr1550_palliative_care_seen == "9"
    assert record.cr9000_relapse_method is None  # COSD 9 is "Other": never asserted unrecorded
    assert record.evidence == ["Condition/sec-1/_history/1"]


def test_distant_sites_become_type_03_with_their_cosd_site_codes():
    assert pairs(flag()) == [("03", "10"), ("03", "03")]


def test_regional_nodes_are_type_02_site_12():
    f = flag(recurrence_types=["regional"], metastatic_sites=["regional_lymph_nodes"])
    assert pairs(f) == [("02", "12")]


def test_a_local_recurrence_is_type_01_with_site_not_applicable():
    assert pairs(flag(recurrence_types=["local"], metastatic_sites=[])) == [("01", "97")]


def test_a_distant_recurrence_without_a_known_site_is_recorded_as_site_unknown():
    assert pairs(flag(recurrence_types=["distant"], metastatic_sites=[])) == [("03", "07")]


def test_every_site_maps_to_a_cosd_code():
    sites = ["brain", "lung", "skin", "distant_lymph_nodes", "bone_marrow", "other", "unknown"]
    assert [s for _, s in pairs(flag(metastatic_sites=sites))] == [
        "02",
        "04",
        "08",
        "09",
        "11",
        "98",
        "07",
    ]


def test_the_record_id_is_deterministic_by_flag_and_revision():
    a = registry_record(flag(revision=2, state="updated"), "amend", "x", NOW)
    b = registry_record(flag(revision=2, state="updated"), "amend", "x", NOW)
    c = registry_record(flag(revision=3, state="updated"), "amend", "x", NOW)
    assert a.record_id == b.record_id != c.record_id
    assert a.event_id == b.event_id
