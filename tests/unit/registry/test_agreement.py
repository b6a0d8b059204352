from datetime import UTC, date, datetime

from services.registry.agreement import Agreement, Refusal, agreed_record_id
from shared.events import RegistryRecordV2
from tests.unit.registry.records import NOVEMBER, record
from tests.unit.registry.reviews import DECIDED_AT, agreed, review, reviewer

NOW = datetime(2026, 11, 12, 14, 31, tzinfo=UTC)


def agreement_with(*heard: object) -> Agreement:
    agreement = Agreement()
    for event in heard:
        if isinstance(event, RegistryRecordV2):
            agreement.hear_record(event)
        else:
            assert agreement.hear_review(event) is None  # type: ignore[arg-type]
    return agreement


def due_record(agreement: Agreement, flag_id: str) -> RegistryRecordV2:
    due = agreement.due(flag_id, NOW)
    assert isinstance(due, RegistryRecordV2), due
    return due


def test_an_mdt_confirmation_amends_the_proposed_record_with_the_agreed_values() -> None:
    proposed = record()  # rmbc proposed bone and liver, episode 1 October 2026
    confirmed = review(proposed.flag_id, "confirmed")
    amended = due_record(agreement_with(proposed, confirmed), proposed.flag_id)
    assert (amended.action, amended.provenance, amended.supersedes) == (
        "amend",
        "agreed",
        proposed.record_id,
    )
    assert amended.recurrence is not None
    assert amended.recurrence.cr6500_non_primary_diagnosis_date == date(2026, 9, 24)
    assert [
        (m.cr6520_metastatic_type, m.cr1590_metastatic_site) for m in amended.recurrence.metastases
    ] == [("03", "10")]
    assert amended.agreed_by == reviewer("mdt_coordinator")
    assert amended.agreed_at == DECIDED_AT
    assert amended.agreed_review_id == confirmed.review_id
    assert amended.record_id == agreed_record_id(proposed.flag_id, confirmed.review_id)
    assert amended.cr0010_nhs_number == proposed.cr0010_nhs_number
    assert amended.source == "registry-agreement" and amended.recorded_at == NOW


def test_an_agreed_de_novo_finding_goes_on_the_primary_pathway_with_the_agreed_date() -> None:
    proposed = record()  # rmbc proposed a recurrence
    confirmed = review(
        proposed.flag_id,
        "confirmed",
        agreed=agreed(de_novo_metastatic=True, recurrence_types=[], metastatic_sites=["brain"]),
    )
    amended = due_record(agreement_with(proposed, confirmed), proposed.flag_id)
    assert amended.pathway == "primary" and amended.recurrence is None
    assert amended.primary is not None
    assert amended.primary.cr0370_primary_diagnosis_icd == "C50.4"
    assert amended.primary.cr2030_primary_diagnosis_date == date(2026, 9, 24)
    assert [
        (m.cr6960_metastatic_type, m.cr6970_metastatic_site)
        for m in amended.primary.metastases_at_diagnosis
    ] == [("03", "02")]


def test_an_agreed_progression_stays_a_progression_record() -> None:
    proposed = record(kind="metastatic_progression", metastatic_sites=["lung"])
    amended = due_record(
        agreement_with(proposed, review(proposed.flag_id, "confirmed")), proposed.flag_id
    )
    assert amended.progression is not None and amended.recurrence is None
    assert amended.progression.cr6900_progression_icd == "C50.4"
    assert amended.progression.cr6500_non_primary_diagnosis_date == date(2026, 9, 24)


def test_an_mdt_rejection_withdraws_the_record_as_last_recorded() -> None:
    proposed = record()
    rejected = review(proposed.flag_id, "not_confirmed")
    withdrawn = due_record(agreement_with(proposed, rejected), proposed.flag_id)
    assert (withdrawn.action, withdrawn.provenance) == ("withdraw", "agreed")
    assert withdrawn.supersedes == proposed.record_id
    assert withdrawn.recurrence == proposed.recurrence
    assert withdrawn.agreed_by is not None and withdrawn.agreed_by.name == "Priya Shah"


def test_the_mdt_reason_is_never_copied_into_the_registry_record() -> None:
    proposed = record()
    rejected = review(proposed.flag_id, "not_confirmed", reason="seen by Dr Jones, MRN 123")
    withdrawn = due_record(agreement_with(proposed, rejected), proposed.flag_id)
    assert "MRN 123" not in withdrawn.model_dump_json()


def test_a_decision_already_on_the_topic_is_not_recorded_again() -> None:
    proposed = record()
    agreement = agreement_with(proposed, review(proposed.flag_id, "confirmed"))
    agreement.hear_record(due_record(agreement, proposed.flag_id))
    assert agreement.due(proposed.flag_id, NOW) is None


def test_a_published_record_is_not_due_again_before_it_is_read_back() -> None:
    proposed = record()
    agreement = agreement_with(proposed, review(proposed.flag_id, "confirmed"))
    agreement.published(due_record(agreement, proposed.flag_id))
    assert agreement.due(proposed.flag_id, NOW) is None


def test_a_rules_record_that_landed_before_the_published_one_is_not_taken_as_the_latest() -> None:
    proposed = record()
    agreement = agreement_with(proposed, review(proposed.flag_id, "confirmed", number=1))
    agreed_record = due_record(agreement, proposed.flag_id)
    agreement.published(agreed_record)
    revised = record(action="amend", revision=2, now=NOVEMBER)  # the notifier's, a moment earlier
    assert agreement.hear_record(revised) is False  # not after an agreed record on the topic
    assert agreement.hear_record(agreed_record) is False
    assert agreement.episode(proposed.flag_id).latest == agreed_record


def test_the_same_decision_read_twice_gives_the_same_record_on_every_run() -> None:
    proposed = record()
    first = due_record(agreement_with(proposed, review(proposed.flag_id)), proposed.flag_id)
    again = due_record(agreement_with(proposed, review(proposed.flag_id)), proposed.flag_id)
    assert first == again


def test_only_the_latest_of_several_unrecorded_decisions_is_recorded() -> None:
    proposed = record()
    agreement = agreement_with(
        proposed,
        review(proposed.flag_id, "confirmed", number=1),
        review(proposed.flag_id, "not_confirmed", number=2),
    )
    assert due_record(agreement, proposed.flag_id).action == "withdraw"


def test_actions_that_are_not_mdt_decisions_change_nothing() -> None:
    proposed = record()
    agreement = Agreement()
    agreement.hear_record(proposed)
    for action in ("acknowledged", "patient_contacted", "more_information_needed"):
        assert agreement.hear_review(review(proposed.flag_id, action)) is None
    assert agreement.due(proposed.flag_id, NOW) is None


def test_a_decision_recorded_by_a_cns_is_refused() -> None:
    proposed = record()
    agreement = agreement_with(proposed)
    refusal = agreement.hear_review(review(proposed.flag_id, "confirmed", reviewer=reviewer("cns")))
    assert isinstance(refusal, Refusal) and "role cns" in refusal.reason
    assert agreement.due(proposed.flag_id, NOW) is None


def test_a_confirmation_without_agreed_values_is_refused() -> None:
    refusal = Agreement().hear_review(review("flag-1", "confirmed", agreed=None))
    assert isinstance(refusal, Refusal) and refusal.reason == "confirmed without agreed values"


def test_a_decision_made_for_another_trust_is_refused() -> None:
    proposed = record()
    other_trust = review(proposed.flag_id, reviewer=reviewer(trust_ods="RYJ"))
    refusal = agreement_with(proposed, other_trust).due(proposed.flag_id, NOW)
    assert isinstance(refusal, Refusal) and "trust RYJ" in refusal.reason


def test_a_decision_waits_for_the_proposed_record_it_amends() -> None:
    proposed = record()
    agreement = agreement_with(review(proposed.flag_id))
    assert agreement.due(proposed.flag_id, NOW) is None and agreement.waiting() == 1
    agreement.hear_record(proposed)
    assert due_record(agreement, proposed.flag_id).action == "amend"
    assert agreement.waiting() == 0


def test_a_rules_revision_after_agreement_never_replaces_the_agreed_record() -> None:
    proposed = record()
    agreement = agreement_with(proposed, review(proposed.flag_id, number=1))
    agreed_record = due_record(agreement, proposed.flag_id)
    assert agreement.hear_record(agreed_record) is False
    revised = record(action="amend", revision=2, now=NOVEMBER, metastatic_sites=["lung"])
    assert agreement.hear_record(revised) is True  # told, so it can be counted and shown
    assert agreement.due(proposed.flag_id, NOW) is None  # nothing re-agreed on rmbc's word
    again = review(proposed.flag_id, "confirmed", number=2)
    assert agreement.hear_review(again) is None
    reagreed = due_record(agreement, proposed.flag_id)
    assert reagreed.supersedes == revised.record_id
    assert reagreed.recurrence is not None
    assert [m.cr1590_metastatic_site for m in reagreed.recurrence.metastases] == ["10"]


def test_a_confirmation_after_a_withdrawal_submits_the_episode_again() -> None:
    proposed = record()
    agreement = agreement_with(proposed, review(proposed.flag_id, "not_confirmed", number=1))
    agreement.hear_record(due_record(agreement, proposed.flag_id))
    assert agreement.hear_review(review(proposed.flag_id, "confirmed", number=2)) is None
    assert due_record(agreement, proposed.flag_id).action == "submit"
