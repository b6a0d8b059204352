"""One MLLP frame's bytes to a decision: resources to publish, or a refusal with its ERRs. Pure.

Also the resend memory: which (sending facility, MSH-10) pairs were already acknowledged AA.
"""

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Literal

from services.ingest.hl7.header import Header
from services.ingest.hl7.issues import (
    DATA_TYPE_ERROR,
    SEGMENT_SEQUENCE,
    TABLE_VALUE_NOT_FOUND,
    Hl7Issue,
    MessageRejected,
    NotMapped,
)
from services.ingest.hl7.mapping import map_message
from services.ingest.hl7.message import MalformedMessage, parse_message
from services.ingest.hl7.profile import DEFAULT_PROCESSING_IDS

DEFAULT_CHARACTER_SET = "UNICODE UTF-8"
# HL7 table 0211 -> Python codec. UTF-16/32 are left out: their bytes do not start with `MSH`.
CODECS = {
    "": "utf-8",
    "UNICODE UTF-8": "utf-8",
    "UTF-8": "utf-8",
    "ASCII": "ascii",
    **{f"8859/{n}": f"iso8859-{n}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 15)},
}


@dataclass(frozen=True)
class Interpretation:
    header: Header
    codec: str
    character_set: str
    outcome: Literal["publish", "error", "reject"]
    issues: list[Hl7Issue] = field(default_factory=list)
    resources: list[dict[str, Any]] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    not_mapped: list[NotMapped] = field(default_factory=list)
    fingerprint: str = ""

    @property
    def key(self) -> tuple[str, str]:
        return (self.header.sending_facility, self.header.control_id)


def interpret(
    data: bytes, processing_ids: frozenset[str] = DEFAULT_PROCESSING_IDS
) -> Interpretation:
    first_line = data.lstrip(b"\r\n\t ").split(b"\r", 1)[0].split(b"\n", 1)[0]
    if not first_line.startswith(b"MSH") or len(first_line) < 8:
        return _refused(
            Header(), "utf-8", "reject", Hl7Issue("MSH^1", SEGMENT_SEQUENCE, "no MSH segment")
        )
    character_set = _msh_18(first_line)
    best_effort = _header(data.decode("utf-8", errors="replace"))
    codec = CODECS.get(character_set.upper())
    if codec is None:
        issue = Hl7Issue(
            "MSH^1^18",
            TABLE_VALUE_NOT_FOUND,
            f"character set {character_set!r} is not supported; send UNICODE UTF-8",
        )
        return _refused(best_effort, "utf-8", "reject", issue)
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as error:
        issue = Hl7Issue(
            "MSH^1^18",
            DATA_TYPE_ERROR,
            f"byte {error.start} is not valid {character_set or DEFAULT_CHARACTER_SET}",
        )
        return _refused(best_effort, "utf-8", "error", issue)
    try:
        message = parse_message(text)
    except MalformedMessage as error:
        issue = Hl7Issue("MSH^1", SEGMENT_SEQUENCE, str(error))
        return _refused(best_effort, codec, "reject", issue, character_set)
    try:
        mapped = map_message(message, processing_ids=processing_ids)
    except MessageRejected as rejected:
        outcome: Literal["error", "reject"] = "reject" if rejected.ack_code == "AR" else "error"
        return Interpretation(
            Header.of(message), codec, character_set or DEFAULT_CHARACTER_SET, outcome,
            rejected.issues,
        )  # fmt: skip
    body = "\r".join("|".join(s.fields) for s in message.segments[1:])
    fingerprint = hashlib.sha256(f"{mapped.header.kind}\r{body}".encode()).hexdigest()
    resources, sources = mapped.publishable()
    return Interpretation(
        mapped.header,
        codec,
        character_set or DEFAULT_CHARACTER_SET,
        "publish",
        [n.as_issue() for n in mapped.not_mapped],
        resources,
        sources,
        mapped.not_mapped,
        fingerprint,
    )


class RecentAcks:
    """The last `size` (sending facility, MSH-10) pairs acknowledged AA, with a fingerprint of
    their content. Bounded: after a restart or eviction a resend is published again, and the
    deterministic event_id lets downstream drop the copy."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._seen: OrderedDict[tuple[str, str], str] = OrderedDict()

    def lookup(self, key: tuple[str, str]) -> str | None:
        fingerprint = self._seen.get(key)
        if fingerprint is not None:
            self._seen.move_to_end(key)
        return fingerprint

    def remember(self, key: tuple[str, str], fingerprint: str) -> None:
        self._seen[key] = fingerprint
        self._seen.move_to_end(key)
        while len(self._seen) > self.size:
            self._seen.popitem(last=False)

    def __len__(self) -> int:
        return len(self._seen)


def _msh_18(first_line: bytes) -> str:
    separator = first_line[3:4]
    fields = first_line.split(separator)
    if len(fields) < 18:
        return ""
    component = first_line[4:5]
    return fields[17].split(component)[0].decode("ascii", errors="replace").strip()


def _header(text: str) -> Header:
    try:
        return Header.of(parse_message(text))
    except MalformedMessage:
        return Header()


def _refused(
    header: Header,
    codec: str,
    outcome: Literal["error", "reject"],
    issue: Hl7Issue,
    character_set: str = DEFAULT_CHARACTER_SET,
) -> Interpretation:
    return Interpretation(header, codec, character_set or DEFAULT_CHARACTER_SET, outcome, [issue])


def header_of_fragment(data: bytes) -> Header:
    """The MSH of a truncated or oversize frame, when its first segment arrived whole enough."""
    return _header(data.decode("utf-8", errors="replace").split("\r", 1)[0].split("\n", 1)[0])
