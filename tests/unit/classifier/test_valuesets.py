"""The SNOMED CT value sets: built reproducibly, meanings from anchors and rules, validated."""

import copy
from pathlib import Path

import pytest

from services.classifier.terminology import load_terminology
from services.classifier.valuesets.build import EXPANSIONS, build, load_rules, rendered
from services.classifier.valuesets.load import ValueSetsUnreadable, snomed_meanings
from services.classifier.valuesets.meanings import Concept
from services.classifier.valuesets.validate import problems

SNOMED = "http://snomed.info/sct"


@pytest.fixture(scope="module")
def built() -> dict:
    return build()


def test_the_build_regenerates_the_committed_value_sets_byte_for_byte(built: dict) -> None:
    for name, data in rendered(built):
        assert (EXPANSIONS / name).read_bytes() == data, f"{name}: run rmbc terminology build"


def test_the_expansion_is_dated_by_its_sources_not_by_the_clock(built: dict) -> None:
    for resource in built.values():
        assert resource["expansion"]["timestamp"] == "2021-09-10T00:00:00Z"
        sources = [p for p in resource["expansion"]["parameter"] if p["name"] == "source"]
        assert len(sources) == 7
        assert resource["compose"]["include"][0]["filter"][0]["property"] == "constraint"


@pytest.mark.parametrize(
    ("term", "hint", "meaning"),
    [
        (
            "Secondary malignant neoplasm of axillary lymph nodes",
            "secondary",
            ("secondary", "regional", "regional_lymph_nodes", False),
        ),
        (
            "Secondary malignant neoplasm of internal mammary lymph nodes",
            None,
            ("secondary", "regional", "regional_lymph_nodes", False),
        ),
        (
            "Secondary malignant neoplasm of inguinal lymph nodes",
            "secondary",
            ("secondary", "distant", "distant_lymph_nodes", False),
        ),
        (
            "Secondary malignant neoplasm of lymph node",
            "secondary",
            ("secondary", "regional", "regional_lymph_nodes", True),
        ),
        (
            "Secondary malignant neoplasm of chest wall",
            "secondary",
            ("secondary", "local", None, False),
        ),
        (
            "Secondary malignant neoplasm of skin of breast",
            "secondary",
            ("secondary", "local", None, False),
        ),
        (
            "Secondary malignant neoplasm of left breast (disorder)",
            "secondary",
            ("secondary", "local", None, True),
        ),
        (
            "Secondary malignant neoplasm of skin of back",
            "secondary",
            ("secondary", "distant", "skin", False),
        ),
        (
            "Secondary malignant neoplasm of thoracic vertebral column",
            "secondary",
            ("secondary", "distant", "bone", False),
        ),
        (
            "Secondary malignant neoplasm of hepatic flexure of colon",
            "secondary",
            ("secondary", "distant", "other", False),
        ),
        (
            "Widespread metastatic malignant neoplastic disease (disorder)",
            "secondary",
            ("secondary", "distant", "unknown", False),
        ),
        (
            "[X]Secondary malignant neoplasm of other specified sites",
            None,
            ("secondary", "distant", "other", False),
        ),
        (
            "Metastasis from malignant tumor of colon",
            "secondary",
            ("non_breast_primary", None, None, False),
        ),
        (
            "UKP - Metastasis to bone of unknown primary",
            "secondary",
            ("unknown_primary", None, None, False),
        ),
        (
            "Infiltrating lobular carcinoma of left female breast",
            "primary",
            ("breast_primary", None, None, False),
        ),
        (
            "Primary basal cell carcinoma of skin of left breast (disorder)",
            "primary",
            ("non_breast_primary", None, None, False),
        ),
        ("Malignant lymphoma of breast", "primary", ("non_breast_primary", None, None, False)),
        (
            "Breast cancer detected by national screening programme",
            None,
            ("breast_primary", None, None, False),
        ),
        ("Intraductal carcinoma in situ of left breast", None, ("in_situ", None, None, False)),
        ("Carcinoma of colon (disorder)", None, ("non_breast_primary", None, None, False)),
    ],
)
def test_a_concept_gets_its_meaning_from_the_rules_over_its_term(
    term: str, hint: str | None, meaning: tuple
) -> None:
    got = load_rules().meaning(Concept("1", term, hint))
    assert got is not None
    assert (got.kind, got.scope, got.site, got.ambiguous) == meaning


@pytest.mark.parametrize(
    "term",
    [
        "Lobular carcinoma (morphologic abnormality)",
        "Cachexia due to malignant neoplastic disease",
        "Oral chemotherapy for malignant neoplasm",
        "History of malignant lymphoma",
        "Neoplasm of uncertain behavior of spleen",
        "Hereditary breast and ovarian cancer syndrome (disorder)",
    ],
)
def test_a_concept_that_is_no_cancer_diagnosis_means_nothing(term: str) -> None:
    assert load_rules().meaning(Concept("1", term, None)) is None


def test_an_anchor_decides_whatever_the_term_says() -> None:
    meaning = load_rules().meaning(
        Concept("255118005", "Secondary lymphangitic carcinoma", "secondary")
    )
    assert meaning is not None and (meaning.site, meaning.rule) == ("lung", "anchor")


def test_the_shipped_value_sets_validate(built: dict) -> None:
    assert problems(built, load_rules()) == []


def test_a_concept_in_two_value_sets_a_missing_anchor_or_an_unknown_site_is_refused(
    built: dict,
) -> None:
    broken = copy.deepcopy(built)
    secondary = broken["secondary.json"]["expansion"]["contains"]
    broken["other-primary.json"]["expansion"]["contains"].append(copy.deepcopy(secondary[-1]))
    bone = next(e for e in secondary if e["code"] == "94222008")
    secondary.remove(bone)
    site = next(
        part
        for entry in secondary
        for part in entry["extension"][0]["extension"]
        if part["url"] == "site"
    )
    site["valueCode"] = "pancreas"

    found = problems(broken, load_rules())

    assert any(p.startswith(f"{secondary[-1]['code']} is in both") for p in found)
    assert "anchor 94222008 is missing" in found
    assert any("unknown COSD site 'pancreas'" in p for p in found)


def test_the_classifier_reads_descendants_by_code_and_keeps_terminology_json_anchors() -> None:
    terms = load_terminology()
    for code in ("408643008", "372064008", "353431000119107", "1080261000119100"):
        meaning = terms.condition_meaning(SNOMED, code)
        assert meaning is not None and meaning.kind == "breast_primary", code
    root = terms.condition_meaning(SNOMED, "128462008")
    assert root is not None and root.refine_by_body_site
    nodes = terms.condition_meaning(SNOMED, "1090091000000108")  # UK: internal mammary nodes
    assert nodes is not None and (nodes.scope, nodes.site) == ("regional", "regional_lymph_nodes")
    assert terms.condition_meaning(SNOMED, "195967001") is None  # asthma


def test_the_loaded_table_shares_one_object_per_distinct_meaning() -> None:
    table = snomed_meanings(EXPANSIONS)
    assert len(table) > 5000
    assert len({id(meaning) for meaning in table.values()}) < 40


def test_a_directory_of_value_sets_that_cannot_be_read_stops_with_its_path(tmp_path: Path) -> None:
    (tmp_path / "index.json").write_text('{"value_sets": ["secondary.json"]}')
    (tmp_path / "secondary.json").write_text("{not json")
    with pytest.raises(ValueSetsUnreadable, match=str(tmp_path)):
        snomed_meanings(tmp_path)
