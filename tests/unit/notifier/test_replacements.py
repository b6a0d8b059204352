"""What a later revision of a flag sends: a replacement whenever something a recipient was told is
withdrawn, an update to the CNS team (only) for what is added, and the GP letter that could not be
sent once the practice can be reached. The earlier alerts are read back from ledger events, as the
notifier rebuilds them from `rmbc.alerts.v1`."""

from services.notifier.decisions import alert_id, plan_for
from services.notifier.facts import facts_for
from services.notifier.gp_message import document_id, send_document
from services.notifier.ledger import Ledger, alert_event
from tests.support.send_document import read_send_document
from tests.unit.notifier.factory import (
    BONE,
    CNS_EMAIL,
    GP_MAILBOX,
    LIVER,
    NOW,
    directory,
    flag,
    patient,
)


def revision(number, sites, evidence, state="updated", **overrides):
    return flag(
        state=state, revision=number, metastatic_sites=sites, evidence=evidence, **overrides
    )


def sent(ledger, f, looked_up=None):
    """Plan `f`, record every planned alert as sent (and unroutable ones as such); the plan."""
    plan = plan_for(f, directory(), ledger.for_flag(f.flag_id), NOW, looked_up)
    outcomes = [(d, "sent") for d in plan.deliveries] + [(u, "unroutable") for u in plan.unroutable]
    for alert, outcome in outcomes:
        record(ledger, f, alert, outcome)
    return plan


def record(ledger, f, alert, outcome):
    ledger.apply(
        alert_event(
            f,
            alert_id=alert.alert_id,
            channel=alert.channel,
            recipient=alert.recipient,
            attempt=1,
            outcome=outcome,
            now=NOW,
        )
    )


def planned(plan):
    return [(d.channel, d.recipient, d.purpose) for d in plan.deliveries]


def test_a_site_entered_in_error_sends_the_gp_and_the_cns_team_a_replacement_document():
    ledger = Ledger()
    raised = revision(1, ["bone", "liver"], [BONE, LIVER], state="raised")
    first = sent(ledger, raised)
    plan = sent(ledger, revision(2, ["bone"], [BONE]))
    assert planned(plan) == [
        ("mesh", GP_MAILBOX, "replacement"),
        ("smtp", CNS_EMAIL, "replacement"),
    ]
    assert [d.corrects for d in plan.deliveries] == [d.alert_id for d in first.deliveries]
    assert [d.version for d in plan.deliveries] == [2, 2]
    assert plan.record is not None and plan.record.action == "amend"
    gp = facts_for(revision(2, ["bone"], [BONE]), plan.deliveries[0], directory())
    assert gp.withdrawn == ("the site liver", "one piece of evidence")


def test_the_replacement_names_the_document_it_replaces_and_says_what_is_withdrawn():
    ledger = Ledger()
    first = sent(ledger, revision(1, ["bone", "liver"], [BONE, LIVER], state="raised"))
    later = revision(2, ["bone"], [BONE])
    plan = sent(ledger, later)
    facts = facts_for(later, plan.deliveries[0], directory())
    message = send_document(facts, NOW, sender_mailbox="X26ABC1", recipient_ods="A81001")
    document = read_send_document(message.body)
    [relates] = document.composition.relatesTo
    assert relates.code == "replaces"
    assert relates.targetIdentifier.value == document_id(first.deliveries[0].alert_id)
    assert "Withdrawn the site liver, one piece of evidence" in document.text
    assert "Sites bone" in document.text and "Version 2" in document.text
    assert "Secondary malignant neoplasm of liver" not in document.text


def test_a_site_added_later_goes_to_the_cns_team_as_an_update_and_never_as_a_gp_letter():
    ledger = Ledger()
    sent(ledger, revision(1, ["bone"], [BONE], state="raised"))
    later = revision(2, ["bone", "liver"], [BONE, LIVER])
    plan = sent(ledger, later)
    assert planned(plan) == [("smtp", CNS_EMAIL, "update")]
    assert facts_for(later, plan.deliveries[0], directory()).added == (
        "the site liver",
        "one piece of evidence",
    )
    assert plan.record is not None and plan.record.action == "amend"


def test_a_new_version_of_the_same_evidence_withdraws_nothing_and_sends_nothing():
    ledger = Ledger()
    sent(ledger, revision(1, ["bone"], [BONE], state="raised"))
    newer = BONE.model_copy(update={"reference": "Condition/sec-1/_history/2"})
    assert planned(sent(ledger, revision(2, ["bone"], [newer]))) == []


def test_each_replacement_replaces_the_latest_document_and_a_retraction_corrects_that_one():
    ledger = Ledger()
    sent(ledger, revision(1, ["bone", "liver", "lung"], [BONE, LIVER], state="raised"))
    second = sent(ledger, revision(2, ["bone", "liver"], [BONE, LIVER]))
    third = sent(ledger, revision(3, ["bone"], [BONE]))
    assert [d.corrects for d in third.deliveries] == [d.alert_id for d in second.deliveries]
    assert [d.version for d in third.deliveries] == [3, 3]
    retracted = sent(ledger, revision(4, [], [], state="retracted", reason="entered in error"))
    assert [(d.purpose, d.corrects) for d in retracted.deliveries] == [
        ("correction", d.alert_id) for d in third.deliveries
    ]
    assert [d.version for d in retracted.deliveries] == [4, 4]


def test_a_revision_read_again_plans_the_same_alerts_which_the_ledger_holds_as_sent():
    ledger = Ledger()
    sent(ledger, revision(1, ["bone", "liver"], [BONE, LIVER], state="raised"))
    later = revision(2, ["bone"], [BONE])
    first = sent(ledger, later)
    assert len(first.deliveries) == 2
    again = plan_for(later, directory(), ledger.for_flag(later.flag_id), NOW)
    assert again.deliveries == first.deliveries and again.unroutable == ()
    assert all(ledger.is_final(d.alert_id) for d in again.deliveries)


def test_an_update_cut_short_is_planned_again_when_its_revision_is_read_again():
    # a crash between `attempting` and `sent`: the update must not hide itself as the CNS team's
    # latest document (it states what the revision states, so nothing would seem to differ)
    ledger = Ledger()
    sent(ledger, revision(1, ["bone"], [BONE], state="raised"))
    later = revision(2, ["bone", "liver"], [BONE, LIVER])
    [update] = plan_for(later, directory(), ledger.for_flag(later.flag_id), NOW).deliveries
    record(ledger, later, update, "attempting")
    again = plan_for(later, directory(), ledger.for_flag(later.flag_id), NOW)
    assert again.deliveries == (update,) and not ledger.is_final(update.alert_id)
    assert again.record is not None and again.record.action == "amend"


def test_a_retraction_read_again_corrects_the_same_documents_it_corrected_the_first_time():
    ledger = Ledger()
    sent(ledger, revision(1, ["bone"], [BONE], state="raised"))
    retracted = revision(2, [], [], state="retracted", reason="entered in error")
    first = sent(ledger, retracted)
    again = plan_for(retracted, directory(), ledger.for_flag(retracted.flag_id), NOW)
    assert again.deliveries == first.deliveries
    assert [(d.purpose, d.version) for d in again.deliveries] == [("correction", 2)] * 2


def test_a_gp_registration_that_arrives_after_the_alert_gets_the_gp_letter_once():
    ledger = Ledger()
    unregistered = patient(gp_practice_ods=None)
    first = sent(ledger, revision(1, ["bone"], [BONE], state="raised", patient=unregistered))
    assert planned(first) == [("smtp", CNS_EMAIL, "alert")]
    assert [u.recipient for u in first.unroutable] == ["gp-practice:none"]
    registered = revision(2, ["bone"], [BONE])  # the practice is now on record
    plan = sent(ledger, registered)
    assert planned(plan) == [("mesh", GP_MAILBOX, "alert")]
    assert plan.deliveries[0].alert_id == alert_id(registered.flag_id, GP_MAILBOX, "alert")
    assert planned(sent(ledger, revision(3, ["bone"], [BONE]))) == []


def test_a_practice_whose_mailbox_is_found_later_gets_the_letter_that_was_unroutable():
    ledger = Ledger()
    elsewhere = patient(gp_practice_ods="B82002")  # no directory entry, no mailbox found
    first = sent(ledger, revision(1, ["bone"], [BONE], state="raised", patient=elsewhere), {})
    assert [u.recipient for u in first.unroutable] == ["gp-practice:B82002"]
    still = sent(ledger, revision(2, ["bone"], [BONE], patient=elsewhere), {"B82002": None})
    assert planned(still) == []
    assert [u.alert_id for u in still.unroutable] == [u.alert_id for u in first.unroutable]
    found = sent(ledger, revision(3, ["bone"], [BONE], patient=elsewhere), {"B82002": "X26ZZZ9"})
    assert planned(found) == [("mesh", "X26ZZZ9", "alert")]


def test_alerts_recorded_before_the_ledger_kept_what_they_stated_are_never_replaced():
    ledger = Ledger()
    sent(ledger, revision(1, ["bone", "liver"], [BONE, LIVER], state="raised"))
    legacy = Ledger()  # the same alerts, as events written before `told_*` existed
    for entry in ledger.for_flag(flag().flag_id):
        recorded = ledger.get(entry.alert_id).event
        legacy.apply(recorded.model_copy(update={"told_sites": None, "told_evidence": None}))
    assert planned(sent(legacy, revision(2, ["bone"], [BONE]))) == []


def test_a_patient_the_practice_said_was_not_theirs_gets_the_letter_at_the_new_practice():
    ledger = Ledger()
    first = sent(ledger, revision(1, ["bone"], [BONE], state="raised"))
    gp_alert = first.deliveries[0]
    answered = ledger.get(gp_alert.alert_id).event
    ledger.apply(answered.model_copy(update={"outcome": "patient_not_registered"}))
    moved = patient(gp_practice_ods="B82002")
    plan = sent(ledger, revision(2, ["bone"], [BONE], patient=moved), {"B82002": "X26ZZZ9"})
    assert planned(plan) == [("mesh", "X26ZZZ9", "alert")]
