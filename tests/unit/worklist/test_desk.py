import asyncio
import itertools
from datetime import timedelta

from services.worklist.desk import Desk, opaque_id
from services.worklist.reviews import Refused, User
from shared.events import ReviewEvent
from tests.support.worklist_events import T0, flag

CNS = User("cns-1", "https://idp", "Ann Nurse", "cns", ("RX1",))
OTHER = User("cns-2", "https://idp", "Bo Nurse", "cns", ("RX2",))


class SlowSink:
    """Records what was published, after a pause, as a broker's acknowledgement takes time."""

    def __init__(self) -> None:
        self.published: list[ReviewEvent] = []

    async def publish(self, review: ReviewEvent) -> None:
        await asyncio.sleep(0.01)
        self.published.append(review)


def _desk(sink: SlowSink) -> Desk:
    ids = (f"review-{n}" for n in itertools.count())
    desk = Desk(b"k" * 32, sink, lambda at: at + timedelta(days=2), lambda: T0, lambda: next(ids))
    desk.apply(flag("flag-1"))
    return desk


def test_an_item_is_addressed_by_an_opaque_id_that_depends_on_the_key() -> None:
    desk = _desk(SlowSink())
    ref = opaque_id(b"k" * 32, "flag-1")
    assert "flag" not in ref and ref != opaque_id(b"j" * 32, "flag-1")
    item = desk.item(ref, CNS)
    assert item is not None and desk.ref(item) == ref
    assert desk.item(ref, OTHER) is None


async def test_two_actions_on_the_same_page_at_once_save_one_and_refuse_the_other() -> None:
    sink = SlowSink()
    desk = _desk(sink)
    item = desk.item(opaque_id(b"k" * 32, "flag-1"), CNS)
    assert item is not None
    form = {"key_worker_name": ["Ann"], "key_worker_role": ["Breast CNS"]}
    results = await asyncio.gather(
        *(desk.act(item, "acknowledged", form, CNS, seen_review_id=None, seen_revision=1)
          for _ in range(2))
    )  # fmt: skip
    saved = [r for r in results if isinstance(r, ReviewEvent)]
    refused = [r for r in results if isinstance(r, Refused)]
    assert len(saved) == 1 and len(refused) == 1
    assert refused[0].conflict == saved[0]
    assert sink.published == saved
    assert item.latest_review == saved[0]


def test_overdue_items_come_first_then_the_newest() -> None:
    desk = _desk(SlowSink())
    desk.apply(flag("flag-2", at=T0 - timedelta(hours=1)))
    desk.apply(flag("flag-3", at=T0 - timedelta(days=5)))
    order = [i.flag_id for i in desk.items(CNS)]
    assert order == ["flag-3", "flag-1", "flag-2"]
    assert [i.flag_id for i in desk.items(CNS, state="open", trust="RX1")] == order
    assert desk.items(CNS, trust="RX2") == []
