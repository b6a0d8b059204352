"""The examples in examples/hl7v2/ (docs/hl7v2-profile.md) are accepted as documented, and the
correction examples replace and then withdraw the original's site."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.classifier.batch import classify_resources
from services.classifier.terminology import load_terminology
from services.ingest.hl7.decoding import interpret

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "hl7v2"
PROFILE = Path(__file__).resolve().parents[3] / "docs" / "hl7v2-profile.md"


def example(name: str) -> bytes:
    return (EXAMPLES / name).read_bytes()


@pytest.mark.parametrize("name", sorted(p.name for p in EXAMPLES.glob("*.hl7")))
def test_each_example_is_accepted_without_an_error(name: str) -> None:
    found = interpret(example(name))
    assert found.outcome == "publish", found.issues
    assert all(issue.severity in ("W", "I") for issue in found.issues)
    assert found.resources, "each example publishes something"
    assert name in PROFILE.read_text(encoding="utf-8")


def test_the_profile_has_an_example_of_every_message_type() -> None:
    kinds = {interpret(example(p.name)).header.message_type for p in EXAMPLES.glob("*.hl7")}
    assert kinds == {"ADT", "ORU", "PPR"}


def test_the_correction_examples_replace_the_liver_site_then_withdraw_it() -> None:
    terms, now = load_terminology(), datetime(2025, 4, 1, tzinfo=UTC)

    def sites(*names: str) -> list[str]:
        resources = [r for name in names for r in interpret(example(name)).resources]
        [row] = classify_resources(resources, terms, now)
        return list(row["metastatic_sites"])

    assert sites("oru_r01.hl7") == ["liver"]
    assert sites("oru_r01.hl7", "oru_r01_correction.hl7") == ["lung"]
    # the lung site withdrawn; the report's cM1 still says metastatic, site not known
    assert sites("oru_r01.hl7", "oru_r01_correction.hl7", "oru_r01_withdrawal.hl7") == ["unknown"]
    assert sites("ppr_pc1.hl7") == ["bone"]
    assert sites("ppr_pc1.hl7", "ppr_pc1_withdrawal.hl7") == []
