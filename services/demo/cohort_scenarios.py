"""Clinical histories, one builder per scenario, each recording the outcome DOMAIN's rules must reach.

Every builder writes versions through a `Recorder` (clinical time only, seeded randomness) and returns
the `Outcome`. Windows keep a wide margin from the rules' thresholds (90 days), so a partial onset
date (first day of its month, rule 3) or a reporting delay cannot move a patient across a boundary.
"""

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from services.demo import cohort_codes as codes
from services.demo.cohort_codes import Code
from services.demo.cohort_model import (
    ConditionVersion,
    Correction,
    History,
    Moment,
    ObservationVersion,
    Outcome,
    PatientProfile,
    PatientVersion,
    Version,
    ordered_sites,
)

# Approximate shares of first distant sites in breast cancer (bone clearly commonest, then lung,
# liver, brain); a rounded working mix, not a single published table.
DISTANT_SITE_WEIGHTS = {
    "bone": 45,
    "lung": 17,
    "liver": 15,
    "brain": 7,
    "distant_lymph_nodes": 5,
    "other": 5,
    "skin": 3,
    "bone_marrow": 3,
}
# National Audit of Metastatic Breast Cancer: stage recorded for only 33-43% of people with
# metastatic disease at diagnosis, so that share of de novo patients gets an M1 observation.
DE_NOVO_STAGE_RECORDED = 0.38
M0_STAGE_RECORDED = 0.4  # a cM0/pM0 observation at first diagnosis (a working figure)


def days(n: int) -> timedelta:
    return timedelta(days=n)


@dataclass(frozen=True)
class Diagnosis:
    day: date  # when it happened
    rule_day: date  # what rule 3 reads from the record (partial onset -> first of month)
    laterality: codes.Laterality


class Recorder:
    """Builds one patient's history: versions numbered per resource, grouped into moments."""

    def __init__(
        self, rng: random.Random, profile: PatientProfile, base_date: date, scenario: str
    ) -> None:
        self.rng = rng
        self.profile = profile
        self.base_date = base_date
        self.hl7 = profile.channel == "mllp"
        self.history = History(scenario)
        self._latest: dict[str, Version] = {}
        self._serial = 0

    # -- time ----------------------------------------------------------------------------------
    def at(self, day: date) -> datetime:
        """A working-hours instant, so the date is the same in UTC and in UK local time."""
        return datetime(
            day.year,
            day.month,
            day.day,
            self.rng.randint(9, 16),
            self.rng.randint(0, 59),
            self.rng.randint(0, 59),
            tzinfo=UTC,
        )

    def diagnosis_day(self, span: int) -> date:
        """A first diagnosis early enough for `span` days of history to fit before the base date."""
        return self.base_date - days(span + self.rng.randint(30, max(60, 3650 - span)))

    def between(self, start: date, low: int, high: int) -> date:
        return start + days(self.rng.randint(low, high))

    # -- versions ------------------------------------------------------------------------------
    def key(self, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}-{self._serial}"

    def moment(self, *versions: Version) -> None:
        self.history.moments.append(Moment(max(v.updated for v in versions), tuple(versions)))
        for version in versions:
            self._latest[version.key] = version

    def patient(self, day: date) -> PatientVersion:
        phone = f"07700 9{self.rng.randint(0, 99999):05d}"
        return PatientVersion("patient", 1, self.at(day), phone)

    def condition(
        self,
        key: str,
        onset: date,
        code: Code,
        *,
        clinical_status: str | None = "active",
        verification: str = "confirmed",
        body_site: Code | None = None,
        related_to: str | None = None,
        onset_text: str | None = None,
    ) -> ConditionVersion:
        updated = self.at(onset + days(self.rng.randint(0, 5)))
        return ConditionVersion(
            key=key,
            version=1,
            updated=updated,
            code=code,
            clinical_status=clinical_status,
            verification=verification,
            onset=onset_text or onset.isoformat(),
            recorded=updated.date().isoformat(),
            body_site=body_site,
            related_to=related_to,
            category=self.rng.choice(("problem-list-item", "encounter-diagnosis")),
        )

    def observation(
        self, key: str, day: date, code: Code, value: Code, status: str = "final"
    ) -> ObservationVersion:
        updated = self.at(day + days(self.rng.randint(0, 3)))
        return ObservationVersion(key, 1, updated, code, value, status, day.isoformat())

    def update(self, key: str, day: date, **changes: object) -> Version:
        """The next version of a resource, recorded on `day` (its meta.lastUpdated date)."""
        latest = self._latest[key]
        return replace(latest, version=latest.version + 1, updated=self.at(day), **changes)  # type: ignore[arg-type]

    # -- clinical building blocks -----------------------------------------------------------------
    def diagnose(self, span: int, *, with_stage: bool | None = None) -> Diagnosis:
        """Registration and an invasive breast primary with laterality (rule 3), often staged M0."""
        day = self.diagnosis_day(span)
        laterality: codes.Laterality = self.rng.choice(("left", "right"))
        # The HL7 profile carries no recordedDate, so its primaries always have a full onset date.
        form = 1.0 if self.hl7 else self.rng.random()
        rule_day, onset_text = day, None
        if form < 0.10:  # partial onset date: the rules read its first day
            onset_text, rule_day = day.strftime("%Y-%m"), day.replace(day=1)
        primary = self.condition(
            "primary",
            day,
            self.rng.choice(codes.BREAST_PRIMARY_CODES),
            body_site=codes.LATERALITY_SITE[laterality],
            onset_text=onset_text,
        )
        if 0.10 <= form < 0.18:  # onset absent: the rules read recordedDate
            primary = replace(primary, onset=None)
            rule_day = date.fromisoformat(primary.recorded or "")
        versions: list[Version] = [self.patient(day - days(self.rng.randint(1, 20))), primary]
        if with_stage or (with_stage is None and self.rng.random() < M0_STAGE_RECORDED):
            versions.append(self.stage(day, codes.M0))
        self.moment(*versions)
        return Diagnosis(day, rule_day, laterality)

    def stage(self, day: date, value: Code) -> ObservationVersion:
        return self.observation(self.key("tnm-m"), day, self.rng.choice(codes.TNM_M_CODES), value)

    def remit(self, day: date) -> None:
        """Disease-free evidence (rule 7) in one of the forms senders use."""
        form = self.rng.random()
        if form < 0.35:
            self.moment(self.update("primary", day, clinical_status="remission"))
        elif form < 0.55:
            self.moment(
                self.update("primary", day, clinical_status="resolved", abatement=day.isoformat())
            )
        elif form < 0.65:
            self.moment(self.update("primary", day, clinical_status="inactive"))
        else:
            self.not_detected(day)

    def not_detected(self, day: date) -> None:
        value = self.rng.choice(codes.NOT_DETECTED_VALUES)
        self.moment(self.observation(self.key("status"), day, codes.DISEASE_STATUS, value))

    def follow_ups(self, start: date, end: date) -> None:
        """Routine follow-up showing no evidence of disease, strictly inside the disease-free period."""
        if (end - start).days < 150:
            return
        for _ in range(self.rng.randint(0, 3)):
            self.not_detected(self.between(start, 60, (end - start).days - 60))

    def distant_code(self, site: str) -> tuple[Code, Code | None]:
        if site == "bone_marrow" and not self.hl7 and self.rng.random() < 0.5:
            return codes.SECONDARY_SITE_UNSPECIFIED, codes.BONE_MARROW_STRUCTURE
        return self.rng.choice(codes.DISTANT_SITE_CODES[site]), None

    def sample_sites(self) -> list[str]:
        count = self.rng.choices((1, 2, 3), weights=(70, 22, 8))[0]
        names, weights = list(DISTANT_SITE_WEIGHTS), list(DISTANT_SITE_WEIGHTS.values())
        sites: list[str] = []
        while len(sites) < count:
            site = self.rng.choices(names, weights=weights)[0]
            if site not in sites:
                sites.append(site)
        return sites

    def secondaries(self, sites: list[str], first: date, *, related: bool = True) -> list[date]:
        """One secondary Condition per site, the first on `first`, the rest within two months."""
        onsets = [first] + [self.between(first, 7, 60) for _ in sites[1:]]
        for site, onset in zip(sites, onsets, strict=True):
            code, body_site = self.distant_code(site)
            related_to = "primary" if related and not self.hl7 and self.rng.random() < 0.3 else None
            self.moment(
                self.condition(
                    self.key("secondary"),
                    onset,
                    code,
                    body_site=body_site,
                    related_to=related_to,
                )
            )
        return onsets

    def flip_primary(self, day: date) -> None:
        status = self.rng.choice(("recurrence", "relapse"))
        self.moment(self.update("primary", day, clinical_status=status, abatement=None))


Builder = Callable[[Recorder], Outcome]


# -- recurrent and metastatic breast cancer ------------------------------------------------------
def distant_recurrence(r: Recorder) -> Outcome:
    dx = r.diagnose(1100)
    remission = r.between(dx.day, 150, 400)
    r.remit(remission)
    relapse = r.between(remission, 200, 600)
    r.follow_ups(remission, relapse)
    sites = r.sample_sites()
    r.secondaries(sites, relapse)
    if r.rng.random() < 0.3:
        r.flip_primary(r.between(relapse, 0, 14))
    return Outcome(
        breast_primary=True,
        recurrence=True,
        recurrence_types=("distant",),
        metastatic=True,
        metastatic_sites=ordered_sites(set(sites)),
        episode_date=relapse,
        flags=("recurrence",),
    )


def distant_unknown_site(r: Recorder) -> Outcome:
    dx = r.diagnose(1100)
    remission = r.between(dx.day, 150, 400)
    r.remit(remission)
    relapse = r.between(remission, 200, 600)
    r.follow_ups(remission, relapse)
    form = r.rng.random()
    if form < 0.4:
        r.moment(r.stage(relapse, r.rng.choice(codes.M1_VALUES)))
    else:
        code = codes.DISTANT_METASTASIS_PRESENT if form < 0.7 else codes.SECONDARY_SITE_UNSPECIFIED
        r.moment(r.condition(r.key("secondary"), relapse, code))
    return Outcome(
        breast_primary=True,
        recurrence=True,
        recurrence_types=("distant",),
        metastatic=True,
        metastatic_sites=("unknown",),
        episode_date=relapse,
        flags=("recurrence",),
    )


def de_novo_metastatic(r: Recorder) -> Outcome:
    dx = r.diagnose(200, with_stage=False)
    sites = r.sample_sites()
    first = r.between(dx.day, -20, 45)
    evidence = r.secondaries(sites, first)
    if r.rng.random() < DE_NOVO_STAGE_RECORDED:
        r.moment(r.stage(dx.day, r.rng.choice(codes.M1_VALUES)))
        evidence.append(dx.day)
    return Outcome(
        breast_primary=True,
        metastatic=True,
        de_novo_metastatic=True,
        metastatic_sites=ordered_sites(set(sites)),
        episode_date=min(evidence),
        flags=("de_novo_metastatic",),
    )


def progression(r: Recorder) -> Outcome:
    dx = r.diagnose(950)
    spread = r.between(dx.day, 200, 900)
    if r.rng.random() < 0.3:
        day = r.between(dx.day, 100, (spread - dx.day).days - 30)
        r.moment(r.observation(r.key("status"), day, codes.DISEASE_STATUS, codes.STABLE))
    sites = r.sample_sites()
    r.secondaries(sites, spread)
    return Outcome(
        breast_primary=True,
        metastatic=True,
        metastatic_sites=ordered_sites(set(sites)),
        episode_date=spread,
        flags=("metastatic_progression",),
    )


def local_recurrence(r: Recorder) -> Outcome:
    dx = r.diagnose(1100)
    remission = r.between(dx.day, 150, 400)
    r.remit(remission)
    relapse = r.between(remission, 200, 600)
    r.follow_ups(remission, relapse)
    status = r.rng.choice(("recurrence", "relapse", "active"))
    r.moment(
        r.condition(
            r.key("local"),
            relapse,
            r.rng.choice(codes.BREAST_PRIMARY_CODES),
            clinical_status=status,
            body_site=codes.LATERALITY_SITE[dx.laterality],
        )
    )
    return Outcome(
        breast_primary=True,
        recurrence=True,
        recurrence_types=("local",),
        episode_date=relapse,
        flags=("recurrence",),
    )


def regional_recurrence(r: Recorder) -> Outcome:
    dx = r.diagnose(1100)
    remission = r.between(dx.day, 150, 400)
    r.remit(remission)
    relapse = r.between(remission, 200, 600)
    r.follow_ups(remission, relapse)
    key = r.key("regional")
    if not r.hl7 and r.rng.random() < 0.3:
        node = r.condition(
            key, relapse, codes.SECONDARY_SITE_UNSPECIFIED, body_site=codes.AXILLARY_NODE
        )
    else:
        node = r.condition(key, relapse, r.rng.choice(codes.REGIONAL_NODE_CODES))
    r.moment(node)
    return Outcome(
        breast_primary=True,
        recurrence=True,
        recurrence_types=("regional",),
        metastatic_sites=("regional_lymph_nodes",),
        episode_date=relapse,
        flags=("recurrence",),
    )


def status_flip(r: Recorder) -> Outcome:
    """The primary flips to recurrence with no site evidence: type unknown, so no type (rule 9)."""
    dx = r.diagnose(1100)
    remission = r.between(dx.day, 150, 400)
    r.remit(remission)
    relapse = r.between(remission, 200, 600)
    r.follow_ups(remission, relapse)
    r.flip_primary(relapse)
    return Outcome(
        breast_primary=True, recurrence=True, episode_date=relapse, flags=("recurrence",)
    )


def multiple_episodes(r: Recorder) -> Outcome:
    """A local recurrence treated back into remission, then distant disease: two episodes."""
    dx = r.diagnose(1500)
    remission = r.between(dx.day, 150, 300)
    r.remit(remission)
    local_day = r.between(remission, 200, 400)
    local = r.key("local")
    r.moment(
        r.condition(
            local,
            local_day,
            r.rng.choice(codes.BREAST_PRIMARY_CODES),
            clinical_status="recurrence",
            body_site=codes.LATERALITY_SITE[dx.laterality],
        )
    )
    second_remission = r.between(local_day, 150, 250)
    r.moment(
        r.update(
            local,
            second_remission,
            clinical_status="remission",
            abatement=second_remission.isoformat(),
        )
    )
    r.not_detected(second_remission + days(r.rng.randint(0, 20)))
    relapse = r.between(second_remission, 250, 450)
    sites = r.sample_sites()
    r.secondaries(sites, relapse, related=False)
    return Outcome(
        breast_primary=True,
        recurrence=True,
        recurrence_types=("local", "distant"),
        metastatic=True,
        metastatic_sites=ordered_sites(set(sites)),
        episode_date=relapse,
        flags=("recurrence", "recurrence"),
    )


def review(r: Recorder) -> Outcome:
    """Only provisional evidence: a flag for the CNS team to review, no outcome (rule 1)."""
    dx = r.diagnose(1100)
    remission = r.between(dx.day, 150, 400)
    r.remit(remission)
    suspected = r.between(remission, 200, 600)
    code, body_site = r.distant_code(r.sample_sites()[0])
    verification = r.rng.choice(("provisional", "unconfirmed", "differential"))
    r.moment(
        r.condition(
            r.key("secondary"), suspected, code, verification=verification, body_site=body_site
        )
    )
    return Outcome(breast_primary=True, flags=("review",))


def corrected(r: Recorder) -> Outcome:
    """Distant evidence later marked entered-in-error or refuted: raised, then retracted."""
    dx = r.diagnose(1100)
    remission = r.between(dx.day, 150, 400)
    r.remit(remission)
    wrong = r.between(remission, 200, 600)
    correction_day = r.between(wrong, 3, 30)
    if not r.hl7 and r.rng.random() < 0.3:
        first: Version = r.stage(wrong, r.rng.choice(codes.M1_VALUES))
        r.moment(first)
        r.moment(r.update(first.key, correction_day, status="entered-in-error"))
    else:
        code, _ = r.distant_code(r.rng.choice(("bone", "liver", "lung", "brain")))
        first = r.condition(r.key("secondary"), wrong, code)
        r.moment(first)
        if r.rng.random() < 0.7:
            fix = r.update(
                first.key, correction_day, verification="entered-in-error", clinical_status=None
            )
        else:
            fix = r.update(first.key, correction_day, verification="refuted")
        r.moment(fix)
    r.history.correction = Correction("recurrence", (first.key, 1), (first.key, 2))
    r.history.reorderable = frozenset({first.key})
    return Outcome(breast_primary=True)


# -- hard negatives ------------------------------------------------------------------------------
def no_recurrence(r: Recorder) -> Outcome:
    dx = r.diagnose(500)
    remission = r.between(dx.day, 150, 400)
    r.remit(remission)
    r.follow_ups(remission, r.base_date - days(30))
    return Outcome(breast_primary=True)


def benign(r: Recorder) -> Outcome:
    day = r.diagnosis_day(300)
    key = r.key("benign")
    r.moment(r.patient(day), r.condition(key, day, r.rng.choice(codes.BENIGN_BREAST_CODES)))
    if r.rng.random() < 0.5:
        resolved = r.between(day, 60, 300)
        r.moment(
            r.update(key, resolved, clinical_status="resolved", abatement=resolved.isoformat())
        )
    return Outcome()


def dcis(r: Recorder) -> Outcome:
    """Carcinoma in situ, treated, and sometimes in situ again on the same side: never invasive."""
    day = r.diagnosis_day(1000)
    side = codes.LATERALITY_SITE[r.rng.choice(("left", "right"))]
    key = r.key("dcis")
    r.moment(r.patient(day), r.condition(key, day, r.rng.choice(codes.DCIS_CODES), body_site=side))
    remission = r.between(day, 120, 300)
    r.moment(r.update(key, remission, clinical_status="resolved", abatement=remission.isoformat()))
    if r.rng.random() < 0.4:
        again = r.between(remission, 300, 650)
        r.moment(r.condition(r.key("dcis"), again, r.rng.choice(codes.DCIS_CODES), body_site=side))
    return Outcome()


def history_only(r: Recorder) -> Outcome:
    """Z85.3 personal history alone is not a breast primary (rule 3)."""
    day = r.diagnosis_day(300)
    r.moment(r.patient(day), r.condition(r.key("history"), day, codes.HISTORY_OF_BREAST_CANCER))
    if r.rng.random() < 0.5:
        r.not_detected(r.between(day, 30, 250))
    return Outcome()


def contralateral_new_primary(r: Recorder) -> Outcome:
    """A new primary in the other breast after remission is a new primary, not a recurrence."""
    dx = r.diagnose(1100)
    remission = r.between(dx.day, 150, 400)
    r.remit(remission)
    second = r.between(remission, 200, 600)
    other: codes.Laterality = "right" if dx.laterality == "left" else "left"
    r.moment(
        r.condition(
            r.key("contralateral"),
            second,
            r.rng.choice(codes.BREAST_PRIMARY_CODES),
            body_site=codes.LATERALITY_SITE[other],
        )
    )
    return Outcome(breast_primary=True)


def non_breast_metastases(r: Recorder) -> Outcome:
    """Metastases of a lung primary: with no breast history, or pointed at the lung primary."""
    with_breast_history = not r.hl7 and r.rng.random() < 0.5
    if with_breast_history:
        dx = r.diagnose(1100)
        remission = r.between(dx.day, 150, 400)
        r.remit(remission)
        lung_day = r.between(remission, 200, 600)
    else:
        lung_day = r.diagnosis_day(200)
    lung = r.key("lung")
    lung_primary = r.condition(lung, lung_day, r.rng.choice(codes.LUNG_PRIMARY_CODES))
    if with_breast_history:
        r.moment(lung_primary)
    else:
        r.moment(r.patient(lung_day), lung_primary)
    code, _ = r.distant_code(r.rng.choice(("brain", "bone", "liver")))
    related = lung if with_breast_history or (not r.hl7 and r.rng.random() < 0.5) else None
    spread = r.between(lung_day, 10, 120)
    r.moment(r.condition(r.key("secondary"), spread, code, related_to=related))
    return Outcome(breast_primary=with_breast_history)


def unknown_primary(r: Recorder) -> Outcome:
    """Cancer of unknown primary (C80) and its secondaries, no breast history (rule 4)."""
    day = r.diagnosis_day(200)
    r.moment(
        r.patient(day), r.condition(r.key("cup"), day, r.rng.choice(codes.UNKNOWN_PRIMARY_CODES))
    )
    if r.rng.random() < 0.6:
        code, _ = r.distant_code(r.rng.choice(("bone", "liver", "lung")))
        r.moment(r.condition(r.key("secondary"), r.between(day, 0, 30), code))
    return Outcome()


def m0_staging(r: Recorder) -> Outcome:
    dx = r.diagnose(500, with_stage=True)
    if r.rng.random() < 0.5:
        r.remit(r.between(dx.day, 150, 400))
    return Outcome(breast_primary=True)


def nodes_at_diagnosis(r: Recorder) -> Outcome:
    """Axillary nodes involved at first diagnosis are staging (N), not a site (rule 5)."""
    dx = r.diagnose(500)
    node_day = r.between(dx.day, 0, 20)
    form = r.rng.random()
    key = r.key("nodes")
    if form < 0.5:
        node = r.condition(key, node_day, r.rng.choice(codes.REGIONAL_NODE_CODES))
    elif form < 0.75 or r.hl7:
        node = r.condition(key, node_day, codes.REGIONAL_NODE_METASTASIS_PRESENT)
    else:
        node = r.condition(
            key, node_day, codes.SECONDARY_SITE_UNSPECIFIED, body_site=codes.AXILLARY_NODE
        )
    r.moment(node)
    r.remit(r.between(dx.day, 150, 400))
    return Outcome(breast_primary=True)


def worsened_without_site(r: Recorder) -> Outcome:
    """'Worsened' with no distant site known is progression and sets nothing (rule 8)."""
    dx = r.diagnose(950)
    worse = r.between(dx.day, 200, 900)
    r.moment(r.observation(r.key("status"), worse, codes.DISEASE_STATUS, codes.WORSENED))
    return Outcome(breast_primary=True)


def refuted_from_the_start(r: Recorder) -> Outcome:
    dx = r.diagnose(1100)
    remission = r.between(dx.day, 150, 400)
    r.remit(remission)
    code, _ = r.distant_code(r.rng.choice(("bone", "liver", "lung")))
    day = r.between(remission, 200, 600)
    r.moment(r.condition(r.key("secondary"), day, code, verification="refuted"))
    return Outcome(breast_primary=True)


@dataclass(frozen=True)
class Scenario:
    name: str
    share: float  # of the whole cohort
    build: Builder
    hl7: bool  # expressible in the HL7 v2 profile (it has no laterality and no related extension)
    positive: bool  # recurrent or metastatic breast cancer
    distant: bool


# Positives are half the cohort (enriched on purpose: sensitivity and PPV need cases). Within them
# 58% have distant disease, as in the NCIN pilot of 598 recurrent/metastatic patients.
SCENARIOS: tuple[Scenario, ...] = (
    Scenario("distant_recurrence", 0.14, distant_recurrence, True, True, True),
    Scenario("distant_unknown_site", 0.04, distant_unknown_site, True, True, True),
    Scenario("de_novo_metastatic", 0.04, de_novo_metastatic, True, True, True),
    Scenario("progression", 0.04, progression, True, True, True),
    Scenario("multiple_episodes", 0.03, multiple_episodes, False, True, True),
    Scenario("local_recurrence", 0.09, local_recurrence, False, True, False),
    Scenario("regional_recurrence", 0.08, regional_recurrence, True, True, False),
    Scenario("status_flip", 0.04, status_flip, True, True, False),
    Scenario("review", 0.04, review, True, False, False),
    Scenario("corrected", 0.04, corrected, True, False, False),
    Scenario("no_recurrence", 0.12, no_recurrence, True, False, False),
    Scenario("benign", 0.04, benign, True, False, False),
    Scenario("dcis", 0.04, dcis, True, False, False),
    Scenario("history_only", 0.02, history_only, True, False, False),
    Scenario("contralateral_new_primary", 0.05, contralateral_new_primary, False, False, False),
    Scenario("non_breast_metastases", 0.04, non_breast_metastases, True, False, False),
    Scenario("unknown_primary", 0.02, unknown_primary, True, False, False),
    Scenario("m0_staging", 0.03, m0_staging, True, False, False),
    Scenario("nodes_at_diagnosis", 0.03, nodes_at_diagnosis, True, False, False),
    Scenario("worsened_without_site", 0.02, worsened_without_site, True, False, False),
    Scenario("refuted", 0.01, refuted_from_the_start, True, False, False),
)
SCENARIO_BY_NAME = {scenario.name: scenario for scenario in SCENARIOS}


def allocate(patients: int, rng: random.Random) -> list[Scenario]:
    """Scenario per patient by quota (largest remainder), shuffled: proportions hold exactly."""
    exact = [scenario.share * patients for scenario in SCENARIOS]
    counts = [int(value) for value in exact]
    by_remainder = sorted(range(len(SCENARIOS)), key=lambda i: exact[i] - counts[i], reverse=True)
    for i in by_remainder[: patients - sum(counts)]:
        counts[i] += 1
    allocation = [s for s, n in zip(SCENARIOS, counts, strict=True) for _ in range(n)]
    rng.shuffle(allocation)
    return allocation


def build_history(
    scenario: Scenario, rng: random.Random, profile: PatientProfile, base_date: date
) -> History:
    recorder = Recorder(rng, profile, base_date, scenario.name)
    outcome = scenario.build(recorder)
    recorder.history.outcome = outcome
    if scenario.name in ("multiple_episodes", "non_breast_metastases"):
        recorder.history.reorderable = frozenset()
    recorder.history.moments.sort(key=lambda m: m.at)
    return recorder.history
