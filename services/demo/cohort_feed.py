"""From clinical histories to what a hospital feed actually sends, in the order it sends it.

Realism: reporting delays, a share of moments sent as Bundles (transaction / batch / collection with
`urn:uuid` references), HL7 v2 patients over MLLP, late arrivals, versions arriving newest-first,
repeated sends, and a share of invalid messages, each marked with the rejection it must get.
"""

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import orjson

from services.demo import cohort_fhir as fhir
from services.demo import cohort_hl7 as hl7
from shared.events import stable_id

from services.demo.cohort_model import (  # isort: skip
    ConditionVersion,
    History,
    ObservationVersion,
    PatientProfile,
    PatientVersion,
    Version,
    resource_type,
)

FHIR_JSON = "application/fhir+json"
HL7_V2 = "application/hl7-v2"
BUNDLE_SHARE_MULTI = 0.45  # moments of two or more resources sent as one Bundle
BUNDLE_SHARE_SINGLE = 0.08
BUNDLE_TYPES: tuple[fhir.BundleType, ...] = ("transaction", "batch", "collection")
BUNDLE_TYPE_WEIGHTS = (45, 30, 25)
SUBJECT_IDENTIFIER_SHARE = 0.8  # subject carries the NHS number as well as the reference
LATE_SHARE = 0.10  # patients with one message sent 1-10 months after it was recorded
NEWEST_FIRST_SHARE = 0.25  # patients whose versions of one resource are backfilled newest first
REPEAT_SHARE = 0.04  # messages the sender sends twice
UNMAPPED_OBX_SHARE = 0.10  # ORU messages carrying a result outside the profile
ORU_DIAGNOSIS_SHARE = 0.4  # single-version diagnoses sent as ORU^R01 (29308-4) instead of PPR

Expect = Literal["accepted", "rejected"]


@dataclass(frozen=True)
class Delivery:
    """One message as the demo sends it to ingest, and the answer it must get."""

    channel: Literal["http", "mllp"]
    method: Literal["POST", "PUT"]
    path: str  # HTTP path; "" for MLLP
    body: bytes  # HTTP body, or the unframed HL7 message for MLLP
    content_type: str
    expect: Expect
    reason: str | None  # why it must be rejected
    patient: str | None  # NHS number of the patient it belongs to, when known
    index: int
    sent_at: datetime


@dataclass
class Draft:
    sent_at: datetime
    patient_index: int
    channel: Literal["http", "mllp"]
    method: Literal["POST", "PUT"]
    path: str
    body: bytes
    content_type: str
    patient: str | None
    carries: frozenset[tuple[str, int]] = frozenset()
    has_patient: bool = False
    alone: bool = False  # one resource version sent on its own (not in a Bundle)
    expect: Expect = "accepted"
    reason: str | None = None
    repeat: bool = False
    keys: frozenset[str] = field(default_factory=frozenset)


class PatientFeed:
    """Renders one patient's history into drafts for the channel the patient's records use."""

    def __init__(
        self, seed: int, profile: PatientProfile, history: History, rng: random.Random
    ) -> None:
        self.seed, self.profile, self.history, self.rng = seed, profile, history, rng
        self.version_counts = Counter(v.key for m in history.moments for v in m.versions)
        self._messages = 0
        self._via_oru: dict[str, bool] = {}

    def stable(self, *parts: str) -> str:
        return stable_id("rmbc-cohort", str(self.seed), self.profile.nhs_number, *parts)

    def resource_id(self, key: str) -> str:
        return self.stable(key)

    def patient_reference(self) -> str:
        return f"Patient/{self.resource_id('patient')}"

    # -- FHIR over HTTP ------------------------------------------------------------------------
    def resource(self, version: Version, patient_reference: str) -> fhir.Json:
        related = None
        if isinstance(version, ConditionVersion) and version.related_to:
            related = f"Condition/{self.resource_id(version.related_to)}"
        return fhir.render(
            self.profile,
            version,
            self.resource_id(version.key),
            patient_reference,
            self.rng.random() < SUBJECT_IDENTIFIER_SHARE,
            related,
        )

    def http_drafts(self, versions: tuple[Version, ...], sent_at: datetime) -> list[Draft]:
        share = BUNDLE_SHARE_MULTI if len(versions) > 1 else BUNDLE_SHARE_SINGLE
        if self.rng.random() < share:
            return [self.bundle_draft(versions, sent_at)]
        drafts = []
        for offset, version in enumerate(versions):
            kind = resource_type(version)
            body = self.resource(version, self.patient_reference())
            single = self.version_counts[version.key] == 1 and kind != "Patient"
            method: Literal["POST", "PUT"]
            if single and self.rng.random() < 0.5:
                method, path = "POST", f"/fhir/{kind}"
            else:
                method, path = "PUT", f"/fhir/{kind}/{body['id']}"
            drafts.append(
                self.draft(sent_at + timedelta(seconds=offset), [version], "http", body=body)
            )
            drafts[-1].method, drafts[-1].path, drafts[-1].alone = method, path, True
        return drafts

    def bundle_draft(self, versions: tuple[Version, ...], sent_at: datetime) -> Draft:
        urns = {v.key: f"urn:uuid:{self.stable('entry', v.key, str(v.version))}" for v in versions}
        reference = urns.get("patient", self.patient_reference())
        entries = [(urns[v.key], self.resource(v, reference)) for v in versions]
        kind = self.rng.choices(BUNDLE_TYPES, weights=BUNDLE_TYPE_WEIGHTS)[0]
        bundle_id = self.stable("bundle", *(f"{v.key}/{v.version}" for v in versions))
        body = fhir.bundle(bundle_id, kind, entries)
        draft = self.draft(sent_at, list(versions), "http", body=body)
        draft.method, draft.path = "POST", "/fhir"
        return draft

    # -- HL7 v2 over MLLP ----------------------------------------------------------------------
    def control_id(self) -> str:
        self._messages += 1
        return "RMBC" + self.stable("msh-10", str(self._messages)).replace("-", "")[:16].upper()

    def via_oru(self, version: ConditionVersion) -> bool:
        if version.key not in self._via_oru:
            eligible = (
                self.version_counts[version.key] == 1
                and version.clinical_status == "active"
                and version.verification in ("confirmed", "provisional")
                and version.onset is not None
            )
            self._via_oru[version.key] = eligible and self.rng.random() < ORU_DIAGNOSIS_SHARE
        return self._via_oru[version.key]

    def hl7_message(self, version: Version, sent_at: datetime) -> bytes:
        application = self.rng.choice(hl7.SENDING_APPLICATIONS)
        control = self.control_id()
        if isinstance(version, PatientVersion):
            if version.key != "patient":
                event = "A28"
            else:
                event = "A04" if version.version == 1 else self.rng.choice(("A08", "A31"))
            return hl7.adt(
                self.profile, event, application, sent_at, control, version.resource_id_suffix
            )
        if isinstance(version, ConditionVersion) and not self.via_oru(version):
            instance = "PRB" + self.stable("prb", version.key).replace("-", "")[:12].upper()
            return hl7.ppr(self.profile, version, instance, application, sent_at, control)
        if isinstance(version, ObservationVersion):
            results = [hl7.observation_obx(1, version)]
        else:
            results = [hl7.diagnosis_obx(1, version)]
        effective = version.updated.date()
        if self.rng.random() < UNMAPPED_OBX_SHARE:
            results.append(hl7.unmapped_obx(2, effective.isoformat()))
        return hl7.oru(self.profile, results, application, sent_at, control, effective)

    def mllp_drafts(self, versions: tuple[Version, ...], sent_at: datetime) -> list[Draft]:
        drafts = []
        for offset, version in enumerate(versions):
            at = sent_at + timedelta(seconds=offset)
            draft = self.draft(at, [version], "mllp", raw=self.hl7_message(version, at))
            draft.alone = True
            drafts.append(draft)
        return drafts

    # -- common --------------------------------------------------------------------------------
    def draft(
        self,
        sent_at: datetime,
        versions: list[Version],
        channel: Literal["http", "mllp"],
        body: fhir.Json | None = None,
        raw: bytes | None = None,
    ) -> Draft:
        return Draft(
            sent_at=sent_at,
            patient_index=self.profile.index,
            channel=channel,
            method="POST",
            path="",
            body=raw if raw is not None else orjson.dumps(body),
            content_type=HL7_V2 if channel == "mllp" else FHIR_JSON,
            patient=self.profile.nhs_number,
            carries=frozenset((v.key, v.version) for v in versions),
            has_patient=any(isinstance(v, PatientVersion) for v in versions),
            keys=frozenset(v.key for v in versions),
        )

    def drafts(self, last_send: datetime) -> list[Draft]:
        drafts: list[Draft] = []
        for moment in self.history.moments:
            if self.profile.channel == "mllp":
                delay = timedelta(seconds=self.rng.randint(5, 7200))
                drafts += self.mllp_drafts(moment.versions, moment.at + delay)
            else:
                delay = timedelta(seconds=self.rng.randint(60, 3 * 86400))
                drafts += self.http_drafts(moment.versions, moment.at + delay)
        self.arrive_late(drafts, last_send)
        if self.profile.channel == "http":
            self.backfill_newest_first(drafts)
        return drafts + self.repeats(drafts)

    def reorderable(self, draft: Draft) -> bool:
        allowed = self.history.reorderable
        return not draft.has_patient and (allowed is None or draft.keys <= allowed)

    def arrive_late(self, drafts: list[Draft], last_send: datetime) -> None:
        candidates = [d for d in drafts if self.reorderable(d)]
        if not candidates or self.rng.random() >= LATE_SHARE:
            return
        late = self.rng.choice(candidates)
        later = late.sent_at + timedelta(days=self.rng.randint(30, 300))
        late.sent_at = max(late.sent_at, min(later, last_send))

    def backfill_newest_first(self, drafts: list[Draft]) -> None:
        by_key: dict[str, list[Draft]] = {}
        for draft in drafts:
            if draft.alone and self.reorderable(draft):
                (key,) = draft.keys
                by_key.setdefault(key, []).append(draft)
        keys = sorted(key for key, group in by_key.items() if len(group) > 1)
        if not keys or self.rng.random() >= NEWEST_FIRST_SHARE:
            return
        group = by_key[self.rng.choice(keys)]
        start = max(d.sent_at for d in group)
        newest_first = sorted(group, key=lambda d: max(v for _, v in d.carries), reverse=True)
        for offset, draft in enumerate(newest_first):
            draft.sent_at = start + timedelta(seconds=offset)

    def repeats(self, drafts: list[Draft]) -> list[Draft]:
        copies = []
        for draft in drafts:
            if self.rng.random() < REPEAT_SHARE:
                delay = timedelta(seconds=self.rng.randint(60, 3 * 86400))
                copies.append(
                    Draft(**{**draft.__dict__, "sent_at": draft.sent_at + delay, "repeat": True})
                )
        return copies
