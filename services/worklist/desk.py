"""The worklist as the web app uses it: the read model, opaque item ids, and recording actions.

An item's page is addressed by an opaque id, an HMAC of the flag id under the session secret:
a flag id is a name-based UUID of the patient key, so it could be recomputed from an NHS number,
and must not stand in a URL. Actions on one flag are serialised in the process: the check that
no one acted meanwhile, the send to Kafka and the update of the view happen under one lock, so
two people's actions on the same item are never both accepted against the same review.
"""

import asyncio
import base64
import hashlib
import hmac
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from services.worklist.items import ItemState, Worklist, WorklistItem
from services.worklist.outcomes import Deadline, Outcomes, is_overdue, outcomes
from services.worklist.publisher import ReviewSink
from services.worklist.reviews import Form, Refused, User, review_for
from shared.events import Envelope, ReviewAction, ReviewEvent


def opaque_id(key: bytes, flag_id: str) -> str:
    digest = hmac.new(key, flag_id.encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class Desk:
    def __init__(
        self,
        key: bytes,
        sink: ReviewSink,
        due: Deadline,
        clock: Callable[[], datetime],
        new_id: Callable[[], str],
        default_trust: str | None = None,
    ) -> None:
        self.worklist = Worklist(default_trust=default_trust)
        self.due = due
        self._key = key
        self._sink = sink
        self._clock = clock
        self._new_id = new_id
        self._flag_of: dict[str, str] = {}
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)

    def apply(self, event: Envelope) -> None:
        if self.worklist.apply(event) and hasattr(event, "flag_id"):
            self._flag_of.setdefault(opaque_id(self._key, event.flag_id), event.flag_id)

    def ref(self, item: WorklistItem) -> str:
        return opaque_id(self._key, item.flag_id)

    def item(self, ref: str, user: User) -> WorklistItem | None:
        """The item behind `ref`, only when the user's trusts include its trust."""
        flag_id = self._flag_of.get(ref)
        item = self.worklist.item(flag_id) if flag_id else None
        return item if item and user.sees(item.trust_ods) else None

    def overdue(self, item: WorklistItem) -> bool:
        return is_overdue(item, self.due, self._clock())

    def items(
        self, user: User, state: ItemState | None = None, trust: str | None = None
    ) -> list[WorklistItem]:
        """The user's trusts' items, overdue first, then the newest alert first."""
        trusts = [t for t in user.trusts if trust in (None, t)]
        found = [i for t in trusts for i in self.worklist.for_trust(t) if state in (None, i.state)]
        now = self._clock()
        return sorted(
            found,
            key=lambda i: (not is_overdue(i, self.due, now), -i.alerted_at.timestamp()),
        )

    def outcomes(self, user: User) -> Outcomes:
        return outcomes(self.items(user), self.due, self._clock())

    async def act(
        self,
        item: WorklistItem,
        action: ReviewAction,
        form: Form,
        user: User,
        *,
        seen_review_id: str | None,
        seen_revision: int,
    ) -> ReviewEvent | Refused:
        """Record `action`; return the review only once Kafka has acknowledged it."""
        async with self._locks[item.flag_id]:
            decision = review_for(
                item,
                action,
                form,
                user,
                seen_review_id=seen_review_id,
                seen_revision=seen_revision,
                review_id=self._new_id(),
                now=self._clock(),
            )
            if isinstance(decision, ReviewEvent):
                await self._sink.publish(decision)
                self.apply(decision)
            return decision
