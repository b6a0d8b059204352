"""HL7 corrections replace the original: an OBX re-sent for the same observation (order number,
OBX-3, OBX-4) with OBX-11 C updates it, with W withdraws it; a PRB re-sent with DE withdraws its
problem. Checked through the classifier's own rules (`rmbc classify`), as a FHIR
entered-in-error version is."""

from datetime import UTC, datetime
from typing import Any

import pytest

from services.classifier.batch import classify_resources
from services.classifier.terminology import load_terminology
from services.ingest.hl7.mapping import map_message
from tests.unit.ingest import hl7_samples as s

NOW = datetime(2025, 4, 1, tzinfo=UTC)


def diagnosis(set_id: str, code: str, status: str = "F", sub_id: str = "") -> str:
    return f"OBX|{set_id}|CWE|29308-4^Diagnosis^LN|{sub_id}|{code}||||||{status}|||20250301"


def published(*messages: str) -> list[dict[str, Any]]:
    """What ingest publishes for each message, in order (Patient first, as it travels)."""
    resources: list[dict[str, Any]] = []
    for message in messages:
        resources += map_message(message).publishable()[0]
    return resources


def sites(resources: list[dict[str, Any]]) -> list[str]:
    [row] = classify_resources(resources, load_terminology(), NOW)
    return list(row["metastatic_sites"])


def report(*observations: str, control_id: str = "MSG0001", stamp: str = "20250314103000") -> str:
    return s.oru(*observations, header=s.msh(control_id=control_id, stamp=stamp))


def later_report(*observations: str) -> str:
    """A report of the same order sent six days after `report`'s."""
    return report(*observations, control_id="MSG0002", stamp="20250320090000")


BREAST_AND_LIVER = (
    diagnosis("1", "C50.9^Breast^I10", sub_id="1"),
    diagnosis("2", "C78.7^Liver secondary^I10", sub_id="2"),
)


@pytest.mark.parametrize("sub_ids", [("1", "2", "3"), ("", "", "")], ids=["OBX-4", "no OBX-4"])
def test_an_oru_result_withdrawn_with_w_in_a_resent_report_leaves_the_flag(
    sub_ids: tuple[str, str, str],
) -> None:
    breast, liver, bone = sub_ids
    original = report(
        diagnosis("1", "C50.9^Breast^I10", sub_id=breast),
        diagnosis("2", "C78.7^Liver secondary^I10", sub_id=liver),
        diagnosis("3", "C79.5^Bone secondary^I10", sub_id=bone),
    )
    # the engine resends the whole report, the withdrawn result marked W
    withdrawal = later_report(
        diagnosis("1", "C50.9^Breast^I10", sub_id=breast),
        diagnosis("2", "C78.7^Liver secondary^I10", "W", sub_id=liver),
        diagnosis("3", "C79.5^Bone secondary^I10", sub_id=bone),
    )
    assert sites(published(original)) == ["bone", "liver"]
    assert sites(published(original, withdrawal)) == ["bone"]


def test_a_single_withdrawn_result_with_its_obx_4_leaves_the_flag() -> None:
    original = report(
        diagnosis("1", "C50.9^Breast^I10", sub_id="1"),
        diagnosis("2", "C78.7^Liver secondary^I10", sub_id="2"),
        diagnosis("3", "C79.5^Bone secondary^I10", sub_id="3"),
    )
    withdrawal = later_report(diagnosis("1", "C78.7^Liver secondary^I10", "W", sub_id="2"))
    assert sites(published(original, withdrawal)) == ["bone"]


def test_an_oru_result_corrected_with_c_replaces_the_original_site() -> None:
    original = report(*BREAST_AND_LIVER)
    correction = later_report(diagnosis("2", "C78.0^Lung secondary^I10", "C", sub_id="2"))
    [before] = map_message(original).resources[1:]
    [after] = map_message(correction).resources
    assert after["id"] == before["id"]
    assert after["meta"]["versionId"] > before["meta"]["versionId"]
    assert sites(published(original, correction)) == ["lung"]


def test_a_withdrawal_arriving_first_still_wins_over_the_older_original() -> None:
    original = report(*BREAST_AND_LIVER)
    withdrawal = later_report(diagnosis("2", "C78.7^Liver secondary^I10", "W", sub_id="2"))
    assert sites(published(withdrawal, original)) == []


def test_results_of_another_order_are_other_observations() -> None:
    first = report(diagnosis("1", "C78.7^Liver secondary^I10", sub_id="1"))
    other_order = first.replace("OBR|1||R1|", "OBR|1||R2|")
    assert map_message(first).resources[0]["id"] != map_message(other_order).resources[0]["id"]


def test_a_ppr_problem_withdrawn_with_de_leaves_the_flag() -> None:
    def problems(*segments: str, control_id: str, stamp: str) -> str:
        return s.ppr(*segments, header=s.msh("PPR^PC1^PPR_PC1", control_id, stamp=stamp))

    original = problems(
        s.prb(code="C50.9^Breast^I10", instance="P1"),
        s.prb(code="C78.7^Liver secondary^I10", instance="P2"),
        s.prb(code="C79.5^Bone secondary^I10", instance="P3"),
        control_id="PPR1",
        stamp="20250314103000",
    )
    withdrawal = problems(
        s.prb(action="DE", action_date="20250320", code="C78.7^Liver secondary^I10", instance="P2"),
        control_id="PPR2",
        stamp="20250320090000",
    )
    assert sites(published(original)) == ["bone", "liver"]
    assert sites(published(original, withdrawal)) == ["bone"]
