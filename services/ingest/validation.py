"""FHIR R4 resource validation for both edges, with the R4B models of `services.ingest.fhir_models`.

UK Core is FHIR R4 (4.0.1); `fhir.resources` 8.x has no pydantic-v2 R4 package, so the R4B models
(identical for Patient, Condition, Observation, Bundle and MessageHeader as far as rmbc uses them)
do the structural work: unknown elements, cardinality, primitive formats, dates. They do not check
coded values against value sets, so the required bindings that matter here are checked below, and
so is the NHS number's modulus-11 check digit.

Each resource is validated exactly once, from the dict `orjson` produced; the dict (not a
re-serialised model) is what travels on. A Bundle is validated as a shell (`fhir/request_body.py`:
its entries without their resources) plus one validation per entry resource here, which is both
faster than validating the whole Bundle model and gives each entry its own FHIRPath in the answer.
"""

import re
from datetime import UTC, date, datetime
from typing import Any

from pydantic import ValidationError

from services.ingest.errors import Issue, IssueCode
from services.ingest.fhir_models import get_fhir_model_class
from shared.nhs_number import (
    NHS_NUMBER_SYSTEM,
    RANGE_NAMES,
    SYSTEMS,
    is_valid_nhs_number,
    number_range,
)

CLINICAL_TYPES = ("Condition", "Observation", "Patient")

CONDITION_CLINICAL_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_CLINICAL_CODES = frozenset(
    {"active", "recurrence", "relapse", "inactive", "remission", "resolved"}
)
CONDITION_VERIFICATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_VERIFICATION_CODES = frozenset(
    {"unconfirmed", "provisional", "differential", "confirmed", "refuted", "entered-in-error"}
)
OBSERVATION_STATUS_CODES = frozenset(
    {
        "registered",
        "preliminary",
        "final",
        "amended",
        "corrected",
        "cancelled",
        "entered-in-error",
        "unknown",
    }
)
GENDER_CODES = frozenset({"male", "female", "other", "unknown"})

_MODELS: dict[str, Any] = {}


def _model(resource_type: str) -> Any:
    model = _MODELS.get(resource_type)
    if model is None:
        model = _MODELS[resource_type] = get_fhir_model_class(resource_type)
    return model


def holds_null(value: Any) -> bool:
    """Whether a null sits anywhere in `value`. Finding none is the common case, so this walk
    builds no paths; `_null_issues` names where the nulls are only when there are some."""
    if value is None:
        return True
    pending = [value] if isinstance(value, (dict, list)) else []
    while pending:
        container = pending.pop()
        for child in container.values() if isinstance(container, dict) else container:
            if child is None:
                return True
            if isinstance(child, (dict, list)):
                pending.append(child)
    return False


def resource_issues(raw: Any, at: str, allowed: tuple[str, ...] = CLINICAL_TYPES) -> list[Issue]:
    """Everything wrong with one resource; `at` is its FHIRPath (e.g. `Bundle.entry[3].resource`)."""
    if not isinstance(raw, dict):
        return [Issue("structure", "A resource must be a JSON object", at)]
    resource_type = raw.get("resourceType")
    if resource_type not in allowed:
        supported = ", ".join(allowed)
        return [
            Issue(
                "not-supported",
                f"Resource type {resource_type!r} is not accepted here (supported: {supported})",
                f"{at}.resourceType",
            )
        ]
    if _needs_a_closer_look(raw):
        issues = _null_issues(raw, at) or _bound_issues(raw, at)
        if issues:
            return issues
    issues = _model_issues(_model(resource_type), raw, at)
    if issues:
        return issues
    id_issue = fhir_id_issue(raw["id"], f"{at}.id") if "id" in raw else None
    if id_issue is not None:
        return [id_issue]
    return _date_issues(raw, at) or _binding_issues(resource_type, raw, at)


def full_url_id(full_url: str) -> str:
    """The id a fullUrl gives: `urn:uuid:<uuid>` -> the uuid, `<base>/Condition/1` -> `1`."""
    return full_url.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]


_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


def fhir_id_issue(value: str, at: str) -> Issue | None:
    r"""A FHIR id (R4 datatypes: [A-Za-z0-9\-.]{1,64}) that is also safe as a URL path segment:
    `.` and `..` match the pattern but name a directory, not a resource."""
    if _FHIR_ID.fullmatch(value) and value.strip(".") != "":
        return None
    shown = value[:40].encode("unicode_escape").decode("ascii")
    return Issue(
        "invalid",
        f"{shown!r} is not a FHIR id: 1 to 64 of A-Z a-z 0-9 - . and not only dots",
        at,
    )


def _null_issues(raw: dict[str, Any], at: str, limit: int = 5) -> list[Issue]:
    """FHIR JSON has no nulls (an absent element is left out); the R4B models would let them
    through as "absent" while the dict that travels on still holds them."""
    if not holds_null(raw):
        return []
    issues: list[Issue] = []
    pending: list[tuple[Any, str]] = [(raw, at)]
    while pending and len(issues) < limit:
        value, path = pending.pop()
        if value is None:
            issues.append(Issue("structure", "null is not allowed in FHIR JSON", path))
        elif isinstance(value, dict):
            pending.extend((child, f"{path}.{key}") for key, child in value.items())
        elif isinstance(value, list):
            pending.extend((child, f"{path}[{index}]") for index, child in enumerate(value))
    return issues


# Bounds on what a sender may put in one element, so that nothing downstream (the classifier's
# state and flags, GP letters, e-mails, registry records, Kafka's message size) meets an unbounded
# value. FHIR caps only `id` (64, enforced by the models); these fit every code system rmbc reads
# (SNOMED CT ids are at most 18 digits, ICD-10 and LOINC codes under 10) with room to spare.
MAX_KEY_CHARS = 64  # the longest R4 element name is under 40 characters
MAX_CODE_CHARS = 128  # `code`: a code system's code
MAX_TEXT_CHARS = 65_536  # narrative, free text, attachments
MAX_STRING_CHARS = 1024  # every other string: uris, identifiers, names, displays
LONG_TEXT_KEYS = frozenset(
    {"div", "text", "data", "valueString", "valueMarkdown", "valueBase64Binary"}
)
# a dateTime at the very ends of the year range can leave it once made UTC (`0001-01-01T00:00:00+14:00`
# is in year 0): Python, and so the classifier, cannot hold it
_EDGE_DATETIME = re.compile(
    r"^(0001|9999)-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$"
)


def _string_limit(key: str) -> int:
    if key == "code":
        return MAX_CODE_CHARS
    return MAX_TEXT_CHARS if key in LONG_TEXT_KEYS else MAX_STRING_CHARS


def _string_problem(key: str, value: str) -> tuple[IssueCode, str] | None:
    """What is out of bounds about one string held by element `key` (code, diagnostics), or None."""
    limit = _string_limit(key)
    if len(value) > limit:
        return "too-long", f"Longer than {limit} characters ({len(value)})"
    if value[:4] in ("0001", "9999") and _EDGE_DATETIME.match(value) and not _readable_date(value):
        return "value", "The date and time is outside the years 1 to 9999 once made UTC"
    return None


def _out_of_bounds(key: str, value: str) -> bool:
    # short strings outside the edge years pass without a closer look: nearly all of them
    short = len(value) <= MAX_CODE_CHARS and value[:4] not in ("0001", "9999")
    return not short and _string_problem(key, value) is not None


def _needs_a_closer_look(raw: dict[str, Any]) -> bool:
    """Whether `_null_issues` or `_bound_issues` would find anything. One walk that builds no
    paths, for the common case of a resource with nothing to report."""
    pending: list[tuple[Any, str]] = [(raw, "")]
    while pending:
        container, key = pending.pop()
        if isinstance(container, dict):
            for name, child in container.items():
                if isinstance(child, str):
                    if _out_of_bounds(name, child):
                        return True
                elif isinstance(child, (dict, list)):
                    pending.append((child, name))
                elif child is None:
                    return True
                if len(name) > MAX_KEY_CHARS:
                    return True
        else:
            for child in container:
                if isinstance(child, str):
                    if _out_of_bounds(key, child):
                        return True
                elif isinstance(child, (dict, list)):
                    pending.append((child, key))
                elif child is None:
                    return True
    return False


def _bound_issues(raw: dict[str, Any], at: str, limit: int = 5) -> list[Issue]:
    """Every string within its element's length limit, every element name short, every dateTime
    within the years Python holds. Paths are built only when there is something to report."""
    issues: list[Issue] = []
    # (a dict or list, the element name its strings belong to, its FHIRPath)
    pending: list[tuple[Any, str, str]] = [(raw, "", at)]
    while pending and len(issues) < limit:
        container, key, path = pending.pop()
        if isinstance(container, dict):
            for name, child in container.items():
                if len(name) > MAX_KEY_CHARS:
                    text = f"An element name is longer than {MAX_KEY_CHARS} characters"
                    issues.append(Issue("too-long", text, path))
                elif isinstance(child, str):
                    if problem := _string_problem(name, child):
                        issues.append(Issue(*problem, f"{path}.{name}"))
                elif isinstance(child, (dict, list)):
                    pending.append((child, name, f"{path}.{name}"))
        else:
            for index, child in enumerate(container):
                if isinstance(child, str):
                    if problem := _string_problem(key, child):
                        issues.append(Issue(*problem, f"{path}[{index}]"))
                elif isinstance(child, (dict, list)):
                    pending.append((child, key, f"{path}[{index}]"))
    return issues


# the date and time elements ingest reads (event time, birth date); the models accept values
# Python cannot represent, such as a leap second or a number
_DATE_ELEMENTS = (
    ("meta", "lastUpdated"), ("recordedDate",), ("issued",), ("effectiveDateTime",),
    ("effectiveInstant",), ("effectivePeriod", "start"), ("onsetDateTime",), ("birthDate",),
    ("onsetPeriod", "start"), ("abatementDateTime",), ("abatementPeriod", "start"),
)  # fmt: skip


def _date_issues(raw: dict[str, Any], at: str) -> list[Issue]:
    issues = []
    for path in _DATE_ELEMENTS:
        value: Any = raw
        for name in path:
            value = value.get(name) if isinstance(value, dict) else None
        if value is None:
            continue
        if not isinstance(value, str) or not _readable_date(value):
            issues.append(
                Issue("value", f"Not a date or time rmbc can read: {str(value)[:40]!r}",
                      ".".join((at, *path)))
            )  # fmt: skip
    return issues


def _readable_date(value: str) -> bool:
    try:
        if len(value) <= 10:
            parts = [int(p) for p in value.split("-")]
            date(*(parts + [1] * (3 - len(parts))))
        else:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            if moment.tzinfo is not None:
                moment.astimezone(UTC)  # downstream compares instants in UTC
    except (ValueError, TypeError, OverflowError):
        return False
    return True


def model_issues(resource_type: str, raw: dict[str, Any], at: str) -> list[Issue]:
    """What the R4B model of `resource_type` finds wrong with `raw`, as FHIRPath issues."""
    return _model_issues(_model(resource_type), raw, at)


def _model_issues(model: Any, raw: dict[str, Any], at: str) -> list[Issue]:
    try:
        model.model_validate(raw)
    except ValidationError as error:
        return [_issue_from_error(e, at) for e in error.errors(include_url=False)]
    except (TypeError, ValueError) as error:  # a validator that raised outside pydantic's wrapping
        return [Issue("structure", str(error), at)]
    return []


def _issue_from_error(error: Any, at: str) -> Issue:
    path = fhir_path(at, error["loc"])
    kind = error["type"]
    message = error["msg"]
    if kind == "extra_forbidden":
        return Issue("structure", "Unknown element", path)
    if kind == "missing" or kind.endswith(".missing"):
        return Issue("required", "Required element is missing", path)
    if kind == "fhir-validation-wrong-resource-type":
        return Issue("structure", message.replace("``", "").split(",")[0].strip(), path)
    return Issue("value", message, path)


def fhir_path(at: str, loc: tuple[Any, ...]) -> str:
    """A pydantic error location as FHIRPath: ('entry', 3, 'request', 'url') -> entry[3].request.url."""
    path = at
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "root":
            continue
        elif part == "resource_type":
            path += ".resourceType"
        else:
            path += f".{part}"
    return path


def _binding_issues(resource_type: str, raw: dict[str, Any], at: str) -> list[Issue]:
    if resource_type == "Condition":
        issues = _coded_issues(
            raw.get("clinicalStatus"),
            CONDITION_CLINICAL_SYSTEM,
            CONDITION_CLINICAL_CODES,
            f"{at}.clinicalStatus",
        )
        issues += _coded_issues(
            raw.get("verificationStatus"),
            CONDITION_VERIFICATION_SYSTEM,
            CONDITION_VERIFICATION_CODES,
            f"{at}.verificationStatus",
        )
        return issues + _subject_issues(raw, at)
    if resource_type == "Observation":
        issues = []
        if raw["status"] not in OBSERVATION_STATUS_CODES:
            issues.append(
                Issue(
                    "code-invalid", f"Unknown Observation.status {raw['status']!r}", f"{at}.status"
                )
            )
        return issues + _subject_issues(raw, at)
    issues = []
    if "gender" in raw and raw["gender"] not in GENDER_CODES:
        issues.append(Issue("code-invalid", f"Unknown gender {raw['gender']!r}", f"{at}.gender"))
    for index, identifier in enumerate(raw.get("identifier", [])):
        issues += _nhs_number_issues(identifier, f"{at}.identifier[{index}]")
    return issues


def _coded_issues(
    concept: dict[str, Any] | None, system: str, codes: frozenset[str], at: str
) -> list[Issue]:
    """A required binding: when present, the concept carries a code from `system` that is in `codes`."""
    if concept is None:
        return []
    codings = concept.get("coding", [])
    ours = [(i, c) for i, c in enumerate(codings) if c.get("system") == system]
    if not ours:
        return [Issue("code-invalid", f"Needs a coding from {system}", f"{at}.coding")]
    return [
        Issue(
            "code-invalid",
            f"Unknown code {coding.get('code')!r} in {system}",
            f"{at}.coding[{i}].code",
        )
        for i, coding in ours
        if coding.get("code") not in codes
    ]


def _subject_issues(raw: dict[str, Any], at: str) -> list[Issue]:
    subject = raw.get("subject")
    if subject is None:
        return [Issue("required", "The subject (the patient) is required", f"{at}.subject")]
    if not subject.get("reference") and not subject.get("identifier"):
        return [
            Issue(
                "required",
                "The subject needs a reference or an identifier",
                f"{at}.subject",
            )
        ]
    identifier = subject.get("identifier")
    if not identifier:
        return []
    if not subject.get("reference") and not (identifier.get("system") and identifier.get("value")):
        return [
            Issue(
                "required",
                "Without a reference, the subject's identifier needs both a system and a value",
                f"{at}.subject.identifier",
            )
        ]
    return _nhs_number_issues(identifier, f"{at}.subject.identifier")


def _nhs_number_issues(identifier: dict[str, Any], at: str) -> list[Issue]:
    if identifier.get("system") != NHS_NUMBER_SYSTEM:
        return []
    value = identifier.get("value")
    if not value or not is_valid_nhs_number(value):
        return [
            Issue(
                "value",
                "NHS number is not 10 digits with a valid modulus-11 check digit",
                f"{at}.value",
            )
        ]
    found = number_range(value)
    if found in ("nhs", "test"):
        return []  # the test range is a deployment's decision: `acceptance.plan`
    system = SYSTEMS.get(found)
    send = f": send it with system {system}" if system else ""
    return [
        Issue("value", f"The value is {RANGE_NAMES[found]}, not an NHS number{send}", f"{at}.value")
    ]
