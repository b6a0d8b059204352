"""The example registry consumer keeps one current record per episode."""

import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from shared.events import Metastasis, RegistryRecord

CONSUMER = Path(__file__).resolve().parents[3] / "deploy" / "registry-consumer"
sys.path.insert(0, str(CONSUMER))  # the example runs as a script beside its modules
from consumer import RecordStore  # noqa: E402
from registry_ledger import apply, summary  # noqa: E402

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


def record(flag_id: str, action: str, revision: int = 1, sites: tuple[str, ...] = ("10",)):
    return RegistryRecord(
        event_id=f"{flag_id}-{revision}",
        occurred_at=NOW,
        recorded_at=NOW,
        source="notifier",
        correlation_id=flag_id,
        record_id=f"record-{flag_id}-{revision}",
        flag_id=flag_id,
        action=action,
        supersedes=f"record-{flag_id}-{revision - 1}" if revision > 1 else None,
        record_type="non_primary_pathway",
        non_primary_category="recurrence",
        cr0010_nhs_number="9434765919",
        cr1350_nhs_number_status="01",
        cr0100_birth_date=date(1961, 4, 2),
        cr0030_provider_ods="RX1",
        cr0120_gp_practice_ods="A81001",
        cr7100_original_primary_icd="C50.4",
        cr6500_episode_date=date(2026, 2, 20),
        metastases=[
            Metastasis(cr6520_metastatic_type="03", cr1590_metastatic_site=s) for s in sites
        ],
        evidence=["Condition/c1/_history/1"],
    )


def test_a_submitted_record_is_held_under_its_episode():
    submitted = record("flag-a", "submit")
    assert apply({}, submitted) == {"flag-a": submitted}


def test_an_amendment_replaces_the_record_for_the_same_episode():
    amended = record("flag-a", "amend", revision=2, sites=("10", "03"))
    held = apply(apply({}, record("flag-a", "submit")), amended)
    assert held == {"flag-a": amended}


def test_a_withdrawal_removes_the_episode_and_leaves_others():
    other = record("flag-b", "submit")
    held = apply(apply({}, record("flag-a", "submit")), other)
    assert apply(held, record("flag-a", "withdraw", revision=2)) == {"flag-b": other}


def test_applying_the_same_record_twice_changes_nothing():
    once = apply({}, record("flag-a", "submit"))
    assert apply(once, record("flag-a", "submit")) == once


def test_the_summary_counts_records_by_type_and_names_no_patient():
    counts = summary(apply({}, record("flag-a", "submit")))
    assert counts == {"non_primary_pathway": 1}


@pytest.mark.parametrize("restarts", [False, True])
def test_the_store_keeps_every_record_received_and_the_current_holdings(tmp_path, restarts):
    store = RecordStore(tmp_path)
    store.save([record("flag-a", "submit"), record("flag-b", "submit")])
    if restarts:
        store = RecordStore(tmp_path)
    store.save([record("flag-a", "withdraw", revision=2)])
    assert len(store.log_file.read_bytes().splitlines()) == 3
    assert set(RecordStore(tmp_path).held) == {"flag-b"}
