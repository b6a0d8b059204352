"""The cohort's clinical record before it is rendered: resource versions grouped into moments, and truth."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from services.demo.cohort_codes import Code

Channel = Literal["http", "mllp"]
RECURRENCE_TYPE_ORDER = ("local", "regional", "distant")
SITE_ORDER = (
    "bone", "brain", "liver", "lung", "skin", "distant_lymph_nodes", "bone_marrow",
    "regional_lymph_nodes", "other", "unknown",
)  # fmt: skip


@dataclass(frozen=True)
class PatientProfile:
    index: int
    nhs_number: str
    family: str
    given: str
    birth_date: date
    gender: Literal["female", "male"]
    gp_ods: str
    gp_name: str
    trust_ods: str
    local_id: str
    channel: Channel


@dataclass(frozen=True)
class PatientVersion:
    key: str
    version: int
    updated: datetime
    phone: str
    resource_id_suffix: str = ""
    local_system: str = "mrn"


@dataclass(frozen=True)
class ConditionVersion:
    key: str
    version: int
    updated: datetime
    code: Code
    clinical_status: str | None
    verification: str
    onset: str | None
    recorded: str | None
    abatement: str | None = None
    body_site: Code | None = None
    related_to: str | None = None
    category: str = "problem-list-item"


@dataclass(frozen=True)
class ObservationVersion:
    key: str
    version: int
    updated: datetime
    code: Code
    value: Code
    status: str
    effective: str


Version = PatientVersion | ConditionVersion | ObservationVersion


def resource_type(version: Version) -> Literal["Patient", "Condition", "Observation"]:
    if isinstance(version, PatientVersion):
        return "Patient"
    return "Condition" if isinstance(version, ConditionVersion) else "Observation"


@dataclass(frozen=True)
class Moment:
    """Versions a sender would naturally send together (one clinic letter, one MDT outcome)."""

    at: datetime
    versions: tuple[Version, ...]


@dataclass(frozen=True)
class Outcome:
    """What the classification rules must conclude for the patient (DOMAIN rules 1-11)."""

    breast_primary: bool = False
    recurrence: bool = False
    recurrence_types: tuple[str, ...] = ()
    metastatic: bool = False
    de_novo_metastatic: bool = False
    metastatic_sites: tuple[str, ...] = ()
    episode_date: date | None = None
    flags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Correction:
    """A flag the `raising` version raises and the `correcting` version retracts, if sent in that order."""

    kind: str
    raising: tuple[str, int]
    correcting: tuple[str, int]


@dataclass
class History:
    scenario: str
    moments: list[Moment] = field(default_factory=list)
    outcome: Outcome = field(default_factory=Outcome)
    correction: Correction | None = None
    # None: any version may arrive late or newest-first; otherwise only these keys may be reordered.
    reorderable: frozenset[str] | None = None


@dataclass(frozen=True)
class PatientTruth:
    """The expected `rmbc classify` line for one patient, plus what the demo should see come out."""

    patient: str
    scenario: str
    channel: Channel
    breast_primary: bool
    recurrence: bool
    recurrence_types: tuple[str, ...]
    metastatic: bool
    de_novo_metastatic: bool
    metastatic_sites: tuple[str, ...]
    episode_date: date | None
    flags: tuple[str, ...]
    retracted_flags: tuple[str, ...]
    gp_practice_ods: str
    provider_ods: str
    gp_routable: bool
    gp_letter: bool
    cns_email: bool
    registry_record: bool
    correction: bool

    def classify_fields(self) -> dict[str, Any]:
        """Exactly the outcome fields of an `rmbc classify` line."""
        return {
            "patient": self.patient,
            "breast_primary": self.breast_primary,
            "recurrence": self.recurrence,
            "recurrence_types": list(self.recurrence_types),
            "metastatic": self.metastatic,
            "de_novo_metastatic": self.de_novo_metastatic,
            "metastatic_sites": list(self.metastatic_sites),
            "episode_date": self.episode_date.isoformat() if self.episode_date else None,
        }

    def to_json(self) -> dict[str, Any]:
        return {
            **self.classify_fields(),
            "scenario": self.scenario,
            "channel": self.channel,
            "flags": list(self.flags),
            "retracted_flags": list(self.retracted_flags),
            "gp_practice_ods": self.gp_practice_ods,
            "provider_ods": self.provider_ods,
            "gp_routable": self.gp_routable,
            "gp_letter": self.gp_letter,
            "cns_email": self.cns_email,
            "registry_record": self.registry_record,
            "correction": self.correction,
        }


def ordered_types(types: set[str]) -> tuple[str, ...]:
    return tuple(t for t in RECURRENCE_TYPE_ORDER if t in types)


def ordered_sites(sites: set[str]) -> tuple[str, ...]:
    return tuple(s for s in SITE_ORDER if s in sites)
