import pytest

from services.classifier.terminology import MEANINGS_KEPT, load_terminology

ICD10 = "http://hl7.org/fhir/sid/icd-10"


def test_a_looked_up_meaning_is_the_same_from_the_cache() -> None:
    terms = load_terminology()
    first = terms.condition_meaning(ICD10, "C79.5")
    assert first is not None and first.kind == "secondary" and first.scope == "distant"
    assert terms.condition_meaning(ICD10, "C79.5") is first
    assert terms.condition_meaning(ICD10, "J45.9") is None


def test_a_feed_of_ever_new_codes_cannot_grow_the_cache_without_bound() -> None:
    terms = load_terminology()
    for number in range(MEANINGS_KEPT + 50):
        terms.condition_meaning("http://snomed.info/sct", str(10_000_000 + number))
    assert len(terms._meanings) <= MEANINGS_KEPT
    meaning = terms.condition_meaning(ICD10, "C78.7")
    assert meaning is not None and meaning.site == "liver"


def test_an_observation_code_is_known_under_each_system_of_its_family_and_no_other() -> None:
    terms = load_terminology()
    assert terms.observation_kind("http://loinc.org", "97509-4") == "disease_status"
    assert terms.observation_kind("http://snomed.info/sct", "399387003") == "m_category"
    assert terms.observation_kind("http://loinc.org", "21907-1") == "m_category"
    assert terms.observation_kind("http://snomed.info/sct", "21907-1") is None  # a LOINC code
    assert terms.observation_kind("http://loinc.org", "8480-6") is None
    assert terms.observation_kind(None, "97509-4") is None


@pytest.mark.parametrize("code", ["C79.5", "C795", "c79.51 ", "C50.912", "C79.5*", "Z85.3"])
def test_an_icd10_code_in_its_shape_is_matched_by_its_prefix(code: str) -> None:
    assert load_terminology().condition_meaning(ICD10, code) is not None


@pytest.mark.parametrize(
    "code", ["C79.5" + "0" * 300_000, "C79.50000", "C79.5;x", "C79.5 C50.9", "CC79.5", "C7"]
)
def test_a_code_not_in_the_icd10_shape_means_nothing_whatever_its_prefix(code: str) -> None:
    assert load_terminology().condition_meaning(ICD10, code) is None


@pytest.mark.parametrize(
    ("code", "meant"), [("8140/6", True), ("M8140/6", True), ("x" * 9 + "/6", False)]
)
def test_an_icdo3_morphology_is_matched_only_in_its_shape(code: str, meant: bool) -> None:
    meaning = load_terminology().condition_meaning(
        "http://terminology.hl7.org/CodeSystem/icd-o-3", code
    )
    assert (meaning is not None) == meant
