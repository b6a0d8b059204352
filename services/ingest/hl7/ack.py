"""HL7 v2 acknowledgements (ACK with MSA and ERR segments). Pure: the control id and time come in."""

from collections.abc import Sequence
from typing import Literal

from services.ingest.hl7.header import MAX_CONTROL_ID_CHARS, MAX_FACILITY_CHARS, Header
from services.ingest.hl7.issues import Hl7Issue
from services.ingest.hl7.message import escape
from services.ingest.hl7.profile import KNOWN_PROCESSING_IDS, SUPPORTED_VERSIONS

AckOutcome = Literal["accepted", "transient", "error", "reject"]
"""accepted: stored. transient: not stored, resend. error: bad content. reject: not taken."""

ORIGINAL_CODES: dict[AckOutcome, str] = {
    "accepted": "AA",
    "transient": "AE",
    "error": "AE",
    "reject": "AR",
}
ENHANCED_CODES: dict[AckOutcome, str] = {
    "accepted": "CA",
    "transient": "CE",
    "error": "CR",
    "reject": "CR",
}

# HL7 table 0357
CONDITION_TEXT = {
    "0": "Message accepted",
    "100": "Segment sequence error",
    "101": "Required field missing",
    "102": "Data type error",
    "103": "Table value not found",
    "200": "Unsupported message type",
    "201": "Unsupported event code",
    "202": "Unsupported processing id",
    "203": "Unsupported version id",
    "204": "Unknown key identifier",
    "205": "Duplicate key identifier",
    "206": "Application record locked",
    "207": "Application internal error",
}


def is_enhanced(header: Header, enhanced: bool) -> bool:
    """Enhanced mode needs both: the listener allows it and the sender asked (MSH-15 set)."""
    return enhanced and header.accept_ack_type in ("AL", "NE", "ER", "SU")


def ack_code(header: Header, outcome: AckOutcome, *, enhanced: bool) -> str:
    codes = ENHANCED_CODES if is_enhanced(header, enhanced) else ORIGINAL_CODES
    return codes[outcome]


def should_send(header: Header, outcome: AckOutcome, *, enhanced: bool) -> bool:
    """In enhanced mode MSH-15 says which commit ACKs the sender wants; original mode: always."""
    if not is_enhanced(header, enhanced):
        return True
    wanted = header.accept_ack_type
    if wanted == "AL":
        return True
    if wanted == "NE":
        return False
    if wanted == "ER":
        return outcome != "accepted"
    return outcome == "accepted"  # SU: successful completion only


def build_ack(
    header: Header,
    code: str,
    issues: Sequence[Hl7Issue] = (),
    *,
    control_id: str,
    timestamp: str,
    text: str = "",
    character_set: str = "UNICODE UTF-8",
) -> str:
    """An ACK for `header`'s message: MSH, MSA (MSA-3 text), one ERR per issue; `\\r` separated.

    MSH-3/4 echo the original's MSH-5/6 (the name the sender's engine gave rmbc), as HL7 v2.5.1
    section 2.9.2 has the responder do; RMBC when the original left them empty."""
    version = header.version if header.version in SUPPORTED_VERSIONS else "2.5.1"
    fields = [
        "MSH",
        "^~\\&",
        escape(header.receiving_application[:MAX_FACILITY_CHARS]) or "RMBC",
        escape(header.receiving_facility[:MAX_FACILITY_CHARS]) or "RMBC",
        escape(header.sending_application[:MAX_FACILITY_CHARS]),
        escape(header.sending_facility[:MAX_FACILITY_CHARS]),
        timestamp,
        "",
        f"ACK^{escape(header.trigger_event)}^ACK" if header.trigger_event else "ACK",
        control_id,
        header.processing_id if header.processing_id in KNOWN_PROCESSING_IDS else "P",
        version,
        "",
        "",
        "",
        "",
        "",
        character_set,
    ]
    segments = [
        "|".join(fields),
        # MSA-2 echoes MSH-10; one over its length limit is refused, and echoed only as far
        f"MSA|{code}|{escape(header.control_id[:MAX_CONTROL_ID_CHARS])}|{escape(text[:80])}",
    ]
    for issue in issues:
        condition = CONDITION_TEXT.get(issue.code, "")
        segments.append(
            f"ERR||{issue.location}|{issue.code}^{condition}^HL70357|{issue.severity}"
            f"||||{escape(issue.text)}"
        )
    return "\r".join(segments)
