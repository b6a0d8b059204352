"""Coverage of public SNOMED CT code lists (README.md names them): one minimal patient per
concept through `rmbc classify`'s engine, scored by meaning and COSD site."""

import pytest

from services.classifier.terminology import load_terminology
from tests.terminology.coverage import (
    Coverage,
    anchors_only,
    expectations,
    measure,
    scored_lists,
    unscored_source_lists,
    without_scored_lists,
)

TARGETS = {"breast_primary": 0.98, "secondary": 0.98, "other_primary": 0.95}


@pytest.fixture(scope="module")
def scored() -> tuple[dict, int]:
    return expectations(scored_lists())


@pytest.fixture(scope="module")
def shipped(scored: tuple[dict, int]) -> Coverage:
    coverage = measure(scored[0], load_terminology(), scored[1])
    print("\n" + coverage.table("shipped value sets on the OpenSAFELY and PCD non-cancer lists"))
    return coverage


@pytest.fixture(scope="module")
def independent(scored: tuple[dict, int]) -> Coverage:
    coverage = measure(scored[0], without_scored_lists(), scored[1])
    print("\n" + coverage.table("value sets built without those lists (independent)"))
    return coverage


def test_the_shipped_value_sets_meet_the_issue_targets_on_each_category(shipped: Coverage) -> None:
    for category, target in TARGETS.items():
        tally = shipped.tallies[category]
        assert tally.total > 0
        assert tally.share >= target, (category, tally.share, tally.misses[:10])


def test_no_non_cancer_concept_of_the_pcd_refsets_raises_any_flag(shipped: Coverage) -> None:
    tally = shipped.tallies["non_cancer"]
    assert tally.total > 1000
    assert tally.wrong == 0 and tally.right == tally.total, tally.misses[:10]


def test_built_without_the_scored_lists_no_concept_is_read_with_a_wrong_meaning_or_site(
    independent: Coverage,
) -> None:
    assert all(tally.wrong == 0 for tally in independent.tallies.values()), {
        name: tally.misses[:5] for name, tally in independent.tallies.items() if tally.wrong
    }


def test_built_without_the_scored_lists_every_miss_is_a_concept_those_sources_lack(
    independent: Coverage,
) -> None:
    """Misses are coverage gaps (legacy UK concepts mapped from Read codes), not rule errors."""
    for category in TARGETS:
        tally = independent.tallies[category]
        assert tally.total - tally.right <= independent.unseen_by_build[category]


def test_the_build_source_lists_are_read_right_by_the_shipped_value_sets() -> None:
    own, left_out = expectations(unscored_source_lists())
    coverage = measure(own, load_terminology(), left_out)
    print("\n" + coverage.table("mCODE and PCD cancer source lists (built from)"))
    for category, target in TARGETS.items():
        assert coverage.tallies[category].share >= target, coverage.tallies[category].misses[:10]


def test_before_the_value_sets_almost_no_snomed_concept_was_recognised(
    scored: tuple[dict, int],
) -> None:
    before = measure(scored[0], anchors_only(), scored[1])
    print("\n" + before.table("before: terminology.json alone"))
    assert before.tallies["breast_primary"].share < 0.1
    assert before.tallies["secondary"].share < 0.1
