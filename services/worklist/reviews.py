"""What a person's action on an item becomes (pure): a `ReviewEvent`, or a refusal saying why.

A CNS acknowledges (naming the key worker) and records contact with the patient; an MDT
coordinator confirms (with the clinically agreed date, type and sites, COSD CR6500), does not
confirm (with a reason) or asks for more information. `seen_review_id` is the latest review the
user's page showed: when another review has arrived since, the action is refused with that review,
so no one overwrites another person's action unseen; and an action on a finding that changed
since the page was shown is refused too, so no one confirms a finding they did not see.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, get_args

from pydantic import ValidationError

from services.worklist.items import WorklistItem
from shared.events import (
    AgreedFinding,
    KeyWorker,
    MetastaticSite,
    RecurrenceType,
    ReviewAction,
    Reviewer,
    ReviewerRole,
    ReviewEvent,
)

UserRole = Literal["cns", "mdt_coordinator", "read_only"]
ACTIONS_BY_ROLE: dict[UserRole, tuple[ReviewAction, ...]] = {
    "cns": ("acknowledged", "patient_contacted"),
    "mdt_coordinator": ("confirmed", "not_confirmed", "more_information_needed"),
    "read_only": (),
}
ACTION_WORDS: dict[ReviewAction, str] = {
    "acknowledged": "Acknowledged, key worker assigned",
    "patient_contacted": "Patient contacted",
    "confirmed": "Confirmed by MDT",
    "not_confirmed": "Not confirmed by MDT",
    "more_information_needed": "More information needed",
}
RECURRENCE_TYPES: tuple[str, ...] = get_args(RecurrenceType)
METASTATIC_SITES: tuple[str, ...] = get_args(MetastaticSite)


@dataclass(frozen=True)
class User:
    """A signed-in person, from the ID token's claims."""

    subject: str
    issuer: str
    name: str
    role: UserRole
    trusts: tuple[str, ...]  # the trusts whose items the user sees and acts on

    def sees(self, trust_ods: str | None) -> bool:
        return trust_ods in self.trusts

    def may(self, action: ReviewAction) -> bool:
        return action in ACTIONS_BY_ROLE[self.role]


@dataclass(frozen=True)
class Refused:
    """Nothing was recorded. `conflict` is the review someone else made meanwhile, if that is why."""

    reason: str
    conflict: ReviewEvent | None = None


Form = Mapping[str, Sequence[str]]


def review_for(
    item: WorklistItem,
    action: ReviewAction,
    form: Form,
    user: User,
    *,
    seen_review_id: str | None,
    seen_revision: int,
    review_id: str,
    now: datetime,
) -> ReviewEvent | Refused:
    """The event recording `user`'s `action` on `item`, or why it cannot be recorded."""
    if user.role == "read_only" or not user.may(action):
        return Refused(f"your role ({user.role}) cannot record this")
    if item.trust_ods is None or not user.sees(item.trust_ods):
        return Refused("this item belongs to another trust")
    latest = item.latest_review
    if (latest.review_id if latest else None) != seen_review_id:
        return Refused("someone else acted on this; here is what they did", conflict=latest)
    if item.state == "closed":
        return Refused("the flag was retracted, so the item is closed")
    if seen_revision != item.flag.revision:
        return Refused(
            f"the finding changed since your page was shown (now revision {item.flag.revision}); "
            "read it again before you act"
        )
    role: ReviewerRole = user.role
    try:
        details = _details(action, form)
        return ReviewEvent(
            event_id=review_id,
            occurred_at=now,
            recorded_at=now,
            source="worklist",
            correlation_id=item.flag_id,
            review_id=review_id,
            flag_id=item.flag_id,
            flag_revision=seen_revision,
            patient_key=item.flag.patient_key,
            action=action,
            reviewer=Reviewer(
                subject=user.subject,
                issuer=user.issuer,
                name=user.name,
                role=role,
                trust_ods=item.trust_ods,
            ),
            previous_review_id=seen_review_id,
            **details,
        )
    except (ValidationError, ValueError) as error:
        return Refused(_plain(error))


def _details(action: ReviewAction, form: Form) -> dict[str, object]:
    if action == "acknowledged":
        return {"key_worker": KeyWorker(name=_one(form, "key_worker_name"),
                                        role=_one(form, "key_worker_role"))}  # fmt: skip
    if action == "patient_contacted":
        return {"contacted_on": _date(form, "contacted_on", "the date the patient was contacted")}
    if action == "confirmed":
        return {
            "agreed": AgreedFinding(
                episode_date=_date(form, "episode_date", "the agreed episode date"),
                recurrence_types=_chosen(form, "recurrence_types", RECURRENCE_TYPES),
                de_novo_metastatic=_one(form, "de_novo_metastatic", "no") == "yes",
                metastatic_sites=_chosen(form, "metastatic_sites", METASTATIC_SITES),
            )
        }
    reason = _one(form, "reason")
    if not reason:
        raise ValueError("give a reason")
    return {"reason": reason}


def _one(form: Form, name: str, default: str = "") -> str:
    values = form.get(name) or [default]
    return values[0].strip()


def _date(form: Form, name: str, what: str) -> date:
    text = _one(form, name)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"give {what} as YYYY-MM-DD") from None


def _chosen(form: Form, name: str, allowed: tuple[str, ...]) -> list[str]:
    chosen = [v for v in form.get(name, []) if v]
    unknown = [v for v in chosen if v not in allowed]
    if unknown:
        raise ValueError(f"unknown {name.replace('_', ' ')}: {', '.join(unknown)}")
    return sorted(set(chosen), key=allowed.index)


def _plain(error: ValidationError | ValueError) -> str:
    if isinstance(error, ValidationError):
        first = error.errors(include_input=False)[0]
        model = re.sub(r"(?<!^)(?=[A-Z])", " ", error.title).lower()  # KeyWorker: key worker
        where = " ".join([model, *map(str, first["loc"])]).replace("_", " ")
        return f"{where}: {first['msg']}"
    return str(error)
