from datetime import timedelta

from services.worklist.items import Worklist
from tests.support.worklist_events import T0, alert, flag, review


def test_a_raised_flag_makes_an_open_item_of_its_trust() -> None:
    worklist = Worklist()
    worklist.apply(flag())
    (item,) = worklist.for_trust("RX1")
    assert item.state == "open"
    assert item.needs_acknowledgement
    assert worklist.for_trust("RX2") == []


def test_reviews_move_the_item_through_its_states_in_the_order_they_were_recorded() -> None:
    worklist = Worklist()
    worklist.apply(flag())
    worklist.apply(review("r1", "acknowledged", at=T0 + timedelta(hours=1)))
    item = worklist.item("flag-1")
    assert item is not None and item.state == "acknowledged"
    worklist.apply(review("r3", "confirmed", at=T0 + timedelta(days=3), previous="r2"))
    worklist.apply(review("r2", "patient_contacted", at=T0 + timedelta(days=1), previous="r1"))
    assert item.state == "confirmed"
    assert [r.review_id for r in item.reviews] == ["r1", "r2", "r3"]


def test_a_retracted_flag_closes_the_item_with_its_reason_whatever_was_reviewed() -> None:
    worklist = Worklist()
    worklist.apply(flag())
    worklist.apply(review("r1"))
    worklist.apply(flag(revision=2, state="retracted", reason="diagnosis entered in error"))
    item = worklist.item("flag-1")
    assert item is not None
    assert (item.state, item.closed_reason) == ("closed", "diagnosis entered in error")
    assert not item.needs_acknowledgement


def test_an_event_read_twice_is_applied_once() -> None:
    worklist = Worklist()
    assert worklist.apply(flag())
    assert not worklist.apply(flag())
    worklist.apply(review("r1"))
    worklist.apply(review("r1"))
    item = worklist.item("flag-1")
    assert item is not None and len(item.flags) == 1 and len(item.reviews) == 1


def test_an_alert_or_review_read_before_its_flag_waits_for_the_flag() -> None:
    worklist = Worklist()
    worklist.apply(alert(at=T0 + timedelta(minutes=5)))
    worklist.apply(review("r1"))
    assert worklist.item("flag-1") is None
    assert worklist.for_trust("RX1") == []
    worklist.apply(flag())
    item = worklist.item("flag-1")
    assert item is not None and item.state == "acknowledged"
    assert item.alerted_at == T0 + timedelta(minutes=5)


def test_the_alert_time_is_the_first_cns_email_sent_else_the_flag_time() -> None:
    worklist = Worklist()
    worklist.apply(flag(at=T0))
    item = worklist.item("flag-1")
    assert item is not None and item.alerted_at == T0
    worklist.apply(alert(channel="smtp", outcome="failed", at=T0 + timedelta(minutes=1)))
    worklist.apply(alert(channel="smtp", outcome="sent", at=T0 + timedelta(minutes=9), attempt=2))
    assert item.alerted_at == T0 + timedelta(minutes=9)


def test_the_gp_document_state_is_the_latest_mesh_outcome() -> None:
    worklist = Worklist()
    worklist.apply(flag())
    worklist.apply(alert(channel="mesh", outcome="attempting", attempt=1))
    worklist.apply(alert(channel="mesh", outcome="sent", attempt=2, at=T0 + timedelta(minutes=2)))
    item = worklist.item("flag-1")
    assert item is not None and item.gp_delivery is not None
    assert item.gp_delivery.outcome == "sent"


def test_a_flag_changed_after_the_latest_review_is_marked_so() -> None:
    worklist = Worklist()
    worklist.apply(flag())
    worklist.apply(review("r1"))
    item = worklist.item("flag-1")
    assert item is not None and not item.reviewed_revision_behind
    worklist.apply(flag(revision=2, state="updated", sites=("bone", "liver")))
    assert item.reviewed_revision_behind
    assert item.flag.metastatic_sites == ["bone", "liver"]


def test_an_escalation_on_the_alerts_topic_is_shown_with_its_time() -> None:
    worklist = Worklist()
    worklist.apply(flag())
    item = worklist.item("flag-1")
    assert item is not None and item.escalated_at is None
    worklist.apply(alert(outcome="escalated", at=T0 + timedelta(days=3)))
    assert item.escalated_at == T0 + timedelta(days=3)
    assert item.alerted_at == T0  # an escalation is not the CNS alert


def test_a_finding_without_a_treating_trust_goes_to_the_default_trust() -> None:
    unassigned = flag().model_copy(update={"patient": flag().patient.model_copy(
        update={"provider_ods": None})})  # fmt: skip
    worklist = Worklist(default_trust="RX9")
    worklist.apply(unassigned)
    assert [i.flag_id for i in worklist.for_trust("RX9")] == ["flag-1"]
    nowhere = Worklist()
    nowhere.apply(unassigned)
    assert nowhere.for_trust("RX9") == []
