"""The rmbc HL7 v2 profile (docs/hl7v2-profile.md) mapped to FHIR R4 resources. Pure: text in,
dicts out, no I/O. Versions 2.3 to 2.5.1 are read alike: the fields rmbc reads kept their meaning
(HL72UK, the NHS's UK profile, is based on v2.4).

Rule of thumb: a value that is malformed (a bad date, an NHS number that fails its check digit, a
required field left empty) rejects the message with AE, so the sender fixes it; a well-formed
segment the profile does not cover (another OBX code, a non-coded value) is not mapped, and is named
in the ACK with severity W and counted - never dropped silently.
"""

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Literal

import hl7

from services.ingest.hl7_dates import (
    BadDate,
    has_time,
    same_day,
    to_fhir_datetime,
    to_fhir_instant,
    version_stamp,
)
from services.ingest.hl7_message import Message, Segment, parse_message
from shared.nhs_number import (
    NHS_NUMBER_SYSTEM,
    ODS_SYSTEM,
    RANGE_NAMES,
    SYSTEMS,
    is_valid_nhs_number,
    number_range,
)

SUPPORTED_EVENTS: dict[str, frozenset[str]] = {
    "ADT": frozenset({"A01", "A04", "A08", "A28", "A31"}),
    "PPR": frozenset({"PC1"}),
    "ORU": frozenset({"R01"}),
}
SUPPORTED_VERSIONS = frozenset({"2.3", "2.3.1", "2.4", "2.5", "2.5.1"})
DEFAULT_PROCESSING_IDS = frozenset({"P"})  # T (training/test) and D only where configured
KNOWN_PROCESSING_IDS = frozenset({"P", "T", "D"})  # HL7 table 0103
# the segments rmbc reads, by message type; any other is named in the ACK (W for a Z-segment,
# I for a standard one) and counted, never dropped silently
READ_SEGMENTS: dict[str, frozenset[str]] = {
    "ADT": frozenset({"MSH", "PID", "PD1"}),
    "PPR": frozenset({"MSH", "PID", "PD1", "PRB"}),
    "ORU": frozenset({"MSH", "PID", "PD1", "ORC", "OBR", "OBX"}),
}

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10 = "http://hl7.org/fhir/sid/icd-10"
CODE_SYSTEMS = {"LN": LOINC, "SCT": SNOMED, "SNOMEDCT": SNOMED, "I10": ICD10, "ICD10": ICD10}
CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"

DISEASE_STATUS = (LOINC, "97509-4")
TNM_M = {(SNOMED, "399387003"), (SNOMED, "371497001"), (LOINC, "21907-1"), (LOINC, "21901-4")}
DIAGNOSIS = (LOINC, "29308-4")

OBSERVATION_STATUS = {
    "F": "final",
    "C": "amended",
    "P": "preliminary",
    "W": "entered-in-error",
    "D": "entered-in-error",
}
DIAGNOSIS_VERIFICATION = {
    "F": "confirmed",
    "C": "confirmed",
    "P": "provisional",
    "W": "entered-in-error",
    "D": "entered-in-error",
}
CONFIRMATION = frozenset(
    {"confirmed", "unconfirmed", "provisional", "differential", "refuted", "entered-in-error"}
)
LIFE_CYCLE = frozenset({"active", "recurrence", "relapse", "inactive", "remission", "resolved"})
PROBLEM_ACTIONS = frozenset({"AD", "UP", "CO", "UC", "DE"})
GENDER = {"F": "female", "M": "male", "U": "unknown", "O": "other", "A": "other", "N": "unknown"}

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


def map_message(
    message: Message | hl7.Message | str,
    *,
    processing_ids: frozenset[str] = DEFAULT_PROCESSING_IDS,
) -> Mapped:
    """Map one checked message to FHIR R4 resources. Raises MessageRejected."""
    if not isinstance(message, Message):
        message = parse_message(str(message))
    header = check_header(message, processing_ids)
    return _Mapper(message, header).run()


class _Mapper:
    def __init__(self, message: Message, header: Header) -> None:
        self.message = message
        self.header = header
        self.issues: list[Hl7Issue] = []
        self.resources: list[dict[str, Any]] = []
        self.sources: list[str] = []
        self.not_mapped: list[NotMapped] = []
        self.facility = header.sending_facility or header.sending_application or "unknown"
        self._metas: dict[str, dict[str, str]] = {}

    def run(self) -> Mapped:
        pid = self.message.first("PID")
        if pid is None:
            raise MessageRejected(
                "AE",
                [Hl7Issue("PID^1", SEGMENT_SEQUENCE, f"{self.header.kind} needs a PID segment")],
            )
        self.patient = self._patient_identity(pid)
        message_time = self._message_time()
        demographics = self._patient(pid, message_time)
        if self.header.message_type == "ADT":
            self._add(demographics, pid.location())
        elif self.header.message_type == "PPR":
            self._problems(message_time)
        else:
            self._results(message_time)
        if self.issues:
            raise MessageRejected("AE", self.issues)
        self._unread_segments()
        if self.header.message_type == "ADT":
            return Mapped(self.header, self.resources, self.sources, self.not_mapped)
        return Mapped(
            self.header, self.resources, self.sources, self.not_mapped, demographics,
            pid.location(),
        )  # fmt: skip

    # -- helpers -----------------------------------------------------------------------------
    def _error(self, segment: Segment, number: int, code: str, text: str) -> None:
        self.issues.append(Hl7Issue(segment.location(number), code, text))

    def _date(self, segment: Segment, number: int, *, required: bool = False) -> str | None:
        value = segment.component(number)
        if not value:
            if required:
                self._error(
                    segment, number, REQUIRED_MISSING, f"{segment.name}-{number} is required"
                )
            return None
        try:
            return to_fhir_datetime(value)
        except BadDate as error:
            # a patient's own dates never travel further than the segment they came in
            detail = "not a valid HL7 date" if segment.name == "PID" else str(error)
            self._error(segment, number, DATA_TYPE_ERROR, f"{segment.name}-{number}: {detail}")
            return None

    def _meta(self, stamp: str) -> dict[str, str]:
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
            self._error(msh, 7, DATA_TYPE_ERROR, f"MSH-7: {error}")
            return {}

    def _message_time(self) -> str:
        if not self.header.timestamp:
            self._error(self.message.msh, 7, REQUIRED_MISSING, "MSH-7 date/time is required")
        return self.header.timestamp

    def _add(self, resource: dict[str, Any], source: str) -> None:
        self.resources.append(resource)
        self.sources.append(source)

    # -- patient -----------------------------------------------------------------------------
    def _patient_identity(self, pid: Segment) -> dict[str, Any]:
        """PID-3's NHS number, else its Scottish CHI or Northern Ireland H&C number (HL7 type
        NH covers all three; their ranges tell them apart), else its first local identifier."""
        nhs: str | None = None
        regional: dict[str, str] | None = None
        local: dict[str, str] | None = None
        for components in pid.repetitions(3):
            value = components[0].strip() if components else ""
            authority = components[3].strip() if len(components) > 3 else ""
            kind = components[4].strip().upper() if len(components) > 4 else ""
            if not value:
                continue
            if kind == "NH" or authority.upper() == "NHS":
                if not is_valid_nhs_number(value):
                    self._error(
                        pid, 3, DATA_TYPE_ERROR, "PID-3 NHS number fails the modulus-11 check"
                    )
                    continue
                value = value.replace(" ", "")
                found = number_range(value)
                if found in ("nhs", "test"):
                    nhs = value
                elif found in SYSTEMS:
                    regional = {"system": SYSTEMS[found], "value": value}
                else:
                    self._error(
                        pid, 3, DATA_TYPE_ERROR, f"PID-3 national number is {RANGE_NAMES[found]}"
                    )
            elif local is None:
                local = {
                    "system": f"urn:rmbc:hl7:{_token(authority or self.facility)}:{_token(kind or 'PI')}",
                    "value": value,
                }
        if (
            nhs is None
            and regional is None
            and local is None
            and not any(i.location == "PID^1^3" for i in self.issues)
        ):
            self._error(pid, 3, REQUIRED_MISSING, "PID-3 needs an NHS number or a local identifier")
        key = local["value"] if local else nhs or (regional["value"] if regional else "unknown")
        patient_id = fhir_id("hl7", self.facility, key)
        subject: dict[str, Any] = {"reference": f"Patient/{patient_id}"}
        if nhs:
            subject["identifier"] = {"system": NHS_NUMBER_SYSTEM, "value": nhs}
        elif regional or local:
            subject["identifier"] = dict(regional or local or {})
        return {
            "id": patient_id, "nhs": nhs, "regional": regional, "local": local, "subject": subject,
        }  # fmt: skip

    def _patient(self, pid: Segment, message_time: str) -> dict[str, Any]:
        """The Patient PID (identifiers, name, birth date, sex), PD1-3 (registered practice)
        and MSH-4 (the sending trust) describe."""
        identifiers = []
        if self.patient["nhs"]:
            identifiers.append({"system": NHS_NUMBER_SYSTEM, "value": self.patient["nhs"]})
        for other in ("regional", "local"):  # the national number first: it keys the patient
            if self.patient[other]:
                identifiers.append(dict(self.patient[other]))
        resource: dict[str, Any] = {
            "resourceType": "Patient",
            "id": self.patient["id"],
            "meta": self._meta(message_time),
            "identifier": identifiers,
        }
        family, given = pid.component(5, 1), pid.component(5, 2)
        if family or given:
            name: dict[str, Any] = {"use": "official"}
            if family:
                name["family"] = family
            if given:
                name["given"] = given.split()
            resource["name"] = [name]
        if birth := self._date(pid, 7):
            resource["birthDate"] = birth[:10]
        if sex := pid.component(8).upper():
            if sex in GENDER:
                resource["gender"] = GENDER[sex]
            else:
                self._error(pid, 8, TABLE_VALUE_NOT_FOUND, f"PID-8 sex {sex!r} is not F, M or U")
        if pd1 := self.message.first("PD1"):
            practice = pd1.component(3, 3) or pd1.component(3, 10)
            if practice:
                resource["generalPractitioner"] = [
                    {"identifier": {"system": ODS_SYSTEM, "value": practice}}
                ]
        if self.header.sending_facility:
            resource["managingOrganization"] = {
                "identifier": {"system": ODS_SYSTEM, "value": self.header.sending_facility}
            }
        return resource

    # -- problems (PPR^PC1) ------------------------------------------------------------------
    def _problems(self, message_time: str) -> None:
        problems = self.message.all("PRB")
        if not problems:
            self.issues.append(Hl7Issue("PRB^1", SEGMENT_SEQUENCE, "PPR^PC1 needs a PRB segment"))
        for prb in problems:
            self._problem(prb, message_time)

    def _problem(self, prb: Segment, message_time: str) -> None:
        errors_before = len(self.issues)
        action = prb.component(1).upper()
        if action not in PROBLEM_ACTIONS:
            self._error(
                prb,
                1,
                TABLE_VALUE_NOT_FOUND,
                f"PRB-1 action {action or '(empty)'!r} is not AD, UP or DE",
            )
        code = _coding(prb, 3)
        instance = prb.component(4)
        if not instance:
            self._error(prb, 4, REQUIRED_MISSING, "PRB-4 problem instance id is required")
        confirmation = prb.component(13).lower()
        if confirmation and confirmation not in CONFIRMATION:
            self._error(
                prb,
                13,
                TABLE_VALUE_NOT_FOUND,
                f"PRB-13 confirmation status {confirmation!r} is unknown",
            )
        life_cycle = prb.component(14).lower()
        if life_cycle and life_cycle not in LIFE_CYCLE:
            self._error(
                prb,
                14,
                TABLE_VALUE_NOT_FOUND,
                f"PRB-14 life cycle status {life_cycle!r} is unknown",
            )
        action_date = prb.component(2)
        self._date(prb, 2)
        onset = self._date(prb, 16)
        abatement = self._date(prb, 9)
        recorded = self._date(prb, 7)
        if code is None and not prb.component(3):
            self._error(prb, 3, REQUIRED_MISSING, "PRB-3 problem code is required")
        if len(self.issues) > errors_before:
            return
        if code is None:
            self.not_mapped.append(
                NotMapped(
                    prb.location(3),
                    "unsupported-code-system",
                    f"PRB-3 coding system {prb.component(3, 3)!r} is not I10 or SCT",
                )
            )
            return
        if action == "DE":
            confirmation = "entered-in-error"
        resource: dict[str, Any] = {
            "resourceType": "Condition",
            "id": fhir_id("hl7", self.facility, instance),
            "meta": self._meta(_problem_stamp(action_date, message_time)),
            "category": [_concept(CATEGORY, "problem-list-item")],
            "code": {"coding": [code]},
            "subject": self.patient["subject"],
        }
        if life_cycle and confirmation != "entered-in-error":
            resource["clinicalStatus"] = _concept(CLINICAL, life_cycle)
        if confirmation:
            resource["verificationStatus"] = _concept(VERIFICATION, confirmation)
        if onset:
            resource["onsetDateTime"] = onset
        if abatement:
            resource["abatementDateTime"] = abatement
        if recorded:
            resource["recordedDate"] = recorded
        self._add(resource, prb.location())

    # -- results (ORU^R01) -------------------------------------------------------------------
    def _results(self, message_time: str) -> None:
        """Each OBX under the ORC/OBR before it. A result's id is the observation's identity
        (order number, OBX-3, OBX-4), so a correction (OBX-11 C) or withdrawal (W, D) sent in a
        later message is a new version of the same resource, as FHIR would send it."""
        placed = self._observations_by_order()
        counts: dict[tuple[str, ...], int] = {}
        for *_, identity in placed:
            counts[identity] = counts.get(identity, 0) + 1
        seen: dict[str, str] = {}
        for obr, obx, identity in placed:
            set_id = obx.component(1) or str(obx.sequence)
            if not identity[0]:
                # no order number: only this message identifies the result, so a correction
                # in a later message cannot find it (docs/hl7v2-profile.md says so)
                parts: tuple[str, ...] = (self.header.control_id, set_id)
            elif counts[identity] > 1:
                # the same code twice in one order with no OBX-4 sub-id: OBX-1 tells them
                # apart, as it does in a corrected report resent whole
                parts = (*identity, f"#{set_id}")
            else:
                parts = identity
            resource_id = fhir_id("hl7", self.facility, *parts)
            if resource_id in seen:
                self._error(
                    obx, 1, DUPLICATE_KEY, f"OBX-1 set id {set_id!r} repeats {seen[resource_id]}"
                )
                continue
            seen[resource_id] = obx.location()
            self._result(obx, obr, resource_id, message_time)

    def _observations_by_order(self) -> list[tuple[Segment | None, Segment, tuple[str, ...]]]:
        """(governing OBR, OBX, identity) in message order. The order number is the filler's
        (OBR-3, else ORC-3), else the placer's (OBR-2, else ORC-2), with its namespace;
        the identity adds OBX-3 (code and coding system) and OBX-4 (sub-id).
        HL7 v2.5.1 chapter 4 (ORC-2/3, OBR-2/3) and 7.4.2 (OBX-3, OBX-4)."""
        placed: list[tuple[Segment | None, Segment, tuple[str, ...]]] = []
        orc: Segment | None = None
        obr: Segment | None = None
        order = ""
        for segment in self.message.segments:
            if segment.name == "ORC":
                orc, obr = segment, None
                order = _order_number(obr, orc)
            elif segment.name == "OBR":
                obr = segment
                order = _order_number(obr, orc)
            elif segment.name == "OBX":
                identity = (
                    order,
                    segment.component(3, 1),
                    segment.component(3, 3).upper(),
                    segment.component(4),
                )
                placed.append((obr, segment, identity))
        return placed

    def _result(
        self, obx: Segment, obr: Segment | None, resource_id: str, message_time: str
    ) -> None:
        code = _coding(obx, 3)
        key = (code["system"], code["code"]) if code else None
        if key != DIAGNOSIS and key != DISEASE_STATUS and key not in TNM_M:
            label = (
                f"{obx.component(3, 1)}^{obx.component(3, 3)}" if obx.component(3) else "(empty)"
            )
            self._skip(
                obx, 3, "unsupported-observation-code", f"OBX-3 {label} is not in the profile"
            )
            return
        value_type = obx.component(2).upper()
        if value_type not in ("CWE", "CE"):
            self._skip(
                obx, 2, "unsupported-value-type", f"OBX-2 {value_type or '(empty)'} is not CWE"
            )
            return
        status = obx.component(11).upper()
        if not status:
            self._error(obx, 11, REQUIRED_MISSING, "OBX-11 result status is required")
            return
        if status not in OBSERVATION_STATUS:
            self._skip(
                obx,
                11,
                "unsupported-result-status",
                f"OBX-11 status {status!r} is not F, C, P, W or D",
            )
            return
        if not obx.component(5):
            self._error(obx, 5, REQUIRED_MISSING, "OBX-5 coded value is required")
            return
        value = _coding(obx, 5)
        if value is None:
            self._skip(
                obx,
                5,
                "unsupported-code-system",
                f"OBX-5 coding system {obx.component(5, 3)!r} is not SCT or I10",
            )
            return
        errors_before = len(self.issues)
        effective: str | None = None
        if obx.component(14):
            effective = self._date(obx, 14)
        elif obr is not None:
            effective = self._date(obr, 7)
        if len(self.issues) > errors_before:
            return
        base: dict[str, Any] = {"id": resource_id, "meta": self._meta(message_time)}
        if key == DIAGNOSIS:
            if value["system"] not in (SNOMED, ICD10):
                self._skip(obx, 5, "unsupported-code-system", "OBX-5 diagnosis must be SCT or I10")
                return
            verification = DIAGNOSIS_VERIFICATION[status]
            resource = {
                "resourceType": "Condition",
                **base,
                "category": [_concept(CATEGORY, "encounter-diagnosis")],
                "verificationStatus": _concept(VERIFICATION, verification),
                "code": {"coding": [value]},
                "subject": self.patient["subject"],
            }
            if verification != "entered-in-error":
                resource["clinicalStatus"] = _concept(CLINICAL, "active")
            if effective:
                resource["onsetDateTime"] = effective
        else:
            assert code is not None
            resource = {
                "resourceType": "Observation",
                **base,
                "status": OBSERVATION_STATUS[status],
                "code": {"coding": [code]},
                "subject": self.patient["subject"],
                "valueCodeableConcept": {"coding": [value]},
            }
            if effective:
                resource["effectiveDateTime"] = effective
        self._add(resource, obx.location())

    def _unread_segments(self) -> None:
        """Name each segment the profile does not read: a Z-segment (a local or HL72UK
        extension) with W, a standard segment with I."""
        read = READ_SEGMENTS[self.header.message_type]
        for segment in self.message.segments:
            if segment.name in read:
                continue
            severity: Severity
            if segment.name.startswith("Z"):
                reason, severity, what = "z-segment", "W", "Z-segment (local extension) not read"
            else:
                reason, severity, what = "segment-not-read", "I", "segment not read by rmbc"
            self.not_mapped.append(
                NotMapped(segment.location(), reason, f"{segment.name} {what}", severity)
            )

    def _skip(self, segment: Segment, number: int, reason: str, text: str) -> None:
        self.not_mapped.append(NotMapped(segment.location(number), reason, text))


def _coding(segment: Segment, number: int) -> dict[str, str] | None:
    """A CE/CWE field as a FHIR Coding; None when its coding system is not one rmbc knows."""
    code = segment.component(number, 1)
    system = CODE_SYSTEMS.get(segment.component(number, 3).upper().replace("-", ""))
    if not code or system is None:
        return None
    coding = {"system": system, "code": code}
    if display := segment.component(number, 2):
        coding["display"] = display
    return coding


def _order_number(obr: Segment | None, orc: Segment | None) -> str:
    """`F:<filler>^<namespace>` or `P:<placer>^<namespace>`, '' when the message has neither."""
    for kind, number_field in (("F", 3), ("P", 2)):
        for segment in (obr, orc):
            if segment is not None and (number := segment.component(number_field, 1)):
                return f"{kind}:{number}^{segment.component(number_field, 2)}"
    return ""


def _concept(system: str, code: str) -> dict[str, Any]:
    return {"coding": [{"system": system, "code": code}]}


def _problem_stamp(action_date: str, message_time: str) -> str:
    """PRB-2 orders versions of a problem. A date alone ties every change made that day, so the
    message time breaks the tie when it falls on the same day."""
    if not action_date:
        return message_time
    if not has_time(action_date) and message_time and same_day(action_date, message_time):
        return message_time
    return action_date


_FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")


def fhir_id(*parts: str) -> str:
    """`hl7-<facility>-<id>` when that is a valid FHIR id, else a stable hash of the same parts."""
    candidate = "-".join(parts)
    if _FHIR_ID.match(candidate):
        return candidate
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]
    return f"{parts[0]}-{digest}"


def _token(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9.\-]", "-", value) or "local"
