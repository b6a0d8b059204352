"""The R4B model classes ingest validates with: two of fhir_core's checks made cheaper, two of its
type checks corrected as the R4 specification reads (https://hl7.org/fhir/R4/datatypes.html).

- Cheaper: `reject_null_complex_elements` (before validation) and
  `validate_after_model_construction` (after construction) work out, once per class instead of
  per element, which fields they must look at. Whenever the quick look finds anything, the
  element goes to the library's own check, so the answer, and any error, are the library's.
- Corrected: an `id` is at most 64 characters (fhir_core allows 255 unless told); a `url` holding
  a non-string is a validation error (fhir_core raised AttributeError, which escaped as a 500).

Importing this module puts the replacements in place before the first R4B model class is built;
ingest imports `fhir.resources` only through here. What the cheaper checks saved:
docs/performance.md. `tests/unit/ingest/test_fhir_models.py` holds both promises.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import fhir_core.constraints
from fhir_core.fhirabstractmodel import FHIRAbstractModel
from fhir_core.types import Url
from fhir_core.utils import is_list_type, is_primitive_type
from pydantic_core import Url as ParsedUrl

FHIR_ID_MAX_LENGTH = 64  # R4 datatypes: id, "any combination of ... with a length limit of 64"

library_check = FHIRAbstractModel.reject_null_complex_elements.__func__
library_after_check: Callable[[FHIRAbstractModel], FHIRAbstractModel] = vars(FHIRAbstractModel)[
    "validate_after_model_construction"
]


@functools.cache
def complex_lists(model: type[FHIRAbstractModel]) -> tuple[tuple[str | None, str], ...]:
    """(alias, name) of each field of `model` that is a list of a complex type."""
    return tuple(
        (field.alias, name)
        for name, field in model.model_fields.items()
        if is_list_type(field) and not is_primitive_type(field) and not name.endswith("__ext")
    )


def reject_null_complex_elements(cls: type[FHIRAbstractModel], data: Any) -> Any:
    """fhir_core's check, asked only when a list of a complex type holds a null."""
    if isinstance(data, dict):
        for alias, name in complex_lists(cls):
            value = data.get(alias if alias and alias in data else name)
            if isinstance(value, list) and any(item is None for item in value):
                return library_check(cls, data)
    return data


@dataclass(frozen=True)
class AfterChecks:
    """What fhir_core's after-construction check of one class looks at, worked out once."""

    required: tuple[str, ...]  # fields that must hold a value (or an extension saying why not)
    choices: tuple[tuple[tuple[str, ...], bool], ...]  # each choice's fields, and if required


_AFTER_CHECKS: dict[type, AfterChecks] = {}


def after_checks(model: FHIRAbstractModel) -> AfterChecks:
    cls = type(model)
    checks = _AFTER_CHECKS.get(cls)
    if checks is None:
        aliases = cls.get_alias_mapping()
        fields: Any = cls.model_fields
        checks = _AFTER_CHECKS[cls] = AfterChecks(
            required=tuple(aliases[name] for name, _ in model.get_required_fields()),
            choices=tuple(
                (tuple(choice), fields[choice[0]].json_schema_extra["one_of_many_required"] is True)
                for choice in model.get_one_of_many_fields().values()
            ),
        )
    return checks


def validate_after_model_construction(self: FHIRAbstractModel) -> FHIRAbstractModel:
    """fhir_core's check, asked only when an element is missing or a choice is not one of."""
    checks = after_checks(self)
    for name in checks.required:
        if getattr(self, name, None) is None:
            return library_after_check(self)
    for choice, required in checks.choices:
        present = sum(getattr(self, name, None) is not None for name in choice)
        if present > 1 or (required and present == 0):
            return library_after_check(self)
    return self


library_validate_url = vars(Url)["_validate_url"].__func__


def validate_url(cls: type[Url], input_value: Any, validator: Callable[[Any], Any]) -> Any:
    """fhir_core's check, given only strings (and parsed URLs): anything else is a value error."""
    if not isinstance(input_value, (str, ParsedUrl)):
        raise ValueError(f"a url must be a JSON string, not {type(input_value).__name__}")
    return library_validate_url(cls, input_value, validator)


fhir_core.constraints.TYPES_ID_MAX_LENGTH = FHIR_ID_MAX_LENGTH
Url._validate_url = classmethod(validate_url)  # type: ignore[method-assign,assignment]

replacements = {
    "reject_null_complex_elements": classmethod(reject_null_complex_elements),
    "validate_after_model_construction": validate_after_model_construction,
}
for name, replacement in replacements.items():
    setattr(FHIRAbstractModel, name, replacement)

from fhir.resources.R4B import get_fhir_model_class  # noqa: E402  (after the replacement)

__all__ = ["get_fhir_model_class"]
