"""A FHIR request's body: JSON within bounds, and the envelope of a Bundle or message.

The resources inside are validated by the core (`services/ingest/validation.py`); here only what
the HTTP API adds around them: the JSON document itself, the Bundle's shell (its entries without
their resources) and a message's MessageHeader.
"""

import re
from typing import Any

import orjson

from services.ingest.errors import InvalidInput, Issue
from services.ingest.limits import MAX_JSON_DEPTH
from services.ingest.validation import model_issues

BUNDLE_TYPES = ("batch", "transaction", "collection", "message")
ENTRY_METHODS = frozenset({"POST", "PUT"})


_WHITESPACE = re.compile(r"\s")


def load_json(body: bytes, max_depth: int = MAX_JSON_DEPTH) -> dict[str, Any]:
    """The request body as a JSON object, or a 400 that says why it is not one.

    Nesting deeper than `max_depth` gets a 413: the FHIR models validate recursively, and a
    document nested a few hundred levels deep would exhaust the interpreter's stack.
    """
    try:
        raw = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        if "depth limit" in str(error) or "recursion limit" in str(error):
            raise _too_deep(max_depth) from None
        raise InvalidInput(
            [Issue("structure", f"The body is not valid JSON: {error}")], status=400
        ) from None
    if json_depth(raw) > max_depth:
        raise _too_deep(max_depth)
    if not isinstance(raw, dict):
        raise InvalidInput([Issue("structure", "The body must be a JSON object")], status=400)
    if not isinstance(raw.get("resourceType"), str):
        raise InvalidInput(
            [Issue("structure", "The body has no resourceType", "resourceType")], status=400
        )
    return raw


def json_depth(value: Any) -> int:
    """How deeply arrays and objects nest (a scalar is 0, `{}` is 1). Level by level, visiting
    only the containers: no recursion, and cheaper than walking every value."""
    depth = 0
    level = [value] if isinstance(value, (dict, list)) else []
    while level:
        depth += 1
        below = []
        for container in level:
            for child in container.values() if isinstance(container, dict) else container:
                if isinstance(child, (dict, list)):
                    below.append(child)
        level = below
    return depth


def _too_deep(max_depth: int) -> InvalidInput:
    return InvalidInput(
        [Issue("too-costly", f"The JSON nests deeper than {max_depth} levels")], status=413
    )


def bundle_shell_issues(raw: dict[str, Any], max_entries: int | None = None) -> list[Issue]:
    """Structural problems of a Bundle itself; its entries' resources are checked one by one."""
    entries = raw.get("entry", [])
    if not isinstance(entries, list):
        return [Issue("structure", "Bundle.entry must be an array", "Bundle.entry")]
    if all(is_plain_entry(entry) for entry in entries):
        shell = {key: value for key, value in raw.items() if key != "entry"}
    else:
        shell = {**raw, "entry": [_without_resource(e) for e in entries]}
    issues = model_issues("Bundle", shell, "Bundle")
    if issues:
        return issues
    bundle_type = raw["type"]
    if bundle_type not in BUNDLE_TYPES:
        return [
            Issue(
                "not-supported",
                f"Bundle type {bundle_type!r} is not accepted (supported: {', '.join(BUNDLE_TYPES)})",
                "Bundle.type",
            )
        ]
    for index, entry in enumerate(entries):
        if "resource" not in entry:
            issues.append(
                Issue("required", "Every entry needs a resource", f"Bundle.entry[{index}].resource")
            )
        request = entry.get("request")
        if bundle_type in ("batch", "transaction"):
            if request is None:
                issues.append(
                    Issue(
                        "required",
                        f"A {bundle_type} entry needs a request",
                        f"Bundle.entry[{index}].request",
                    )
                )
            elif request["method"] not in ENTRY_METHODS:
                issues.append(
                    Issue(
                        "not-supported",
                        f"Method {request['method']} is not supported (POST or PUT)",
                        f"Bundle.entry[{index}].request.method",
                    )
                )
    return issues


_PLAIN_ENTRY_KEYS = frozenset({"fullUrl", "resource", "request"})


_PLAIN_REQUEST_KEYS = frozenset({"method", "url"})


def is_plain_entry(entry: Any) -> bool:
    """An entry of the usual shape, which the Bundle model would pass: a fullUrl, a resource and
    a POST or PUT request, each a plain token. Such entries skip the Bundle model (the saving is
    in docs/performance.md); any other entry goes through it."""
    if not isinstance(entry, dict) or not entry.keys() <= _PLAIN_ENTRY_KEYS:
        return False
    if "fullUrl" in entry and not _token(entry["fullUrl"]):
        return False
    request = entry.get("request")
    if request is None:
        return "request" not in entry
    return (
        isinstance(request, dict)
        and request.keys() == _PLAIN_REQUEST_KEYS
        and isinstance(request["method"], str)
        and request["method"] in ENTRY_METHODS
        and _token(request["url"])
    )


def _token(value: Any) -> bool:
    """A non-empty string without whitespace: a valid FHIR uri."""
    return isinstance(value, str) and value != "" and not _WHITESPACE.search(value)


def message_header_issues(raw: Any, at: str) -> list[Issue]:
    if not isinstance(raw, dict) or raw.get("resourceType") != "MessageHeader":
        return [
            Issue("structure", "A message Bundle starts with a MessageHeader", f"{at}.resourceType")
        ]
    return model_issues("MessageHeader", raw, at)


def _without_resource(entry: Any) -> Any:
    if isinstance(entry, dict) and "resource" in entry:
        return {key: value for key, value in entry.items() if key != "resource"}
    return entry
