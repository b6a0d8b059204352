"""Sizes the classifier holds to, whatever a sender writes (issue 26): pure, no I/O.

- A resource's id and meta.versionId must be FHIR ids (FHIR R4 datatypes, `id`: 1-64 of
  `[A-Za-z0-9\\-\\.]`): the id names the patient's record in the state and in every flag.
- Text copied from a resource into a fact (code system, code, related reference) or from the
  demographics into the state (`PatientState.with_patient`) is cut to `MAX_TEXT` characters, the cut marked with an ellipsis.
- A flag is one Kafka record: built, measured, and when its encoding is over the limit its evidence
  is listed in part, by this rule: the first items that fit are kept, in the flag's order (what
  placed the primary and the remissions first, then the episode's findings by date); the flag's
  `reason` says how many of how many. The flag itself is always sent.
"""

import re
from dataclasses import replace
from typing import Any

from services.classifier.facts import Fact
from shared.codec import encode
from shared.events import CancerFlag

MAX_TEXT = 256
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
_CUT_FACT_FIELDS = ("system", "code", "related")


class FlagTooLarge(ValueError):
    """Not even a flag with no evidence fits: its other fields are bounded, so only a limit set
    far too low does this."""


def cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "\u2026"


def refusal(resource: dict[str, Any]) -> str | None:
    """Why the classifier cannot hold this resource, or None."""
    resource_id = resource.get("id")
    if not isinstance(resource_id, str) or not FHIR_ID.fullmatch(resource_id):
        return "resource id is not a FHIR id (1-64 of A-Z a-z 0-9 - .)"
    version_id = (resource.get("meta") or {}).get("versionId")
    if version_id is not None and not (
        isinstance(version_id, str) and FHIR_ID.fullmatch(version_id)
    ):
        return "meta.versionId is not a FHIR id (1-64 of A-Z a-z 0-9 - .)"
    return None


def bounded_fact(fact: Fact) -> Fact:
    long: dict[str, Any] = {
        name: cut(value)
        for name in _CUT_FACT_FIELDS
        if isinstance(value := getattr(fact, name), str) and len(value) > MAX_TEXT
    }
    return replace(fact, **long) if long else fact


def fitted(flag: CancerFlag, limit: int) -> tuple[bytes, int]:
    """The flag's encoding in at most `limit` bytes, and how many evidence items it leaves out."""
    encoded = encode(flag)
    if len(encoded) <= limit:
        return encoded, 0
    total = len(flag.evidence)
    fits, too_many = 0, total  # the largest count that fits lies in [fits, too_many)
    best = _listing(flag, 0, total)
    if len(best) > limit:
        raise FlagTooLarge(f"a flag with no evidence is {len(best)} bytes, over {limit}")
    while too_many - fits > 1:
        middle = (fits + too_many) // 2
        candidate = _listing(flag, middle, total)
        if len(candidate) <= limit:
            fits, best = middle, candidate
        else:
            too_many = middle
    return best, total - fits


def _listing(flag: CancerFlag, kept: int, total: int) -> bytes:
    note = f"evidence: the first {kept} of {total} items are listed (message size limit)"
    reason = f"{cut(flag.reason)}; {note}" if flag.reason else note
    return encode(flag.model_copy(update={"evidence": flag.evidence[:kept], "reason": reason}))
