"""One message being mapped: what has been produced so far, what was wrong, and the helpers each
message type's mapping shares (dates, `meta`, codings, ids). Pure.
"""

import hashlib
import re
from typing import Any

from services.ingest.hl7.dates import BadDate, to_fhir_datetime, to_fhir_instant, version_stamp
from services.ingest.hl7.header import Header
from services.ingest.hl7.issues import (
    DATA_TYPE_ERROR,
    REQUIRED_MISSING,
    Hl7Issue,
    NotMapped,
)
from services.ingest.hl7.message import Message, Segment
from services.ingest.hl7.profile import CODE_SYSTEMS


class MappingRun:
    """The resources (with the segment each came from), the errors and the unmapped segments of
    one message. `patient` is the identity PID gives, once read (see `hl7/patient.py`)."""

    def __init__(self, message: Message, header: Header) -> None:
        self.message = message
        self.header = header
        self.issues: list[Hl7Issue] = []
        self.resources: list[dict[str, Any]] = []
        self.sources: list[str] = []
        self.not_mapped: list[NotMapped] = []
        self.facility = header.sending_facility or header.sending_application or "unknown"
        self.patient: dict[str, Any] = {}
        self._metas: dict[str, dict[str, str]] = {}

    def error(self, segment: Segment, number: int, code: str, text: str) -> None:
        self.issues.append(Hl7Issue(segment.location(number), code, text))

    def date(self, segment: Segment, number: int, *, required: bool = False) -> str | None:
        value = segment.component(number)
        if not value:
            if required:
                self.error(
                    segment, number, REQUIRED_MISSING, f"{segment.name}-{number} is required"
                )
            return None
        try:
            return to_fhir_datetime(value)
        except BadDate as error:
            # a patient's own dates never travel further than the segment they came in
            detail = "not a valid HL7 date" if segment.name == "PID" else str(error)
            self.error(segment, number, DATA_TYPE_ERROR, f"{segment.name}-{number}: {detail}")
            return None

    def meta(self, stamp: str) -> dict[str, str]:
        if not stamp:
            return {}  # MSH-7 missing is already reported
        if stamp in self._metas:  # every resource of a result message shares MSH-7
            return dict(self._metas[stamp])
        try:
            meta = {"versionId": version_stamp(stamp), "lastUpdated": to_fhir_instant(stamp)}
            self._metas[stamp] = meta
            return dict(meta)
        except BadDate as error:
            msh = self.message.msh
            self.error(msh, 7, DATA_TYPE_ERROR, f"MSH-7: {error}")
            return {}

    def message_time(self) -> str:
        if not self.header.timestamp:
            self.error(self.message.msh, 7, REQUIRED_MISSING, "MSH-7 date/time is required")
        return self.header.timestamp

    def add(self, resource: dict[str, Any], source: str) -> None:
        self.resources.append(resource)
        self.sources.append(source)

    def skip(self, segment: Segment, number: int, reason: str, text: str) -> None:
        self.not_mapped.append(NotMapped(segment.location(number), reason, text))


def coding(segment: Segment, number: int) -> dict[str, str] | None:
    """A CE/CWE field as a FHIR Coding; None when its coding system is not one rmbc knows."""
    code = segment.component(number, 1)
    system = CODE_SYSTEMS.get(segment.component(number, 3).upper().replace("-", ""))
    if not code or system is None:
        return None
    found = {"system": system, "code": code}
    if display := segment.component(number, 2):
        found["display"] = display
    return found


def concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def fhir_id(*parts: str) -> str:
    """`hl7-<facility>-<id>` when that is a valid FHIR id, else a stable hash of the same parts."""
    candidate = "-".join(parts)
    if _FHIR_ID.match(candidate):
        return candidate
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]
    return f"{parts[0]}-{digest}"


def id_token(value: str) -> str:
    """`value` with every character a FHIR id or uri cannot carry replaced by `-`."""
    return re.sub(r"[^A-Za-z0-9.\-]", "-", value) or "local"
