"""Codes as real senders write them: OIDs, edition URIs, German ICD-10-GM, ICD-10-CM, M1 and stage
IV in SNOMED CT / AJCC / UICC, site-of-distant-metastasis observations, assertedDate, and the mCODE
extensions that link a secondary to its primary. Each patient goes through `rmbc classify`'s rules."""

from datetime import UTC, datetime
from typing import Any

import pytest

from services.classifier.offline import classify_resources
from services.classifier.terminology import load_terminology, normalise_code
from tests.scenarios.build import ICD, LEFT, RIGHT, SCT, Case

NOW = datetime(2026, 1, 1, tzinfo=UTC)
LOINC = "http://loinc.org"
AJCC = "http://cancerstaging.org"
UICC = "https://www.uicc.org/resources/tnm"
GM = "http://fhir.de/CodeSystem/bfarm/icd-10-gm"
MII_SITES = (
    "https://www.medizininformatik-initiative.de/fhir/ext/modul-onko/CodeSystem/"
    "mii-cs-onko-fernmetastasen"
)
MCODE = "http://hl7.org/fhir/us/mcode/StructureDefinition/"


def outcome(case: Case) -> dict[str, Any]:
    rows = classify_resources(case.resources, load_terminology(), NOW)
    assert len(rows) == 1
    return rows[0]


def observation(case: Case, oid: str, code: tuple[str, str], value: tuple[str, str], when: str):
    case.observation(oid, code, "x", when)
    case.resources[-1]["valueCodeableConcept"] = {
        "coding": [{"system": value[0], "code": value[1]}]
    }
    return case.resources[-1]


@pytest.mark.parametrize(
    "system",
    [
        "urn:oid:2.16.840.1.113883.6.96",
        "http://snomed.info/sct/999000041000000102",
        "http://snomed.info/sct/900000000000207008/version/20230901",
        " HTTP://SNOMED.INFO/SCT ",
    ],
)
def test_snomed_ct_is_read_under_its_oid_and_its_edition_and_module_uris(system: str) -> None:
    case = Case(1).patient().remitted_primary()
    case.condition("met", (system, " 94222008 "), "2021-04-02")
    row = outcome(case)
    assert row["recurrence"] is True and row["metastatic_sites"] == ["bone"]
    evidence = row["flags"][0]["evidence"]
    assert {"system": SCT, "code": "94222008"}.items() <= evidence[-1].items()


@pytest.mark.parametrize("system", [GM, "http://fhir.de/CodeSystem/dimdi/icd-10-gm"])
@pytest.mark.parametrize("code", ["C79.5", "c79.5 ", "C79.5*", "C79.5 !", "C79.5 G"])
def test_german_icd10_gm_codes_are_read_with_their_uris_and_marks(system: str, code: str) -> None:
    case = Case(1).patient().remitted_primary()
    case.condition("met", (system, code), "2021-04-02")
    assert outcome(case)["metastatic_sites"] == ["bone"]


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("C50.4 L", "C50.4"),
        ("c79.5* ", "C79.5"),
        ("C50.4 R V", "C50.4"),
        ("C79.5 C50.9", "C79.5 C50.9"),
        ("C79.5;x", "C79.5;x"),
        ("C79.50000", "C79.50000"),
        ("C79.5" + "0" * 100_000, "C79.5" + "0" * 100_000),
    ],
)
def test_only_icd10_gm_marks_are_taken_off_a_code_never_what_else_follows_it(
    written: str, read: str
) -> None:
    assert normalise_code("icd10", written) == read


def test_a_german_side_mark_makes_a_second_breast_cancer_contralateral() -> None:
    case = Case(1).patient().remitted_primary(side=LEFT)
    case.condition("second", (GM, "C50.4 R"), "2021-04-02")
    row = outcome(case)
    assert row["recurrence"] is False and row["flags"] == []


def test_a_german_side_extension_counts_as_the_side() -> None:
    case = Case(1).patient().remitted_primary(side=LEFT)
    case.condition("second", (GM, "C50.4"), "2021-04-02")
    case.resources[-1]["code"]["coding"][0]["extension"] = [
        {
            "url": "http://fhir.de/StructureDefinition/seitenlokalisation",
            "valueCoding": {"code": "L"},
        }
    ]
    row = outcome(case)
    assert row["recurrence"] is True and row["recurrence_types"] == ["local"]


@pytest.mark.parametrize(
    ("mark", "extension"), [("C79.5 A", None), ("C79.5", "A"), ("C79.5 V", None)]
)
def test_a_german_excluded_or_suspected_secondary_never_raises_an_alert(
    mark: str, extension: str | None
) -> None:
    case = Case(1).patient().remitted_primary()
    case.condition("met", (GM, mark), "2021-04-02")
    if extension:
        case.resources[-1]["code"]["coding"][0]["extension"] = [
            {
                "url": "http://fhir.de/StructureDefinition/icd-10-gm-diagnosesicherheit",
                "valueCoding": {"code": extension},
            }
        ]
    row = outcome(case)
    assert row["metastatic"] is False
    assert all(f["kind"] == "review" for f in row["flags"])


@pytest.mark.parametrize(
    ("code", "site"),
    [
        ("C7B.02", "liver"),
        ("C7B.03", "bone"),
        ("C7B.01", "distant_lymph_nodes"),
        ("C7B.8", "other"),
    ],
)
def test_icd10_cm_secondary_neuroendocrine_tumours_are_secondaries(code: str, site: str) -> None:
    case = Case(1).patient().remitted_primary()
    case.condition("met", ("http://hl7.org/fhir/sid/icd-10-cm", code), "2021-04-02")
    assert outcome(case)["metastatic_sites"] == [site]


@pytest.mark.parametrize("code", ["C4A.9", "C7A.00"])
def test_icd10_cm_merkel_and_neuroendocrine_primaries_are_other_primaries(code: str) -> None:
    case = Case(1).patient().remitted_primary()
    case.condition("other", ("http://hl7.org/fhir/sid/icd-10-cm", code), "2020-06-01")
    case.condition("met", (SCT, "94225005"), "2021-04-02", related="other")
    row = outcome(case)
    assert row["metastatic"] is False and row["flags"] == []


M_CATEGORY_CODES = [
    (SCT, "399387003"),
    (SCT, "371497001"),
    (SCT, "277208005"),
    (LOINC, "21907-1"),
    (LOINC, "21901-4"),
    (LOINC, "21913-9"),
]
M1_VALUES = [
    (SCT, "1229903009"),
    (SCT, "1229904003"),
    (SCT, "1229916009"),
    (SCT, "1229923005"),
    (AJCC, "cM1"),
    (AJCC, "pM1"),
    (AJCC, "M1"),
    (UICC, "M1"),
    (UICC, "M1b"),
]


@pytest.mark.parametrize("code", M_CATEGORY_CODES)
@pytest.mark.parametrize("value", M1_VALUES)
def test_an_m1_category_in_any_coding_at_diagnosis_is_de_novo_metastatic(code, value) -> None:
    case = Case(1).patient().primary()
    observation(case, "m", code, value, "2018-03-20")
    row = outcome(case)
    assert row["de_novo_metastatic"] is True and row["metastatic_sites"] == ["unknown"]


def test_an_m1_value_without_a_system_is_still_read_as_snomed_ct() -> None:
    case = Case(1).patient().primary()
    observation(case, "m", (SCT, "399387003"), (SCT, "1229903009"), "2018-03-20")
    del case.resources[-1]["valueCodeableConcept"]["coding"][0]["system"]
    assert outcome(case)["de_novo_metastatic"] is True


@pytest.mark.parametrize("value", [(SCT, "1229901006"), (SCT, "1229902004"), (AJCC, "cM0")])
def test_m0_categories_including_isolated_tumour_cells_are_not_metastatic(value) -> None:
    case = Case(1).patient().primary()
    observation(case, "m", (SCT, "399387003"), value, "2018-03-20")
    assert outcome(case)["metastatic"] is False


STAGE_CODES = [
    (LOINC, "21908-9"),
    (LOINC, "21902-2"),
    (LOINC, "21914-7"),
    (SCT, "399537006"),
    (SCT, "399588009"),
    (SCT, "399390009"),
]
STAGE_IV = [(SCT, "1222837003"), (SCT, "258228008"), (AJCC, "4"), (AJCC, "IV"), (UICC, "IV")]


@pytest.mark.parametrize("code", STAGE_CODES)
@pytest.mark.parametrize("value", STAGE_IV)
def test_a_stage_group_iv_is_distant_evidence_without_a_site(code, value) -> None:
    case = Case(1).patient().remitted_primary()
    observation(case, "stage", code, value, "2021-04-02")
    row = outcome(case)
    assert row["recurrence"] is True and row["recurrence_types"] == ["distant"]
    assert row["metastatic_sites"] == ["unknown"]
    assert row["flags"][0]["evidence"][-1]["rule"] == "5: stage group IV"


def test_stage_iiic_is_not_stage_iv() -> None:
    case = Case(1).patient().primary()  # 1222806003 is AJCC stage IIIC (mCODE examples)
    observation(case, "stage", (LOINC, "21908-9"), (SCT, "1222806003"), "2018-03-20")
    assert outcome(case)["metastatic"] is False


def test_a_stage_iv_observation_focused_on_another_primary_is_not_breast_cancer() -> None:
    case = Case(1).patient().remitted_primary()
    case.condition("lung", (SCT, "93880001"), "2020-09-01")
    stage = observation(case, "stage", (LOINC, "21908-9"), (SCT, "1222837003"), "2021-04-02")
    stage["focus"] = [{"reference": "Condition/lung-1"}]
    row = outcome(case)
    assert row["metastatic"] is False and row["flags"] == []


@pytest.mark.parametrize(
    ("value", "site"),
    [
        ((MII_SITES, "HEP"), "liver"),
        ((MII_SITES, "OSS"), "bone"),
        ((MII_SITES, "LYM"), "distant_lymph_nodes"),
        ((SCT, "258332000"), "lung"),
        ((SCT, "12738006"), "brain"),
    ],
)
def test_a_site_of_distant_metastasis_observation_names_the_cosd_site(value, site) -> None:
    case = Case(1).patient().remitted_primary()
    observation(case, "site", (SCT, "385421009"), value, "2021-04-02")
    row = outcome(case)
    assert row["recurrence"] is True and row["metastatic_sites"] == [site]


def test_a_site_of_distant_metastasis_may_be_carried_in_body_site() -> None:
    case = Case(1).patient().remitted_primary()  # as the MII Onkologie example writes it
    site = observation(case, "site", (SCT, "385421009"), ("http://example.org", "x"), "2021-04-02")
    del site["valueCodeableConcept"]
    site["bodySite"] = {"coding": [{"system": MII_SITES, "code": "PUL"}]}
    assert outcome(case)["metastatic_sites"] == ["lung"]


def test_a_site_observation_with_a_value_the_table_does_not_know_raises_nothing() -> None:
    case = Case(1).patient().remitted_primary()
    observation(case, "site", (SCT, "385421009"), ("https://cap.org/eCC", "352343"), "2021-04-02")
    row = outcome(case)
    assert row["metastatic"] is False and row["flags"] == []


def test_without_onset_the_asserted_date_comes_before_the_recorded_date() -> None:
    case = Case(1).patient().remitted_primary()
    case.condition("met", (SCT, "94222008"), None, recorded="2022-06-30")
    case.resources[-1]["extension"] = [
        {
            "url": "http://hl7.org/fhir/StructureDefinition/condition-assertedDate",
            "valueDateTime": "2021-04-02",
        }
    ]
    assert outcome(case)["episode_date"] == "2021-04-02"


@pytest.mark.parametrize(
    "url",
    [
        MCODE + "mcode-related-primary-cancer-condition",
        MCODE + "mcode-condition-related",
        MCODE + "mcode-related-condition",
        "http://hl7.org/fhir/StructureDefinition/condition-related",
    ],
)
def test_a_lung_primarys_brain_metastasis_linked_by_any_mcode_extension_is_no_breast_alert(
    url: str,
) -> None:
    case = Case(1).patient().remitted_primary(side=RIGHT)
    case.condition("lung", (SCT, "93880001"), "2020-09-01")
    case.condition("met", (SCT, "94225005"), "2021-04-02")
    case.resources[-1]["extension"] = [
        {"url": url, "valueReference": {"reference": "Condition/lung-1"}}
    ]
    row = outcome(case)
    assert row["recurrence"] is False and row["metastatic"] is False
    assert row["flags"] == []


@pytest.mark.parametrize(
    "reference",
    [
        "https://fhir.trust.example.nhs.uk/R4/Condition/lung-1",
        "Condition/lung-1/_history/3",
        "urn:uuid:lung-1",
    ],
)
def test_a_link_to_the_lung_primary_counts_however_the_reference_is_written(reference) -> None:
    case = Case(1).patient().remitted_primary()
    case.condition("lung", (SCT, "93880001"), "2020-09-01")
    case.condition("met", (SCT, "94225005"), "2021-04-02")
    case.resources[-1]["extension"] = [
        {"url": MCODE + "mcode-related-condition", "valueReference": {"reference": reference}}
    ]
    assert outcome(case)["flags"] == []


def test_an_unlinked_brain_metastasis_beside_a_lung_primary_still_alerts_for_review() -> None:
    case = Case(1).patient().remitted_primary()
    case.condition("lung", (SCT, "93880001"), "2020-09-01")
    case.condition("met", (ICD, "C79.3"), "2021-04-02")
    row = outcome(case)
    assert row["metastatic_sites"] == ["brain"]
    assert row["flags"][0]["needs_review"] is True
