"""Every delivery marked `rejected` really is invalid, in exactly the way its reason says."""

import json
from collections import Counter

import hl7
import pytest
from fhir.resources.R4B.condition import Condition
from fhir.resources.R4B.observation import Observation
from fhir.resources.R4B.patient import Patient
from pydantic import ValidationError

from services.demo.cohort import REJECTION_REASONS, Cohort, Delivery
from shared.nhs_number import NHS_NUMBER_SYSTEM, is_valid_nhs_number

MODELS = {"Condition": Condition, "Observation": Observation, "Patient": Patient}


def rejected(cohort: Cohort, reason: str) -> list[Delivery]:
    found = [d for d in cohort.deliveries if d.reason == reason]
    assert found, f"no {reason} delivery"
    assert all(d.expect == "rejected" for d in found)
    return found


def validation_errors(body: dict[str, object]) -> list[dict[str, object]]:
    with pytest.raises(ValidationError) as raised:
        MODELS[str(body["resourceType"])].model_validate(body)
    return list(raised.value.errors())


def test_every_reason_appears_and_only_rejected_deliveries_carry_one(cohort: Cohort) -> None:
    reasons = Counter(d.reason for d in cohort.deliveries if d.expect == "rejected")
    assert set(reasons) == set(REJECTION_REASONS)
    assert all(d.reason is None for d in cohort.deliveries if d.expect == "accepted")


def test_malformed_json_does_not_parse(cohort: Cohort) -> None:
    for delivery in rejected(cohort, "malformed-json"):
        with pytest.raises(json.JSONDecodeError):
            json.loads(delivery.body)


def test_an_unknown_element_is_the_only_fault(cohort: Cohort) -> None:
    for delivery in rejected(cohort, "unknown-element"):
        errors = validation_errors(json.loads(delivery.body))
        assert [e["type"] for e in errors] == ["extra_forbidden"]


def test_a_missing_subject_is_the_only_fault(cohort: Cohort) -> None:
    """R4 requires Condition.subject; an Observation without one is valid FHIR but has no patient."""
    for delivery in rejected(cohort, "missing-subject"):
        body = json.loads(delivery.body)
        assert "subject" not in body
        if body["resourceType"] == "Condition":
            assert [e["loc"] for e in validation_errors(body)] == [("subject",)]
        else:
            MODELS[body["resourceType"]].model_validate(body)


def test_a_bad_date_is_the_only_fault(cohort: Cohort) -> None:
    for delivery in rejected(cohort, "invalid-date"):
        errors = validation_errors(json.loads(delivery.body))
        assert [e["loc"][0] for e in errors] in (["onsetDateTime"], ["effectiveDateTime"])


def test_a_bad_nhs_number_fails_only_its_check_digit(cohort: Cohort) -> None:
    for delivery in rejected(cohort, "invalid-nhs-number"):
        if delivery.channel == "mllp":
            pid = hl7.parse(delivery.body.decode()).segment("PID")
            number = str(pid[3][0][0])
        else:
            body = json.loads(delivery.body)
            MODELS[body["resourceType"]].model_validate(body)
            if body["resourceType"] == "Patient":
                (number,) = [
                    i["value"] for i in body["identifier"] if i["system"] == NHS_NUMBER_SYSTEM
                ]
            else:
                number = body["subject"]["identifier"]["value"]
        assert len(number) == 10 and number.isdigit()
        assert not is_valid_nhs_number(number)


def test_bad_hl7_lacks_what_the_profile_requires(cohort: Cohort) -> None:
    for delivery in rejected(cohort, "invalid-hl7"):
        text = delivery.body.decode()
        segments = {line.split("|", 1)[0] for line in text.split("\r")}
        no_header = not text.startswith("MSH|") or len(text.split("\r")[0].split("|")) < 12
        assert no_header or "PID" not in segments
