"""The event contract: one frozen model per topic, each behind the same envelope.

Additive changes only within a schema version; a breaking change is a new `.v2` topic.
Field descriptions are the documentation (they appear in the committed JSON schemas).
"""

import datetime as dt
import hashlib
import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = 1
_ID_NAMESPACE = uuid.UUID("6f1f7f2e-4c56-4b5e-9a51-1d2c8f0b7a10")
_NAMESPACE_BYTES = _ID_NAMESPACE.bytes


def stable_id(*parts: str) -> str:
    """A deterministic id: the same parts always give the same id, so a replay makes the same id.

    The name-based UUID (version 5) of `uuid.uuid5`, written out without building a UUID object
    (a third of the time; ingest makes two or three per resource)."""
    digest = bytearray(hashlib.sha1(_NAMESPACE_BYTES + "\x1f".join(parts).encode()).digest()[:16])
    digest[6] = digest[6] & 0x0F | 0x50  # version 5
    digest[8] = digest[8] & 0x3F | 0x80  # the RFC 4122 variant
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Envelope(Frozen):
    event_id: str = Field(description="Deterministic id: the same input always yields the same id.")
    schema_version: Literal[1] = Field(default=1, description="Version of this event's schema.")
    occurred_at: datetime = Field(description="When the fact behind the event happened.")
    recorded_at: datetime = Field(description="When rmbc recorded the event.")
    source: str = Field(description="The service (and channel) that produced the event.")
    correlation_id: str = Field(description="Ties every event caused by one input together.")


ODS_CODE_PATTERN = r"^[A-Z0-9]{3,6}$"  # an ODS organisation code
RecurrenceType = Literal["local", "regional", "distant"]
MetastaticSite = Literal[
    "bone",
    "brain",
    "liver",
    "lung",
    "skin",
    "distant_lymph_nodes",
    "bone_marrow",
    "regional_lymph_nodes",
    "other",
    "unknown",
]


class PatientContext(Frozen):
    """What is known of the patient. Never logged."""

    nhs_number: str | None = Field(default=None, description="10 digits, check digit verified.")
    nhs_number_status: str | None = Field(
        default=None, description="NHS Number Status Indicator (01 verified ... 08), when sent."
    )
    local_identifier: str | None = Field(
        default=None, description="`system|value` when no NHS number."
    )
    patient_reference: str | None = Field(default=None, description="e.g. `Patient/abc`.")
    family_name: str | None = None
    given_names: str | None = None
    birth_date: date | None = None
    gp_practice_ods: str | None = Field(
        default=None, description="Registered GP practice ODS code."
    )
    provider_ods: str | None = Field(default=None, description="Treating trust ODS code.")


class Sender(Frozen):
    channel: Literal["http", "mllp", "file"]
    client: str = Field(description="Authenticated client name or MLLP sending facility.")
    message_id: str | None = Field(
        default=None, description="Bundle id, MessageHeader id or MSH-10."
    )


class ClinicalEvent(Envelope):
    """rmbc.clinical-events.v1: one validated FHIR R4 resource (ingest -> classifier)."""

    event_type: Literal["clinical-event"] = "clinical-event"
    patient_key: str = Field(description="NHS number, else `system|value` of a local identifier.")
    resource_type: Literal["Condition", "Observation", "Patient"]
    resource_id: str
    version_id: str | None = None
    resource: dict[str, Any] = Field(description="The validated FHIR R4 resource as JSON.")
    patient: PatientContext | None = Field(
        default=None, description="Demographics resolved from the Bundle or an earlier Patient."
    )
    sender: Sender


class Evidence(Frozen):
    reference: str = Field(description="e.g. `Condition/abc/_history/2`.")
    rule: str = Field(description="The classification rule that used it.")
    system: str | None = None
    code: str | None = None
    display: str | None = None
    date: dt.date | None = None


class PrimaryTumour(Frozen):
    icd10: str | None = Field(default=None, description="Original primary, e.g. `C50.4`.")
    snomed: str | None = None
    laterality: Literal["left", "right", "bilateral"] | None = None
    diagnosis_date: date | None = None
    reference: str | None = None


FlagState = Literal["raised", "updated", "retracted"]
FlagKind = Literal["recurrence", "de_novo_metastatic", "metastatic_progression", "review"]


class CancerFlag(Envelope):
    """rmbc.cancer-flags.v1: a change of one episode's flag (classifier -> notifier)."""

    event_type: Literal["cancer-flag"] = "cancer-flag"
    flag_id: str = Field(description="Deterministic: patient key + episode.")
    patient_key: str
    episode: int = Field(ge=1, description="1 for the patient's first episode, then 2, ...")
    state: FlagState
    revision: int = Field(ge=1, description="Increases with every change of this flag.")
    kind: FlagKind
    needs_review: bool = False
    review_reason: str | None = None
    recurrence: bool
    recurrence_types: list[RecurrenceType]
    metastatic: bool
    de_novo_metastatic: bool
    metastatic_sites: list[MetastaticSite]
    episode_date: date | None
    primary: PrimaryTumour | None = None
    patient: PatientContext
    evidence: list[Evidence]
    reason: str | None = Field(default=None, description="Why it changed (e.g. why retracted).")


class Metastasis(Frozen):
    cr6520_metastatic_type: Literal["01", "02", "03"] = Field(
        description="01 local, 02 regional, 03 distant."
    )
    cr1590_metastatic_site: str = Field(description="COSD Metastatic Site code, e.g. 10 bone.")


class RegistryRecord(Envelope):
    """rmbc.registry-records.v1: a COSD-shaped record (notifier -> registry)."""

    event_type: Literal["registry-record"] = "registry-record"
    record_id: str
    flag_id: str
    action: Literal["submit", "amend", "withdraw"]
    supersedes: str | None = Field(default=None, description="record_id this one replaces.")
    record_type: Literal["non_primary_pathway", "metastatic_at_diagnosis"]
    non_primary_category: Literal["recurrence", "progression"] | None = None
    cr0010_nhs_number: str | None
    cr1350_nhs_number_status: str | None
    cr0100_birth_date: date | None
    cr0030_provider_ods: str | None
    cr0120_gp_practice_ods: str | None
    cr7100_original_primary_icd: str | None
    cr6500_episode_date: date | None
    metastases: list[Metastasis]
    cr1550_palliative_care_seen: Literal["Y", "N", "9"] = "9"
    cr9000_relapse_method: Literal["1", "2", "3", "4", "9"] | None = Field(
        default=None,
        description="9 means Other in COSD, never 'not known': null when no one recorded it "
        "(it defaulted to 9 before, asserting a method of detection on every record).",
    )
    evidence: list[str] = Field(description="FHIR references behind the record.")


AlertOutcome = Literal[
    "attempting",
    "sent",
    "already_sent",
    "failed",
    "dead_lettered",
    "unroutable",
    "escalated",  # an alert no one acknowledged in time, e-mailed to the team's MDT lead
]


class AlertEvent(Envelope):
    """rmbc.alerts.v1: one delivery attempt or outcome (the audit trail and send ledger)."""

    event_type: Literal["alert"] = "alert"
    alert_id: str = Field(description="Deterministic: flag id + recipient + flag state/revision.")
    flag_id: str
    flag_state: FlagState
    flag_revision: int
    channel: Literal["mesh", "smtp"]
    recipient: str = Field(description="MESH mailbox id or team e-mail address.")
    attempt: int = Field(ge=1)
    outcome: AlertOutcome
    transport_id: str | None = Field(default=None, description="MESH message id or Message-ID.")
    detail: str | None = None


ReviewAction = Literal[
    "acknowledged", "patient_contacted", "confirmed", "not_confirmed", "more_information_needed"
]
ReviewerRole = Literal["cns", "mdt_coordinator"]


class Reviewer(Frozen):
    """Who acted, as their OpenID Connect sign-in said."""

    subject: str = Field(max_length=255, description="The provider's `sub` claim.")
    issuer: str = Field(max_length=1024, description="The provider's `iss` claim.")
    name: str = Field(max_length=200, description="Display name, for the audit trail.")
    role: ReviewerRole
    trust_ods: str = Field(pattern=ODS_CODE_PATTERN, description="The trust the user acts for.")


class KeyWorker(Frozen):
    """The key worker a CNS assigns on acknowledging an alert."""

    name: str = Field(min_length=1, max_length=200)
    role: str = Field(min_length=1, max_length=200, description="e.g. Breast CNS.")


class AgreedFinding(Frozen):
    """What the MDT agreed, which may differ from what rmbc proposed."""

    episode_date: date = Field(
        description="Date of Non Primary Cancer Diagnosis (Clinically Agreed), COSD CR6500."
    )
    recurrence_types: list[RecurrenceType]
    de_novo_metastatic: bool
    metastatic_sites: list[MetastaticSite]


class ReviewEvent(Envelope):
    """rmbc.reviews.v1: one action a person took on a finding (worklist -> notifier, registry).

    Keyed by patient key. `previous_review_id` is the latest review of the flag the user saw, so
    two people acting on the same item can never overwrite each other unseen."""

    event_type: Literal["review"] = "review"
    review_id: str = Field(description="Unique per action.")
    flag_id: str
    flag_revision: int = Field(ge=1, description="The flag revision the user was shown.")
    patient_key: str
    action: ReviewAction
    reviewer: Reviewer
    previous_review_id: str | None = Field(
        description="The flag's latest review when the user acted; null for the first."
    )
    key_worker: KeyWorker | None = Field(default=None, description="With `acknowledged`.")
    contacted_on: date | None = Field(default=None, description="With `patient_contacted`.")
    agreed: AgreedFinding | None = Field(default=None, description="With `confirmed`.")
    reason: str | None = Field(
        default=None,
        max_length=2000,
        description="Why not confirmed, or what more information is needed.",
    )


class DeadLetter(Envelope):
    """rmbc.dead-letter.v1: what a service could not process, byte for byte, and why."""

    event_type: Literal["dead-letter"] = "dead-letter"
    service: str
    reason: str
    original_topic: str | None
    original_partition: int | None
    original_offset: int | None
    original_key: str | None = Field(description="Base64 of the original key bytes.")
    original_value: str = Field(description="Base64 of the original value bytes.")


Event = Annotated[
    ClinicalEvent | CancerFlag | RegistryRecord | AlertEvent | DeadLetter | ReviewEvent,
    Field(discriminator="event_type"),
]
EVENT_TYPES: dict[str, type[Envelope]] = {
    "clinical-event": ClinicalEvent,
    "cancer-flag": CancerFlag,
    "registry-record": RegistryRecord,
    "alert": AlertEvent,
    "dead-letter": DeadLetter,
    "review": ReviewEvent,
}


# --- rmbc.registry-records.v2: COSD v10 items by pathway -------------------------------------
# A breaking change of the registry record (items renamed, CR9000/CR1550 no longer default, the
# pathways split), so it is a new topic beside v1. Item numbers, formats and value sets follow the
# COSD v10 data items as published in the LinkML schema Health-Informatics-UoN/nuh-data
# `schemas/datasets/cosd/cosd.yaml` (enums MetastaticType, MetastaticSite,
# NhsNumberStatusIndicatorCode, PalliativeCareSpecialistSeenIndicatorCancerRecurrence,
# RelapseMethodOfDetection).

CosdMetastaticType = Literal["01", "02", "03"]
CosdMetastaticSite = Literal["02", "03", "04", "07", "08", "09", "10", "11", "12", "97", "98"]
NhsNumberStatus = Literal["01", "02", "03", "04", "05", "06", "07", "08"]
ICD_CODE_PATTERN = r"^[A-Z][0-9]{2}(\.?[0-9X]{1,2})?$"  # ICD-10, an6
IcdCode = Annotated[str, Field(pattern=ICD_CODE_PATTERN, max_length=6)]
OdsCode = Annotated[str, Field(pattern=ODS_CODE_PATTERN)]


class RecurrenceMetastasis(Frozen):
    """One repeating pair of the non-primary pathway (recurrence or progression)."""

    cr6520_metastatic_type: CosdMetastaticType = Field(
        description="01 local, 02 regional, 03 distant."
    )
    cr1590_metastatic_site: CosdMetastaticSite = Field(
        description="COSD Metastatic Site, e.g. 10 bone."
    )


class MetastasisAtDiagnosis(Frozen):
    """One repeating pair of the primary pathway: metastatic disease at diagnosis (de novo)."""

    cr6960_metastatic_type: CosdMetastaticType = Field(
        description="01 local, 02 regional, 03 distant."
    )
    cr6970_metastatic_site: CosdMetastaticSite = Field(
        description="COSD Metastatic Site at diagnosis."
    )


class PrimaryPathwayItems(Frozen):
    """De novo metastatic disease: the primary pathway's diagnosis items."""

    cr0370_primary_diagnosis_icd: IcdCode | None = Field(description="The breast primary, C50.x.")
    cr2030_primary_diagnosis_date: date | None = Field(
        description="Date of Primary Cancer Diagnosis (Clinically Agreed), proposed from evidence."
    )
    metastases_at_diagnosis: list[MetastasisAtDiagnosis] = Field(description="CR6960/CR6970 pairs.")


class RecurrenceItems(Frozen):
    """Non-primary pathway, recurrence."""

    cr6500_non_primary_diagnosis_date: date | None = Field(
        description="Date of Non Primary Cancer Diagnosis (Clinically Agreed), proposed from evidence."
    )
    cr7100_original_primary_icd: IcdCode | None = Field(description="The breast primary, C50.x.")
    metastases: list[RecurrenceMetastasis] = Field(description="CR6520/CR1590 pairs.")
    cr1550_palliative_care_seen: Literal["Y", "N", "9"] | None = Field(
        default=None, description="Y / N / 9 not known; absent until someone records it."
    )
    cr9000_relapse_method: Literal["1", "2", "3", "4", "9"] | None = Field(
        default=None, description="9 means Other, never 'not known': absent when not known."
    )


class ProgressionItems(Frozen):
    """Non-primary pathway, progression (never disease-free)."""

    cr6500_non_primary_diagnosis_date: date | None = Field(
        description="Date of Non Primary Cancer Diagnosis (Clinically Agreed), proposed from evidence."
    )
    cr6900_progression_icd: IcdCode | None = Field(
        description="Progression ICD: the original diagnosis, C50.x."
    )
    metastases: list[RecurrenceMetastasis] = Field(description="CR6520/CR1590 progression pairs.")


class RegistryRecordV2(Envelope):
    """rmbc.registry-records.v2: a record of COSD v10 items (notifier -> registry)."""

    event_type: Literal["registry-record"] = "registry-record"
    schema_version: Literal[2] = Field(default=2, description="Version of this event's schema.")  # type: ignore[assignment]
    record_id: str = Field(description="Same id as the v1 record of the same flag revision.")
    flag_id: str
    action: Literal["submit", "amend", "withdraw"]
    supersedes: str | None = Field(default=None, description="record_id this one replaces.")
    provenance: Literal["proposed", "agreed"] = Field(
        description="proposed by rmbc's rules, or clinically agreed at MDT (rmbc.reviews.v1)."
    )
    pathway: Literal["primary", "non_primary"]
    cr0010_nhs_number: str | None = Field(pattern=r"^[0-9]{10}$")
    cr0020_local_patient_identifier: str | None = Field(max_length=10)
    cr1350_nhs_number_status: NhsNumberStatus | None
    cr0100_birth_date: date | None
    cr0030_provider_ods: OdsCode | None
    cr0120_gp_practice_ods: OdsCode | None
    primary: PrimaryPathwayItems | None = Field(default=None, description="De novo metastatic.")
    recurrence: RecurrenceItems | None = None
    progression: ProgressionItems | None = None
    original_primary_diagnosis_date: date | None = Field(
        description="Not a COSD item of this pathway: the start of the recurrence-free interval."
    )
    incomplete_items: list[str] = Field(
        description="Mandatory COSD items this record lacks, e.g. ['CR1350']: never filled in."
    )
    invalid_items: list[str] = Field(
        description="Items the evidence gave in a form COSD does not take: left out, named here."
    )
    evidence: list[str] = Field(description="FHIR references behind the record.")
    agreed_by: Reviewer | None = Field(
        default=None, description="With `agreed`: the MDT coordinator who recorded the decision."
    )
    agreed_at: datetime | None = Field(
        default=None, description="With `agreed`: when the MDT decision was recorded."
    )
    agreed_review_id: str | None = Field(
        default=None, description="With `agreed`: the rmbc.reviews.v1 event of the decision."
    )
