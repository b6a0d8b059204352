"""The example registry consumer keeps one holding per episode, proposed or agreed (by whom, when)."""

import sys
from pathlib import Path

import orjson
import pytest

from shared.events import RegistryRecordV2
from tests.unit.registry.records import NOVEMBER, OCTOBER, record
from tests.unit.registry.reviews import agreed_record

CONSUMER = Path(__file__).resolve().parents[3] / "deploy" / "registry-consumer"
sys.path.insert(0, str(CONSUMER))  # the example runs as a script beside its modules
from consumer import RecordStore  # noqa: E402
from registry_ledger import Holding, apply, state, summary  # noqa: E402

OTHER_PATIENT = "9434765846"


def holdings(*records: RegistryRecordV2) -> dict[str, Holding]:
    held: dict[str, Holding] = {}
    for r in records:
        held = apply(held, r)
    return held


def test_a_submitted_record_is_held_under_its_episode_as_proposed_by_rules():
    submitted = record()
    held = holdings(submitted)
    assert held == {submitted.flag_id: Holding(submitted)}
    assert state(held[submitted.flag_id]) == "proposed by rmbc's rules"


def test_an_mdt_confirmation_is_held_as_agreed_naming_who_and_when():
    proposed = record()
    agreed = agreed_record(proposed)
    held = holdings(proposed, agreed)
    assert held[proposed.flag_id].record == agreed
    assert state(held[proposed.flag_id]) == (
        "agreed at MDT by Priya Shah (mdt_coordinator, RX1) on 2026-11-12T14:30:00+00:00"
    )


def test_an_mdt_rejection_is_held_as_withdrawn_and_not_counted_as_held():
    proposed = record()
    held = holdings(proposed, agreed_record(proposed, "not_confirmed"))
    assert held[proposed.flag_id].withdrawn
    assert state(held[proposed.flag_id]).startswith("not confirmed at MDT by Priya Shah")
    assert summary(held) == {"proposed": 0, "agreed": 0, "withdrawn": 1, "held_for_mdt": 0}


def test_a_rules_revision_after_agreement_is_held_for_the_mdt_beside_the_agreed_record():
    proposed = record(now=OCTOBER)
    agreed = agreed_record(proposed)
    revised = record(now=NOVEMBER, action="amend", revision=2, metastatic_sites=["lung"])
    held = holdings(proposed, agreed, revised)
    assert held[proposed.flag_id] == Holding(agreed, held_for_mdt=revised)
    assert state(held[proposed.flag_id]).endswith("a later rules revision is held for the MDT")


def test_a_rules_amendment_before_agreement_replaces_the_proposed_record():
    first = record(now=OCTOBER)
    amended = record(now=NOVEMBER, action="amend", revision=2, metastatic_sites=["lung"])
    assert holdings(first, amended)[first.flag_id] == Holding(amended)


def test_applying_the_same_record_twice_changes_nothing():
    once = holdings(record())
    assert apply(once, record()) == once


def test_the_summary_counts_episodes_by_provenance_and_names_no_patient():
    proposed = record()
    other = record(key=OTHER_PATIENT)
    counts = summary(holdings(proposed, other, agreed_record(proposed)))
    assert counts == {"proposed": 1, "agreed": 1, "withdrawn": 0, "held_for_mdt": 0}


@pytest.mark.parametrize("restarts", [False, True])
def test_the_store_keeps_every_record_received_and_the_holdings_with_their_state(
    tmp_path, restarts
):
    proposed, other = record(), record(key=OTHER_PATIENT)
    store = RecordStore(tmp_path)
    store.save([proposed, other])
    if restarts:
        store = RecordStore(tmp_path)
    store.save([agreed_record(proposed)])
    assert len(store.log_file.read_bytes().splitlines()) == 3
    assert RecordStore(tmp_path).held == store.held
    stored = orjson.loads(store.current_file.read_bytes())
    assert stored[proposed.flag_id]["provenance"] == "agreed"
    assert stored[proposed.flag_id]["state"].startswith("agreed at MDT by Priya Shah")
    assert stored[other.flag_id]["state"] == "proposed by rmbc's rules"
