"""How a message is refused or partly mapped: ERR segments (HL7 table 0357 condition codes),
segments left unmapped, and the rejection of a whole message (AE or AR).
"""

from dataclasses import dataclass
from typing import Literal

# HL7 table 0357 (message error condition codes)
SEGMENT_SEQUENCE = "100"
REQUIRED_MISSING = "101"
DATA_TYPE_ERROR = "102"
TABLE_VALUE_NOT_FOUND = "103"
UNSUPPORTED_MESSAGE_TYPE = "200"
UNSUPPORTED_EVENT = "201"
UNSUPPORTED_PROCESSING_ID = "202"
UNSUPPORTED_VERSION = "203"
DUPLICATE_KEY = "205"
INTERNAL_ERROR = "207"

Severity = Literal["E", "W", "I"]
AckCode = Literal["AA", "AE", "AR"]


@dataclass(frozen=True)
class Hl7Issue:
    """One ERR segment: where (ERL), what (table 0357 code), how bad, and words for a person."""

    location: str
    code: str
    text: str
    severity: Severity = "E"


@dataclass(frozen=True)
class NotMapped:
    """A segment that produced no resource. `reason` is the metrics label."""

    location: str
    reason: str
    text: str
    severity: Severity = "W"

    def as_issue(self) -> Hl7Issue:
        return Hl7Issue(
            self.location, TABLE_VALUE_NOT_FOUND, f"not mapped: {self.text}", self.severity
        )


@dataclass
class MessageRejected(Exception):
    """AR: not a message rmbc takes (type, version, processing id, control id).
    AE: a message rmbc takes, with bad content."""

    ack_code: Literal["AE", "AR"]
    issues: list[Hl7Issue]

    def __str__(self) -> str:
        return "; ".join(f"{i.location}: {i.text}" for i in self.issues)
