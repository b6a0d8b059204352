"""MSH: the header of a message as far as it reads, and whether rmbc takes the message at all
(type, event, version, processing id, control id) before any segment is mapped.
"""

from dataclasses import dataclass

from services.ingest.hl7.issues import (
    DATA_TYPE_ERROR,
    REQUIRED_MISSING,
    UNSUPPORTED_EVENT,
    UNSUPPORTED_MESSAGE_TYPE,
    UNSUPPORTED_PROCESSING_ID,
    UNSUPPORTED_VERSION,
    Hl7Issue,
    MessageRejected,
)
from services.ingest.hl7.message import Message
from services.ingest.hl7.profile import DEFAULT_PROCESSING_IDS, SUPPORTED_EVENTS, SUPPORTED_VERSIONS


@dataclass(frozen=True)
class Header:
    """MSH as far as it could be read. Every field may be empty on a bad message."""

    sending_application: str = ""
    sending_facility: str = ""
    receiving_application: str = ""
    receiving_facility: str = ""
    timestamp: str = ""
    message_type: str = ""
    trigger_event: str = ""
    control_id: str = ""
    processing_id: str = ""
    version: str = ""
    accept_ack_type: str = ""
    application_ack_type: str = ""
    character_set: str = ""

    @classmethod
    def of(cls, message: Message) -> "Header":
        msh = message.msh
        return cls(
            sending_application=msh.component(3),
            sending_facility=msh.component(4),
            receiving_application=msh.component(5),
            receiving_facility=msh.component(6),
            timestamp=msh.component(7),
            message_type=msh.component(9, 1).upper(),
            trigger_event=msh.component(9, 2).upper(),
            control_id=msh.component(10),
            processing_id=msh.component(11),
            version=msh.component(12),
            accept_ack_type=msh.component(15).upper(),
            application_ack_type=msh.component(16).upper(),
            character_set=msh.component(18),
        )

    @property
    def kind(self) -> str:
        return f"{self.message_type}^{self.trigger_event}"


MAX_CONTROL_ID_CHARS = 199  # MSH-10 (ST), v2.7 onwards
MAX_FACILITY_CHARS = 227  # MSH-4 (HD), v2.7 onwards


def check_header(
    message: Message, processing_ids: frozenset[str] = DEFAULT_PROCESSING_IDS
) -> Header:
    """The message is one rmbc takes, or MessageRejected("AR"). `processing_ids`: the MSH-11
    values this deployment accepts (P in production; T as well on a test deployment)."""
    header = Header.of(message)
    msh = message.msh
    issues: list[Hl7Issue] = []
    if not header.control_id:
        issues.append(
            Hl7Issue(msh.location(10), REQUIRED_MISSING, "MSH-10 message control id is required")
        )
    # both travel on in every event (Sender) and into logs: bounded as HL7 v2.7+ bounds them
    for number, value, most in ((4, header.sending_facility, MAX_FACILITY_CHARS),
                                (10, header.control_id, MAX_CONTROL_ID_CHARS)):  # fmt: skip
        if len(value) > most:
            text = f"MSH-{number} is longer than {most} characters"
            issues.append(Hl7Issue(msh.location(number), DATA_TYPE_ERROR, text))
    if header.message_type not in SUPPORTED_EVENTS:
        issues.append(
            Hl7Issue(
                msh.location(9),
                UNSUPPORTED_MESSAGE_TYPE,
                f"message type {header.message_type or '(empty)'!r} is not supported; "
                "send ADT, ORU^R01 or PPR^PC1",
            )
        )
    elif header.trigger_event not in SUPPORTED_EVENTS[header.message_type]:
        issues.append(
            Hl7Issue(
                msh.location(9),
                UNSUPPORTED_EVENT,
                f"{header.kind} is not supported; supported {header.message_type} events: "
                + ", ".join(sorted(SUPPORTED_EVENTS[header.message_type])),
            )
        )
    if header.processing_id not in processing_ids:
        issues.append(
            Hl7Issue(
                msh.location(11),
                UNSUPPORTED_PROCESSING_ID,
                f"processing id {header.processing_id or '(empty)'!r} is not accepted here; send "
                + " or ".join(sorted(processing_ids)),
            )
        )
    if header.version not in SUPPORTED_VERSIONS:
        issues.append(
            Hl7Issue(
                msh.location(12),
                UNSUPPORTED_VERSION,
                f"version {header.version or '(empty)'!r} is not supported; send one of "
                + ", ".join(sorted(SUPPORTED_VERSIONS)),
            )
        )
    if issues:
        raise MessageRejected("AR", issues)
    return header
