from datetime import date, timedelta

from services.worklist.items import Worklist, WorklistItem
from services.worklist.reviews import Form, Refused, User, review_for
from shared.events import ReviewAction, ReviewEvent
from tests.support.worklist_events import T0, flag, review

CNS = User("cns-1", "https://idp", "Ann Nurse", "cns", ("RX1",))
MDT = User("mdt-1", "https://idp", "Max Coordinator", "mdt_coordinator", ("RX1",))
READER = User("ro-1", "https://idp", "Rae Reader", "read_only", ("RX1",))


def _item(*events: object) -> WorklistItem:
    worklist = Worklist()
    worklist.apply(flag())
    for event in events:
        worklist.apply(event)  # type: ignore[arg-type]
    item = worklist.item("flag-1")
    assert item is not None
    return item


def _act(
    item: WorklistItem,
    action: ReviewAction,
    form: Form,
    user: User,
    seen: str | None = None,
    revision: int = 1,
) -> ReviewEvent | Refused:
    return review_for(
        item, action, form, user, seen_review_id=seen, seen_revision=revision, review_id="new",
        now=T0 + timedelta(hours=4),
    )  # fmt: skip


def test_a_cns_acknowledging_names_the_key_worker_and_who_acted() -> None:
    event = _act(_item(), "acknowledged", {"key_worker_name": ["Ann Nurse"],
                                            "key_worker_role": ["Breast CNS"]}, CNS)  # fmt: skip
    assert isinstance(event, ReviewEvent)
    assert event.key_worker is not None and event.key_worker.role == "Breast CNS"
    assert (event.reviewer.subject, event.reviewer.role, event.previous_review_id) == (
        "cns-1",
        "cns",
        None,
    )
    assert event.patient_key == "9434765919" and event.flag_revision == 1


def test_an_acknowledgement_without_a_key_worker_is_refused_with_what_is_missing() -> None:
    refused = _act(_item(), "acknowledged", {"key_worker_role": ["Breast CNS"]}, CNS)
    assert isinstance(refused, Refused)
    assert "key worker" in refused.reason and "name" in refused.reason


def test_an_mdt_confirmation_carries_the_agreed_date_types_and_sites() -> None:
    form = {
        "episode_date": ["2026-11-18"],
        "recurrence_types": ["distant"],
        "metastatic_sites": ["liver", "bone"],
    }
    event = _act(_item(review("r1")), "confirmed", form, MDT, seen="r1")
    assert isinstance(event, ReviewEvent) and event.agreed is not None
    assert event.agreed.episode_date == date(2026, 11, 18)
    assert event.agreed.metastatic_sites == ["bone", "liver"]
    assert event.previous_review_id == "r1"


def test_a_confirmation_with_an_unreadable_date_is_refused() -> None:
    refused = _act(_item(), "confirmed", {"episode_date": ["18/11/2026"]}, MDT)
    assert isinstance(refused, Refused) and "YYYY-MM-DD" in refused.reason


def test_not_confirmed_needs_a_reason() -> None:
    assert isinstance(_act(_item(), "not_confirmed", {"reason": ["  "]}, MDT), Refused)
    event = _act(_item(), "not_confirmed", {"reason": ["old scar, not a recurrence"]}, MDT)
    assert isinstance(event, ReviewEvent) and event.reason == "old scar, not a recurrence"


def test_an_action_on_a_page_older_than_the_latest_review_is_refused_with_that_review() -> None:
    item = _item(review("r1"), review("r2", "patient_contacted", previous="r1"))
    refused = _act(item, "confirmed", {"episode_date": ["2026-11-18"]}, MDT, seen="r1")
    assert isinstance(refused, Refused)
    assert refused.conflict is not None and refused.conflict.review_id == "r2"
    assert "someone else acted" in refused.reason


def test_each_role_records_only_its_own_actions() -> None:
    item = _item()
    assert isinstance(_act(item, "confirmed", {"episode_date": ["2026-11-18"]}, CNS), Refused)
    assert isinstance(_act(item, "acknowledged", {}, MDT), Refused)
    for action in ("acknowledged", "patient_contacted", "confirmed", "not_confirmed"):
        assert isinstance(_act(item, action, {"reason": ["x"]}, READER), Refused)


def test_a_user_of_another_trust_cannot_act() -> None:
    other = User("cns-2", "https://idp", "Bo Nurse", "cns", ("RX2",))
    refused = _act(_item(), "patient_contacted", {"contacted_on": ["2026-12-01"]}, other)
    assert isinstance(refused, Refused) and "another trust" in refused.reason


def test_a_closed_item_takes_no_more_actions() -> None:
    item = _item(flag(revision=2, state="retracted", reason="entered in error"))
    refused = _act(item, "patient_contacted", {"contacted_on": ["2026-12-01"]}, CNS)
    assert isinstance(refused, Refused) and "retracted" in refused.reason


def test_an_action_on_a_finding_that_changed_since_the_page_was_shown_is_refused() -> None:
    item = _item(flag(revision=2, state="updated", sites=("bone", "liver")))
    refused = _act(item, "confirmed", {"episode_date": ["2026-11-18"]}, MDT, revision=1)
    assert isinstance(refused, Refused) and "finding changed" in refused.reason
    saved = _act(item, "confirmed", {"episode_date": ["2026-11-18"]}, MDT, revision=2)
    assert isinstance(saved, ReviewEvent) and saved.flag_revision == 2
