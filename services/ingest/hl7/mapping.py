"""The rmbc HL7 v2 profile (docs/hl7v2-profile.md) mapped to FHIR R4 resources. Pure: text in,
dicts out, no I/O. One module per message type: `patient.py` (ADT, and every message's PID),
`problems.py` (PPR^PC1), `results.py` (ORU^R01). Versions 2.3 to 2.5.1 are read alike: the
fields rmbc reads kept their meaning (HL72UK, the NHS's UK profile, is based on v2.4).

Rule of thumb: a value that is malformed (a bad date, an NHS number that fails its check digit, a
required field left empty) rejects the message with AE, so the sender fixes it; a well-formed
segment the profile does not cover (another OBX code, a non-coded value) is not mapped, and is named
in the ACK with severity W and counted - never dropped silently.
"""

from dataclasses import dataclass, field
from typing import Any

import hl7

from services.ingest.hl7.header import Header, check_header
from services.ingest.hl7.issues import (
    SEGMENT_SEQUENCE,
    Hl7Issue,
    MessageRejected,
    NotMapped,
    Severity,
)
from services.ingest.hl7.mapping_run import MappingRun
from services.ingest.hl7.message import Message, parse_message
from services.ingest.hl7.patient import patient_identity, patient_resource
from services.ingest.hl7.problems import map_problems
from services.ingest.hl7.profile import DEFAULT_PROCESSING_IDS, READ_SEGMENTS
from services.ingest.hl7.results import map_results


@dataclass(frozen=True)
class Mapped:
    header: Header
    resources: list[dict[str, Any]]
    sources: list[str]  # the segment (ERL) each resource came from, same order
    not_mapped: list[NotMapped] = field(default_factory=list)
    # ORU and PPR: the Patient their PID/PD1/MSH-4 describe, published ahead of `resources` so
    # each event carries the demographics, registered practice and trust (ADT: in `resources`)
    patient: dict[str, Any] | None = None
    patient_source: str = "PID^1"

    def publishable(self) -> tuple[list[dict[str, Any]], list[str]]:
        """What is published, Patient first, and the segment each came from. A message with no
        clinical resource publishes nothing (ADT carries demographics on their own)."""
        if self.patient is None or not self.resources:
            return self.resources, self.sources
        return [self.patient, *self.resources], [self.patient_source, *self.sources]


def map_message(
    message: Message | hl7.Message | str,
    *,
    processing_ids: frozenset[str] = DEFAULT_PROCESSING_IDS,
) -> Mapped:
    """Map one checked message to FHIR R4 resources. Raises MessageRejected."""
    if not isinstance(message, Message):
        message = parse_message(str(message))
    header = check_header(message, processing_ids)
    run = MappingRun(message, header)
    pid = message.first("PID")
    if pid is None:
        raise MessageRejected(
            "AE", [Hl7Issue("PID^1", SEGMENT_SEQUENCE, f"{header.kind} needs a PID segment")]
        )
    run.patient = patient_identity(run, pid)
    message_time = run.message_time()
    demographics = patient_resource(run, pid, message_time)
    if header.message_type == "ADT":
        run.add(demographics, pid.location())
    elif header.message_type == "PPR":
        map_problems(run, message_time)
    else:
        map_results(run, message_time)
    if run.issues:
        raise MessageRejected("AE", run.issues)
    _name_unread_segments(run)
    if header.message_type == "ADT":
        return Mapped(header, run.resources, run.sources, run.not_mapped)
    return Mapped(header, run.resources, run.sources, run.not_mapped, demographics, pid.location())


def _name_unread_segments(run: MappingRun) -> None:
    """Name each segment the profile does not read: a Z-segment (a local or HL72UK
    extension) with W, a standard segment with I."""
    read = READ_SEGMENTS[run.header.message_type]
    for segment in run.message.segments:
        if segment.name in read:
            continue
        severity: Severity
        if segment.name.startswith("Z"):
            reason, severity, what = "z-segment", "W", "Z-segment (local extension) not read"
        else:
            reason, severity, what = "segment-not-read", "I", "segment not read by rmbc"
        run.not_mapped.append(
            NotMapped(segment.location(), reason, f"{segment.name} {what}", severity)
        )
