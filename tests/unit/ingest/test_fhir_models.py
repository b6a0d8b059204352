"""The cheaper checks of `services.ingest.fhir_models` answer as fhir_core's own do, and they are
the ones a fresh ingest process validates with."""

import subprocess
import sys
from typing import Any

import pytest
from pydantic import ValidationError

from services.ingest.fhir_models import (
    after_checks,
    complex_lists,
    get_fhir_model_class,
    library_after_check,
    library_check,
    reject_null_complex_elements,
    validate_after_model_construction,
)

CLASSES = [
    "Condition", "Observation", "Patient", "Bundle", "BundleEntry", "MessageHeader",
    "CodeableConcept", "HumanName", "Identifier", "Reference", "Extension", "Meta",
]  # fmt: skip


def answer(check: Any, cls: type, data: Any) -> Any:
    try:
        return ("passed", check(cls, data))
    except ValidationError as error:
        return ("refused", error.errors(include_url=False))


def variants(cls: Any) -> list[dict[str, Any]]:
    """For every list field of `cls`: a null among items, items only, and the field missing."""
    found: list[dict[str, Any]] = [{}, {"resourceType": "X"}]
    for name, field in cls.model_fields.items():
        key = field.alias or name
        found += [{key: [None]}, {key: [{}, None]}, {key: [{}]}, {key: None}, {name: [None]}]
    return found


@pytest.mark.parametrize("type_name", CLASSES)
def test_the_null_check_answers_as_the_library_does_for_every_field(type_name: str) -> None:
    cls = get_fhir_model_class(type_name)
    for data in [*variants(cls), "not a dict", None]:
        assert answer(reject_null_complex_elements, cls, data) == answer(library_check, cls, data)


def test_a_class_with_lists_of_complex_types_has_them_found() -> None:
    keys = {alias for alias, _ in complex_lists(get_fhir_model_class("Condition"))}
    assert {"bodySite", "evidence", "stage", "identifier", "extension"} <= keys
    assert "category" in keys and "code" not in keys  # code is a single CodeableConcept


def test_a_null_in_a_list_of_codeable_concepts_is_still_refused_by_the_model() -> None:
    condition = {
        "resourceType": "Condition",
        "subject": {"reference": "Patient/p1"},
        "bodySite": [{"text": "bone"}, None],
    }
    with pytest.raises(ValidationError, match="None is not allowed as an element of bodySite"):
        get_fhir_model_class("Condition").model_validate(condition)


def constructed(cls: Any) -> list[Any]:
    """Instances built without validation: nothing set, each required element alone, each choice
    with one, two and all of its fields set, and a required element explained by an extension."""
    probe = cls.model_construct()
    checks = after_checks(probe)
    value: dict[str, Any] = {"a": 1}
    found = [probe, cls.model_construct(**dict.fromkeys(checks.required, value))]
    for name in checks.required:
        found.append(cls.model_construct(**{name: value}))
        found.append(cls.model_construct(**{f"{name}__ext": {"extension": [value]}}))
    for choice, _ in checks.choices:
        found += [
            cls.model_construct(**{choice[0]: value}),
            cls.model_construct(**{choice[-1]: value}),
        ]
        found.append(cls.model_construct(**dict.fromkeys(choice[:2], value)))
        found.append(cls.model_construct(**dict.fromkeys(choice, value)))
    return found


def after_answer(check: Any, model: Any) -> Any:
    try:
        return ("passed", check(model) is model)
    except (ValidationError, ValueError) as error:
        return ("refused", str(error))


@pytest.mark.parametrize(
    "type_name", [*CLASSES, "Dosage", "Timing", "ObservationComponent", "ConditionStage"]
)
def test_the_after_construction_check_answers_as_the_library_does(type_name: str) -> None:
    cls = get_fhir_model_class(type_name)
    for model in constructed(cls):
        assert after_answer(validate_after_model_construction, model) == after_answer(
            library_after_check, model
        )


def test_the_after_construction_check_knows_the_required_and_choice_elements() -> None:
    checks = after_checks(get_fhir_model_class("Observation").model_construct())
    assert checks.required == ("status",)
    assert any("valueQuantity" in choice for choice, _ in checks.choices)
    assert any(
        "effectiveDateTime" in choice and not required for choice, required in checks.choices
    )


def test_an_observation_with_two_values_is_still_refused_by_the_model() -> None:
    observation = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "valueString": "a",
        "valueBoolean": True,
    }
    with pytest.raises(ValidationError, match="but got multiple"):
        get_fhir_model_class("Observation").model_validate(observation)


CHECK_IN_A_FRESH_INGEST = """
import services.ingest.main
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from services.ingest import fhir_models
from services.ingest.validation import resource_issues
from tests.unit.ingest.samples import condition, observation, patient
for resource in (condition(), observation(), patient()):
    assert resource_issues(resource, resource["resourceType"]) == []
def built(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from built(sub)
validators = [sub.__pydantic_decorators__.model_validators for sub in built(FHIRAbstractModel)]
assert len(validators) > 20, validators
before = {v["reject_null_complex_elements"].func.__func__ for v in validators}
after = {v["validate_after_model_construction"].func for v in validators}
assert before == {fhir_models.reject_null_complex_elements}, before
assert after == {fhir_models.validate_after_model_construction}, after
"""


def test_every_model_class_a_fresh_ingest_process_builds_uses_the_cheaper_checks() -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHECK_IN_A_FRESH_INGEST], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
