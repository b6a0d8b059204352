"""A deterministic synthetic cohort: UK Core FHIR R4 / HL7 v2 feed of breast cancer patients + truth.

`generate_cohort(patients, seed, base_date)` returns the deliveries a hospital feed would send, in
send order, and per patient the outcome `rmbc classify` must print (DOMAIN rules 1-11) plus what the
demo should see come out (flags, GP letter, CNS e-mail, registry record). The same seed and base date
give the same bytes; nothing reads the clock.

Where the proportions come from:
- recurrent or metastatic patients: half the cohort. Enriched on purpose (sensitivity and PPV need
  cases); this is not a prevalence figure.
- 58% of the recurrent/metastatic patients have distant disease (distant recurrence, de novo,
  progression, second-episode distant): the NCIN pilot of 598 patients, 58% distant metastases.
- de novo patients with an M1 stage observation: 38%, inside the 33-43% for whom stage is recorded
  at metastatic diagnosis (National Audit of Metastatic Breast Cancer).
- distant sites: bone the commonest, then lung, liver, brain (a rounded working mix, see
  `cohort_scenarios.DISTANT_SITE_WEIGHTS`; no single published table is claimed).
- men: 1% of patients (about 1 in 100 breast cancers in the UK are in men).
- feed shares (Bundles, HL7 v2 patients, late, newest-first, repeats, invalid 3%): chosen to exercise
  ingest, not measured; see `cohort_feed` and `cohort_invalid`.

Run: `python -m services.demo.cohort --patients 300 --seed 7 --out DIR` writes `fhir/` (NDJSON and
Bundles, for `rmbc classify` and `rmbc replay`), `hl7/` (one message per file, for `rmbc replay`),
`invalid/`, `deliveries.jsonl` (the send order and expected answers) and `truth.jsonl`.
"""

import argparse
import random
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import orjson

from services.demo import cohort_codes as codes
from services.demo.cohort_feed import Delivery, Draft, PatientFeed
from services.demo.cohort_invalid import INVALID_SHARE, REJECTION_REASONS, InvalidMessages
from services.demo.cohort_model import History, PatientProfile, PatientTruth, PatientVersion
from services.demo.cohort_scenarios import SCENARIOS, Scenario, allocate, build_history
from shared.nhs_number import check_digit

GP_PRACTICES = codes.GP_PRACTICES
UNROUTABLE_GP_PRACTICES = codes.UNROUTABLE_GP_PRACTICES
TRUSTS = codes.TRUSTS
MLLP_SHARE = 0.25  # of patients whose scenario the HL7 v2 profile can express
UNROUTABLE_SHARE = 0.02
MALE_SHARE = 0.01
PATIENT_UPDATE_SHARE = 0.15  # a second Patient version (new phone number)
DUPLICATE_RECORD_SHARE = 0.05  # a second Patient record, same NHS number, from another system

__all__ = [
    "GP_PRACTICES",
    "REJECTION_REASONS",
    "SCENARIOS",
    "TRUSTS",
    "UNROUTABLE_GP_PRACTICES",
    "Cohort",
    "Delivery",
    "PatientTruth",
    "generate_cohort",
    "main",
]


@dataclass(frozen=True)
class Cohort:
    deliveries: list[Delivery]
    truth: dict[str, PatientTruth]

    def write(self, directory: str | Path) -> Path:
        """Write the feed as files `rmbc classify` / `rmbc replay` read, plus manifest and truth."""
        root = Path(directory)
        for sub in ("fhir/bundles", "hl7", "invalid"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        manifest, ndjson = [], []
        for d in self.deliveries:
            if d.expect == "rejected":
                suffix = "hl7" if d.channel == "mllp" else "json"
                name = f"invalid/{d.index:06d}-{d.reason}.{suffix}"
            elif d.channel == "mllp":
                name = f"hl7/{d.index:06d}.hl7"
            elif d.path == "/fhir":
                name = f"fhir/bundles/{d.index:06d}.json"
            else:
                name = "fhir/resources.ndjson"
                ndjson.append(d.body)
            if name != "fhir/resources.ndjson":
                (root / name).write_bytes(d.body)
            manifest.append(
                {
                    "index": d.index,
                    "channel": d.channel,
                    "method": d.method,
                    "path": d.path,
                    "content_type": d.content_type,
                    "expect": d.expect,
                    "reason": d.reason,
                    "patient": d.patient,
                    "sent_at": d.sent_at.isoformat(),
                    "file": name,
                }
            )
        (root / "fhir/resources.ndjson").write_bytes(b"".join(line + b"\n" for line in ndjson))
        (root / "deliveries.jsonl").write_bytes(b"".join(orjson.dumps(m) + b"\n" for m in manifest))
        truth = (orjson.dumps(t.to_json()) + b"\n" for t in self.truth.values())
        (root / "truth.jsonl").write_bytes(b"".join(truth))
        return root


def nhs_numbers(count: int, rng: random.Random) -> list[str]:
    """Distinct valid NHS numbers in the 999 test range (never issued to real patients)."""
    chosen: set[str] = set()
    numbers: list[str] = []
    while len(numbers) < count:
        first_nine = f"999{rng.randint(0, 999_999):06d}"
        digit = check_digit(first_nine)
        if digit is None or first_nine in chosen:
            continue
        chosen.add(first_nine)
        numbers.append(f"{first_nine}{digit}")
    return numbers


def profile_for(
    index: int, nhs_number: str, gp_ods: str, channel: str, rng: random.Random, base: date
) -> PatientProfile:
    male = rng.random() < MALE_SHARE
    given = rng.choice(codes.MALE_GIVEN_NAMES if male else codes.FEMALE_GIVEN_NAMES)
    age_days = rng.randint(40 * 365, 92 * 365)
    trust = rng.choice(sorted(codes.TRUSTS))
    return PatientProfile(
        index=index,
        nhs_number=nhs_number,
        family=rng.choice(codes.FAMILY_NAMES),
        given=given,
        birth_date=base - timedelta(days=age_days),
        gender="male" if male else "female",
        gp_ods=gp_ods,
        gp_name={**codes.GP_PRACTICES, **codes.UNROUTABLE_GP_PRACTICES}[gp_ods],
        trust_ods=trust,
        local_id=f"{trust}{rng.randint(1_000_000, 9_999_999)}",
        channel="mllp" if channel == "mllp" else "http",
    )


def add_patient_records(history: History, rng: random.Random) -> None:
    """Some patients get a demographics update, some a second record with the same NHS number."""
    registered = [
        (i, v) for i, m in enumerate(history.moments) for v in m.versions if v.key == "patient"
    ]
    first, patient = registered[0]
    if first == len(history.moments) - 1:
        return
    anchor = history.moments[rng.randint(first + 1, len(history.moments) - 1)]
    assert isinstance(patient, PatientVersion)
    extra: list[PatientVersion] = []
    if rng.random() < PATIENT_UPDATE_SHARE:
        phone = f"07700 9{rng.randint(0, 99999):05d}"
        extra.append(PatientVersion("patient", 2, anchor.at, phone))
    if rng.random() < DUPLICATE_RECORD_SHARE:
        extra.append(PatientVersion("patient-dup", 1, anchor.at, patient.phone, "-PAS", "pas"))
    if extra:
        index = history.moments.index(anchor)
        history.moments[index] = type(anchor)(anchor.at, (*extra, *anchor.versions))


def truth_for(
    profile: PatientProfile, history: History, order: dict[tuple[int, str, int], int]
) -> PatientTruth:
    outcome = history.outcome
    retracted: tuple[str, ...] = ()
    if history.correction:
        raised_at = order.get((profile.index, *history.correction.raising))
        corrected_at = order.get((profile.index, *history.correction.correcting))
        if raised_at is not None and corrected_at is not None and raised_at < corrected_at:
            retracted = (history.correction.kind,)
    every_flag = outcome.flags + retracted
    alerting = any(kind != "review" for kind in every_flag)
    routable = profile.gp_ods in codes.GP_PRACTICES
    return PatientTruth(
        patient=profile.nhs_number,
        scenario=history.scenario,
        channel=profile.channel,
        breast_primary=outcome.breast_primary,
        recurrence=outcome.recurrence,
        recurrence_types=outcome.recurrence_types,
        metastatic=outcome.metastatic,
        de_novo_metastatic=outcome.de_novo_metastatic,
        metastatic_sites=outcome.metastatic_sites,
        episode_date=outcome.episode_date,
        flags=outcome.flags,
        retracted_flags=retracted,
        gp_practice_ods=profile.gp_ods,
        provider_ods=profile.trust_ods,
        gp_routable=routable,
        gp_letter=alerting and routable,
        cns_email=bool(every_flag),
        registry_record=alerting,
        correction=bool(retracted),
    )


def unroutable_patients(allocation: list[Scenario], rng: random.Random) -> set[int]:
    count = max(2, round(UNROUTABLE_SHARE * len(allocation)))
    positives = [i for i, s in enumerate(allocation) if s.positive]
    others = [i for i, s in enumerate(allocation) if not s.positive]
    from_positives = min(len(positives), (count + 1) // 2)
    chosen = rng.sample(positives, from_positives)
    chosen += rng.sample(others, min(len(others), count - from_positives))
    return set(chosen)


def generate_cohort(patients: int, seed: int = 7, base_date: date = date(2026, 1, 1)) -> Cohort:
    """`patients` synthetic patients whose feed ends before `base_date`; same inputs, same bytes."""
    if patients < 1:
        raise ValueError("a cohort needs at least one patient")
    rng = random.Random(f"rmbc-cohort:{seed}")
    allocation = allocate(patients, rng)
    numbers = nhs_numbers(patients, rng)
    unroutable = unroutable_patients(allocation, rng)
    last_send = datetime.combine(base_date, time(0), tzinfo=UTC) - timedelta(hours=1)
    routable_gps, spare_gps = sorted(codes.GP_PRACTICES), sorted(codes.UNROUTABLE_GP_PRACTICES)

    feeds, drafts = [], []
    for index, scenario in enumerate(allocation):
        patient_rng = random.Random(f"rmbc-cohort:{seed}:{index}")
        gp = patient_rng.choice(spare_gps if index in unroutable else routable_gps)
        channel = "mllp" if scenario.hl7 and patient_rng.random() < MLLP_SHARE else "http"
        profile = profile_for(index, numbers[index], gp, channel, patient_rng, base_date)
        history = build_history(scenario, patient_rng, profile, base_date)
        add_patient_records(history, patient_rng)
        feed = PatientFeed(seed, profile, history, patient_rng)
        feeds.append(feed)
        drafts += feed.drafts(last_send)

    start = min(d.sent_at for d in drafts)
    invalid = InvalidMessages(seed, rng, feeds)
    drafts += invalid.drafts(round(INVALID_SHARE * len(drafts)), start, last_send)
    drafts.sort(key=lambda d: (d.sent_at, d.patient_index, d.repeat))
    deliveries = [delivery(index, draft) for index, draft in enumerate(drafts)]

    order: dict[tuple[int, str, int], int] = {}
    for index, draft in enumerate(drafts):
        if draft.expect == "accepted":
            for key, version in draft.carries:
                order.setdefault((draft.patient_index, key, version), index)
    truth = {
        feed.profile.nhs_number: truth_for(feed.profile, feed.history, order) for feed in feeds
    }
    return Cohort(deliveries, truth)


def delivery(index: int, draft: Draft) -> Delivery:
    return Delivery(
        channel=draft.channel,
        method=draft.method,
        path=draft.path,
        body=draft.body,
        content_type=draft.content_type,
        expect=draft.expect,
        reason=draft.reason,
        patient=draft.patient,
        index=index,
        sent_at=draft.sent_at,
    )


def summary(cohort: Cohort) -> dict[str, object]:
    return {
        "patients": len(cohort.truth),
        "deliveries": len(cohort.deliveries),
        "by_channel": dict(Counter(d.channel for d in cohort.deliveries)),
        "rejected_by_reason": dict(Counter(d.reason for d in cohort.deliveries if d.reason)),
        "scenarios": dict(Counter(t.scenario for t in cohort.truth.values())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m services.demo.cohort",
        description="Write a deterministic synthetic cohort (feed files, manifest and truth).",
    )
    parser.add_argument("--patients", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--base-date", type=date.fromisoformat, default=date(2026, 1, 1))
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    cohort = generate_cohort(args.patients, args.seed, args.base_date)
    root = cohort.write(args.out)
    print(orjson.dumps({"out": str(root), **summary(cohort)}, option=orjson.OPT_INDENT_2).decode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
