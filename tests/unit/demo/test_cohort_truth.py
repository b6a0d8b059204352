"""The truth is internally consistent, covers every scenario, and follows the stated proportions."""

import json
from collections import Counter, defaultdict
from datetime import date, datetime

from services.demo.cohort import SCENARIOS, Cohort, PatientTruth
from services.demo.cohort_scenarios import SCENARIO_BY_NAME


def positives(cohort: Cohort) -> list[PatientTruth]:
    return [t for t in cohort.truth.values() if SCENARIO_BY_NAME[t.scenario].positive]


def test_every_scenario_appears_in_a_300_patient_cohort(cohort: Cohort) -> None:
    assert {t.scenario for t in cohort.truth.values()} == {s.name for s in SCENARIOS}


def test_58_percent_of_recurrent_or_metastatic_patients_have_distant_disease(
    cohort: Cohort,
) -> None:
    found = positives(cohort)
    distant = [t for t in found if t.metastatic]
    assert abs(len(distant) / len(found) - 0.58) < 0.02
    assert abs(len(found) / len(cohort.truth) - 0.5) < 0.01


def test_feed_shares_are_near_their_targets(cohort: Cohort) -> None:
    deliveries = cohort.deliveries
    accepted = [d for d in deliveries if d.expect == "accepted"]
    invalid_share = (len(deliveries) - len(accepted)) / len(accepted)
    mllp_patients = sum(t.channel == "mllp" for t in cohort.truth.values()) / len(cohort.truth)
    bundles = sum(d.path == "/fhir" for d in accepted)
    assert 0.025 < invalid_share < 0.035
    assert 0.12 < mllp_patients < 0.28
    assert bundles > 0.1 * sum(d.channel == "http" for d in accepted)


def test_outcomes_are_consistent_with_each_other(cohort: Cohort) -> None:
    for t in cohort.truth.values():
        if t.de_novo_metastatic:
            assert t.metastatic and not t.recurrence
        if t.recurrence_types:
            assert t.recurrence
        if t.metastatic_sites:
            assert t.recurrence or t.metastatic
        if t.metastatic and t.recurrence:
            assert "distant" in t.recurrence_types
        if "distant" in t.recurrence_types:
            assert t.metastatic
        if not t.breast_primary:
            assert not (t.recurrence or t.metastatic or t.flags or t.retracted_flags)
        assert (t.episode_date is not None) == (t.recurrence or t.metastatic)
        outcome_flags = [k for k in t.flags if k != "review"]
        assert bool(outcome_flags) == (t.recurrence or t.metastatic)
        if "review" in t.flags:
            assert not (t.recurrence or t.metastatic or t.metastatic_sites)


def test_flag_kinds_follow_the_outcome(cohort: Cohort) -> None:
    for t in cohort.truth.values():
        if t.de_novo_metastatic:
            assert t.flags == ("de_novo_metastatic",)
        elif t.metastatic and not t.recurrence:
            assert t.flags == ("metastatic_progression",)
        elif t.recurrence:
            assert set(t.flags) == {"recurrence"}
    assert any(len(t.flags) == 2 for t in cohort.truth.values())


def test_alerts_follow_the_flags_and_the_directory(cohort: Cohort) -> None:
    for t in cohort.truth.values():
        alerting = any(k != "review" for k in t.flags + t.retracted_flags)
        assert t.gp_letter == (alerting and t.gp_routable)
        assert t.registry_record == alerting
        assert t.cns_email == bool(t.flags or t.retracted_flags)
        assert t.correction == bool(t.retracted_flags)
    unroutable = [t for t in positives(cohort) if not t.gp_routable]
    assert unroutable and not any(t.gp_letter for t in unroutable)


def test_some_corrections_retract_a_raised_flag(cohort: Cohort) -> None:
    corrected = [t for t in cohort.truth.values() if t.scenario == "corrected"]
    assert any(t.correction for t in corrected)
    assert not any(t.recurrence or t.metastatic for t in corrected)


def dates_in_feed(cohort: Cohort) -> dict[str, set[date]]:
    """Every onset, effective and lastUpdated date each patient's accepted FHIR carries."""
    found: dict[str, set[date]] = defaultdict(set)
    for delivery in cohort.deliveries:
        if delivery.channel != "http" or delivery.expect != "accepted" or not delivery.patient:
            continue
        body = json.loads(delivery.body)
        resources = [e["resource"] for e in body["entry"]] if "entry" in body else [body]
        for r in resources:
            for element in ("onsetDateTime", "effectiveDateTime"):
                if len(r.get(element, "")) == 10:
                    found[delivery.patient].add(date.fromisoformat(r[element]))
            found[delivery.patient].add(datetime.fromisoformat(r["meta"]["lastUpdated"]).date())
    return found


def test_every_episode_date_is_a_date_the_patients_records_carry(cohort: Cohort) -> None:
    found = dates_in_feed(cohort)
    checked = 0
    for t in cohort.truth.values():
        if t.episode_date and t.channel == "http":
            assert t.episode_date in found[t.patient]
            checked += 1
    assert checked > 50


def test_the_feed_contains_repeats_newest_first_versions_and_late_arrivals(
    cohort: Cohort,
) -> None:
    bodies = Counter(d.body for d in cohort.deliveries if d.expect == "accepted")
    assert any(count > 1 for count in bodies.values())
    seen: dict[str, int] = {}
    newest_first = late = 0
    for d in cohort.deliveries:
        if d.channel != "http" or d.expect != "accepted" or d.method != "PUT":
            continue
        body = json.loads(d.body)
        version = int(body["meta"]["versionId"])
        if seen.get(d.path, 0) > version:
            newest_first += 1
        seen[d.path] = max(seen.get(d.path, 0), version)
        updated = datetime.fromisoformat(body["meta"]["lastUpdated"])
        if (d.sent_at - updated).days > 30:
            late += 1
    assert newest_first > 0 and late > 0
