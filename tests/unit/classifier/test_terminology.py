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
