"""The classification rules (DOMAIN "Classification rules" 1-11) as one pure function.

`classify(records)` recomputes everything from the facts, so out-of-order, repeated and corrected
input is handled by construction: the facts are always those of each resource's latest version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from services.classifier.facts import Fact
from services.classifier.immutable import immutable
from services.classifier.records import Record

DE_NOVO_WINDOW = timedelta(days=90)
SECONDARY_KINDS = frozenset({"secondary", "distant_finding", "regional_finding"})
DISTANT_STAGE_KINDS = frozenset({"m_category", "stage_group"})
TEXT_BREAST = frozenset({"text_breast", "text_metastatic_breast"})
TEXT_SECONDARY = frozenset({"text_secondary", "text_metastatic_breast"})
TEXT_ONLY = "breast cancer or secondary disease named in words only; codes not recognised"


@immutable
class Item:
    """One piece of evidence that places disease at a date."""

    date: date
    fact: Fact
    rule: str
    scope: str | None  # local | regional | distant | None (a status flip: type not known)
    site: str | None = None
    confirmed: bool = True
    implies_recurrence: bool = False
    ambiguous: bool = False


@immutable
class Support:
    """Evidence that is not an item but shaped the decision (the primary, a remission)."""

    fact: Fact
    rule: str
    date: date | None


@dataclass(slots=True)
class Episode:
    items: list[Item] = field(default_factory=list)
    kind: str = "review"
    recurrence: bool = False
    recurrence_types: list[str] = field(default_factory=list)
    metastatic: bool = False
    de_novo: bool = False
    sites: list[str] = field(default_factory=list)
    date: dt.date | None = None
    needs_review: bool = False
    review_reason: str | None = None
    support: list[Support] = field(default_factory=list)

    @property
    def start(self) -> dt.date:
        return self.items[0].date


@immutable
class Classification:
    primary: Fact | None
    episodes: list[Episode]

    @property
    def breast_primary(self) -> bool:
        return self.primary is not None


def classify(records: Iterable[Record]) -> Classification:
    usable = [r for r in records if r.fact.certainty != "void" and r.fact.kind != "irrelevant"]
    primaries = [r for r in usable if r.fact.kind == "breast_primary"]
    confirmed = [r for r in primaries if r.fact.certainty == "confirmed"]
    if not confirmed:
        return Classification(None, _without_primary(usable))
    original = min(confirmed, key=lambda r: (r.fact.date or date.max, r.fact.key))
    return Classification(original.fact, _with_primary(original, usable))


def _with_primary(original: Record, usable: list[Record]) -> list[Episode]:
    dx = original.fact.date
    breast_keys = {r.fact.key for r in usable if r.fact.kind == "breast_primary"}
    other_primaries = {r.fact.key for r in usable if r.fact.kind == "non_breast_primary"}
    items: list[Item] = []
    status_sources: list[Record] = []
    for record in usable:
        fact = record.fact
        if fact.kind in SECONDARY_KINDS or _distant_stage(fact):
            if fact.related in other_primaries:
                continue  # rule 4: the metastasis of another primary
            items.append(_secondary_item(fact))
        elif fact.kind in TEXT_SECONDARY or (
            fact.kind == "text_breast" and _after_diagnosis(fact, original.fact)
        ):
            if fact.related not in other_primaries:
                items.append(_text_item(fact))
        elif fact.kind == "metastatic_history":
            items.append(_item(fact, "3: history of metastatic disease (review)", "distant", False))
        elif fact.kind == "unknown_primary" and _after_diagnosis(fact, original.fact):
            # rule 4: not breast cancer - yet in a patient with breast cancer a clinician should look
            rule = "4: cancer of unknown primary after breast cancer (review)"
            items.append(_item(fact, rule, "distant", False))
        elif fact.kind == "breast_primary" and record is not original:
            local = _local_item(original.fact, fact)
            if local is not None:
                items.append(local)
                continue
            if fact.certainty == "confirmed":
                status_sources.append(record)
    status_sources.append(original)
    for record in status_sources:
        items.extend(_status_flips(record))
    if dx is not None:  # rule 5: nodes (and the tumour) at first diagnosis are staging
        items = [
            i
            for i in items
            if i.scope == "distant" or i.date - dx > DE_NOVO_WINDOW or i.scope is None
        ]
    disease_free = _disease_free(original, usable, items)
    episodes = _episodes(sorted(items, key=lambda i: (i.date, i.fact.key)), disease_free, dx)
    another_primary = bool(other_primaries)
    for number, episode in enumerate(episodes):
        _judge(episode, first=number == 0, dx=dx, disease_free=disease_free)
        if (
            another_primary
            and episode.kind != "review"
            and any(
                i.fact.related is None or i.fact.related not in breast_keys
                for i in episode.items
                if i.scope in ("regional", "distant")
            )
        ):
            _review(episode, "another primary cancer is recorded; attribution to breast assumed")
        episode.support.insert(0, Support(original.fact, "3: breast primary", dx))
    return episodes


def _distant_stage(fact: Fact) -> bool:
    """An M1 category or a stage group IV: distant disease, site not known (rules 4, 5)."""
    return fact.kind in DISTANT_STAGE_KINDS and fact.scope == "distant"


def _text_item(fact: Fact) -> Item:
    """Words, not codes: evidence for review only, never for an outcome (DECISIONS.md)."""
    rule = f'text: the record says "{fact.text}" in words; its codes are not recognised (review)'
    return _item(fact, rule, "distant" if fact.kind in TEXT_SECONDARY else "local", False)


def _after_diagnosis(fact: Fact, primary: Fact) -> bool:
    return bool(fact.date and primary.date and fact.date - primary.date > DE_NOVO_WINDOW)


def _without_primary(usable: list[Record]) -> list[Episode]:
    """No confirmed breast primary: nothing counts (rule 4), but a hint of breast cancer next to
    secondary disease is worth a clinician's look."""
    hints = [
        r.fact
        for r in usable
        if r.fact.kind in ("in_situ", "breast_history", "breast_primary")
        or r.fact.kind in TEXT_BREAST
    ]
    other = {r.fact.key for r in usable if r.fact.kind in ("non_breast_primary", "unknown_primary")}
    secondaries = [
        _secondary_item(r.fact) if r.fact.kind not in TEXT_SECONDARY else _text_item(r.fact)
        for r in usable
        if (
            r.fact.kind in SECONDARY_KINDS
            or _distant_stage(r.fact)
            or r.fact.kind in TEXT_SECONDARY
        )
        and r.fact.related not in other
    ]
    named = [h for h in hints if h.kind in TEXT_BREAST]
    if named and not secondaries:  # breast cancer in words alone: a clinician should look
        episode = Episode(items=[_text_item(h) for h in sorted(named, key=_by_date)])
        _review(episode, TEXT_ONLY)
        return [episode]
    if not hints or not secondaries:
        return []
    episode = Episode(items=sorted(secondaries, key=lambda i: (i.date, i.fact.key)))
    episode.support = [
        Support(h, "3: not a confirmed invasive breast primary", h.date) for h in hints
    ]
    _review(episode, "secondary disease without a confirmed invasive breast primary")
    return [episode]


def _by_date(fact: Fact) -> tuple[date, str]:
    return fact.date or date.min, fact.key


def _secondary_item(fact: Fact) -> Item:
    rule = {"m_category": "5: M1 category", "stage_group": "5: stage group IV"}.get(
        fact.kind, f"5: {fact.scope} secondary"
    )
    return _item(fact, rule, fact.scope, fact.certainty == "confirmed")


def _item(fact: Fact, rule: str, scope: str | None, confirmed: bool) -> Item:
    return Item(
        date=fact.date or date.min,
        fact=fact,
        rule=rule,
        scope=scope,
        site=fact.site,
        confirmed=confirmed,
        implies_recurrence=fact.status == "recurrence",
        ambiguous=fact.ambiguous,
    )


def _local_item(original: Fact, other: Fact) -> Item | None:
    """A later breast cancer Condition: a local recurrence on the same side (rule 8), a new
    primary on the opposite side (not a recurrence), or the same tumour recorded twice."""
    if original.date is None or other.date is None or other.date - original.date <= DE_NOVO_WINDOW:
        return None
    sides = {original.laterality, other.laterality}
    if None not in sides and "bilateral" not in sides and len(sides) == 2:
        return None  # contralateral: a new primary
    return Item(
        date=other.date,
        fact=other,
        rule="8: breast cancer on the same side after diagnosis (local)",
        scope="local",
        confirmed=other.certainty == "confirmed",
        implies_recurrence=other.status == "recurrence",
        ambiguous=None in sides,
    )


def _status_flips(record: Record) -> list[Item]:
    """Each change of a breast primary's status to recurrence/relapse, dated by the first
    recurrence version's meta.lastUpdated (rule 11)."""
    flips: list[Item] = []
    previous: str | None = None
    for version, status, _ in record.history:
        if status == "recurrence" and previous != "recurrence" and version[1]:
            flips.append(
                Item(
                    date=date.fromisoformat(version[1][:10]),
                    fact=record.fact,
                    rule="8: breast primary status changed to recurrence",
                    scope=None,
                    confirmed=record.fact.certainty == "confirmed",
                    implies_recurrence=True,
                )
            )
        previous = status
    return flips


def _disease_free(original: Record, usable: list[Record], items: list[Item]) -> list[Support]:
    """Rule 7: the dates at which the patient was shown to be disease-free."""
    found: list[Support] = []
    for record in usable:
        fact = record.fact
        if fact.certainty != "confirmed":
            continue
        if fact.kind == "breast_primary":
            found.extend(_remissions(record, "7: breast primary in remission"))
        elif fact.kind == "disease_status" and fact.value == "disease_free" and fact.date:
            found.append(Support(fact, "7: disease status: no evidence of disease", fact.date))
        elif fact.kind in SECONDARY_KINDS:
            for remission in _remissions(record, "7: secondary disease resolved"):
                if _all_resolved_by(remission.date, usable, exclude=fact.key):
                    found.append(remission)
    dx = original.fact.date
    return sorted(
        (s for s in found if s.date is not None and (dx is None or s.date > dx)),
        key=lambda s: s.date or date.min,
    )


def _remissions(record: Record, rule: str) -> list[Support]:
    found = []
    for version, status, abatement in record.history:
        if abatement is not None:
            found.append(Support(record.fact, rule, abatement))
        elif status == "disease_free" and version[1]:
            found.append(Support(record.fact, rule, date.fromisoformat(version[1][:10])))
    return found


def _all_resolved_by(when: date | None, usable: list[Record], exclude: str) -> bool:
    if when is None:
        return False
    for record in usable:
        fact = record.fact
        if fact.key == exclude or fact.kind not in SECONDARY_KINDS:
            continue
        active = fact.status != "disease_free" and (fact.abatement is None or fact.abatement > when)
        if fact.certainty == "confirmed" and fact.date and fact.date <= when and active:
            return False
    return True


def _episodes(items: list[Item], disease_free: list[Support], dx: date | None) -> list[Episode]:
    """A new episode starts after disease-free evidence dated after the current one began."""
    episodes: list[Episode] = []
    for item in items:
        current = episodes[-1] if episodes else None
        if current is None or _separated(current, item, disease_free, dx):
            episodes.append(Episode(items=[item]))
        else:
            current.items.append(item)
    return episodes


def _separated(current: Episode, item: Item, disease_free: list[Support], dx: date | None) -> bool:
    if any(s.date and current.start < s.date < item.date for s in disease_free):
        return True
    # A recurrence status after a de novo metastatic episode implies a disease-free period.
    return (
        item.implies_recurrence
        and dx is not None
        and item.date - dx > DE_NOVO_WINDOW
        and _is_de_novo(current, dx)
        and not any(i.implies_recurrence for i in current.items)
    )


def _is_de_novo(episode: Episode, dx: date) -> bool:
    return any(
        i.confirmed and i.scope == "distant" and abs(i.date - dx) <= DE_NOVO_WINDOW
        for i in episode.items
    )


def _judge(episode: Episode, *, first: bool, dx: date | None, disease_free: list[Support]) -> None:
    confirmed = [i for i in episode.items if i.confirmed]
    if not confirmed:
        words_only = all(i.fact.kind.startswith("text_") for i in episode.items)
        _review(
            episode,
            TEXT_ONLY if words_only else "only unconfirmed, provisional or historical evidence",
        )
        return
    start = confirmed[0].date
    scopes = {i.scope for i in confirmed}
    de_novo = first and dx is not None and _is_de_novo(episode, dx)
    remission = [s for s in disease_free if s.date and s.date < start]
    recurrence = not de_novo and (bool(remission) or any(i.implies_recurrence for i in confirmed))
    metastatic = "distant" in scopes
    if not (recurrence or metastatic):
        what = "local" if scopes == {"local"} else "regional"
        _review(episode, f"{what} disease after diagnosis without disease-free evidence")
        return
    sites = {i.site for i in confirmed if i.scope in ("regional", "distant") and i.site}
    if de_novo:
        sites.discard("regional_lymph_nodes")
    if sites - {"unknown", "regional_lymph_nodes"}:
        sites.discard("unknown")
    episode.recurrence = recurrence
    episode.recurrence_types = (
        sorted(t for t in ("local", "regional", "distant") if t in scopes) if recurrence else []
    )
    episode.metastatic = metastatic
    episode.de_novo = de_novo
    episode.sites = sorted(sites)
    # Rule 11: the earliest *dated* evidence; undated evidence sorts first as date.min and must
    # never become the episode's date.
    episode.date = next((i.date for i in confirmed if i.date != date.min), None)
    episode.kind = (
        "recurrence"
        if recurrence
        else "de_novo_metastatic"
        if de_novo
        else "metastatic_progression"
    )
    if remission and recurrence:
        episode.support.append(remission[-1])
    ambiguous = [i for i in confirmed if i.ambiguous]
    if ambiguous:
        episode.needs_review = True
        episode.review_reason = "ambiguous site or side: " + ", ".join(
            sorted({i.fact.key for i in ambiguous})
        )


def _review(episode: Episode, reason: str) -> None:
    if episode.kind == "review" or not episode.needs_review:
        episode.needs_review = True
        episode.review_reason = reason
    if episode.kind == "review":
        episode.date = None
