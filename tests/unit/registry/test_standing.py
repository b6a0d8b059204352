"""After the MDT agreed an episode, rmbc's rules cannot silently replace what was agreed."""

from datetime import UTC, datetime

from services.registry import cosd_cli
from services.registry.figures import current_episodes
from services.registry.monthly import records_for_month
from services.registry.standing import split_standing
from tests.unit.registry.records import OCTOBER, record
from tests.unit.registry.reviews import agreed_record

AGREED_ON = datetime(2026, 10, 22, 16, 0, tzinfo=UTC)
REVISED_ON = datetime(2026, 10, 27, 9, 0, tzinfo=UTC)


def test_a_rules_revision_after_agreement_is_held_and_the_agreed_record_stands() -> None:
    proposed = record(now=OCTOBER)
    agreed = agreed_record(proposed, at=AGREED_ON)
    revised = record(now=REVISED_ON, action="amend", revision=2, metastatic_sites=["lung"])
    assert split_standing([revised, proposed, agreed]) == ([proposed, agreed], [revised])
    assert records_for_month([proposed, agreed, revised], "2026-10") == [agreed]
    assert current_episodes([proposed, agreed, revised]) == [agreed]


def test_a_rules_withdrawal_after_agreement_does_not_remove_the_agreed_episode() -> None:
    proposed = record(now=OCTOBER)
    agreed = agreed_record(proposed, at=AGREED_ON)
    retracted = record(now=REVISED_ON, action="withdraw", revision=2)
    assert current_episodes([proposed, agreed, retracted]) == [agreed]


def test_an_episode_the_mdt_did_not_confirm_stays_withdrawn_whatever_rules_propose_later() -> None:
    proposed = record(now=OCTOBER)
    withdrawn = agreed_record(proposed, "not_confirmed", AGREED_ON)
    revised = record(now=REVISED_ON, action="amend", revision=2)
    assert current_episodes([proposed, withdrawn, revised]) == []


def test_rules_revisions_before_any_agreement_replace_each_other_as_before() -> None:
    first = record(now=OCTOBER)
    revised = record(now=REVISED_ON, action="amend", revision=2)
    assert split_standing([first, revised]) == ([first, revised], [])


def test_the_export_writes_the_agreed_record_and_lists_the_held_revision(tmp_path, capsys) -> None:
    proposed = record(now=OCTOBER)
    agreed = agreed_record(proposed, at=AGREED_ON)
    revised = record(now=REVISED_ON, action="amend", revision=2, metastatic_sites=["lung"])
    records = tmp_path / "records.jsonl"
    records.write_text("".join(r.model_dump_json() + "\n" for r in (proposed, agreed, revised)))
    out = tmp_path / "cosd.xml"
    argv = ["export", "--month", "2026-10", "--records", str(records), "--out", str(out)]
    assert cosd_cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert f"held for the MDT {revised.record_id}" in printed
    assert "<Provenance>agreed</Provenance>" in out.read_text()
