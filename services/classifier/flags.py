"""From episodes to flag events: compare with what was already emitted and emit only changes.

One flag per episode, `flag_id = stable_id("flag", patient_key, str(episode))`. A flag is
`raised` the first time (and again when a review flag becomes a confirmed finding, or a retracted
one comes back), `updated` when its content changes, `retracted` when its evidence is corrected
away. Nothing is emitted when nothing changed.
"""

import hashlib
from dataclasses import replace
from datetime import date, datetime
from typing import Any

import orjson

from services.classifier.facts import Fact
from services.classifier.immutable import immutable
from services.classifier.records import Emitted
from services.classifier.rules import Classification, Episode, classify
from services.classifier.state import PatientState
from shared.events import CancerFlag, Evidence, PrimaryTumour, stable_id

SOURCE = "classifier"


@immutable
class FlagContext:
    patient_key: str
    now: datetime
    occurred_at: datetime
    correlation_id: str


def diff(
    state: PatientState, result: Classification, context: FlagContext
) -> tuple[PatientState, list[CancerFlag]]:
    emitted = dict(state.emitted)
    flags: list[CancerFlag] = []
    primary = primary_tumour(result.primary)
    for number, episode in enumerate(result.episodes, start=1):
        content = _content(episode, primary)
        digest = _digest(content)
        previous = emitted.get(number)
        if previous is not None and previous.state != "retracted" and previous.digest == digest:
            continue
        revision = previous.revision if previous else 0
        state_name = "updated"
        if previous is None or previous.state == "retracted":
            state_name = "raised"
        elif previous.content["kind"] == "review" and episode.kind != "review":
            state_name = "raised"  # a confirmed finding now: GP and CNS must hear of it
        elif previous.content["kind"] != "review" and episode.kind == "review":
            revision += 1
            flags.append(
                _retraction(
                    context,
                    number,
                    revision,
                    previous,
                    state,
                    "evidence no longer confirmed",
                )
            )
            state_name = "raised"
        revision += 1
        evidence = _evidence(episode)
        flags.append(
            _flag(context, number, revision, state_name, content, state, primary, evidence)
        )
        keys = tuple(dict.fromkeys(i.fact.key for i in episode.items))
        emitted[number] = Emitted(revision, state_name, digest, _stored(content), keys)
    for number in sorted(n for n in emitted if n > len(result.episodes)):
        previous = emitted[number]
        if previous.state == "retracted":
            continue
        reason = _retraction_reason(previous, state)
        flag = _retraction(context, number, previous.revision + 1, previous, state, reason)
        flags.append(flag)
        emitted[number] = replace(previous, revision=flag.revision, state="retracted")
    return state.with_emitted(emitted), flags


def _stored(content: dict[str, Any]) -> dict[str, Any]:
    """What is kept of an emitted flag's content: all but the primary (it comes from the record)."""
    return {**content, "primary": None}


def primary_tumour(fact: Fact | None) -> dict[str, Any] | None:
    """The original primary in a flag's JSON form (`PrimaryTumour`). A plain dict: the flag's
    content digest needs it for every change, the model only when a flag is emitted."""
    if fact is None:
        return None
    icd10 = "C50.9"
    if fact.code and fact.code.upper().startswith("C50"):
        undotted = fact.code.upper().replace(".", "")
        icd10 = f"C50.{undotted[3]}" if len(undotted) > 3 else "C50.9"
    return {
        "icd10": icd10,
        "snomed": fact.code if fact.system == "http://snomed.info/sct" else None,
        "laterality": fact.laterality,
        "diagnosis_date": fact.date.isoformat() if fact.date else None,
        "reference": fact.reference,
    }


def _content(episode: Episode, primary: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "kind": episode.kind,
        "recurrence": episode.recurrence,
        "recurrence_types": episode.recurrence_types,
        "metastatic": episode.metastatic,
        "de_novo_metastatic": episode.de_novo,
        "metastatic_sites": episode.sites,
        "episode_date": episode.date.isoformat() if episode.date else None,
        "needs_review": episode.needs_review,
        "review_reason": episode.review_reason,
        "primary": primary,
    }


def _digest(content: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


def _evidence(episode: Episode) -> list[Evidence]:
    rows = [(s.fact, s.rule, s.date) for s in episode.support]
    rows += [(i.fact, i.rule, i.date) for i in episode.items]
    seen: set[tuple[str, str]] = set()
    evidence = []
    for fact, rule, when in rows:
        if (fact.reference, rule) in seen:
            continue
        seen.add((fact.reference, rule))
        evidence.append(
            Evidence(
                reference=fact.reference,
                rule=rule,
                system=fact.system,
                code=fact.code,
                display=fact.text,
                date=when if when and when != date.min else None,
            )
        )
    return evidence


def _flag(
    context: FlagContext,
    number: int,
    revision: int,
    state_name: str,
    content: dict[str, Any],
    state: PatientState,
    primary: dict[str, Any] | None,
    evidence: list[Evidence],
    reason: str | None = None,
) -> CancerFlag:
    flag_id = stable_id("flag", context.patient_key, str(number))
    return CancerFlag(
        event_id=stable_id("cancer-flag", flag_id, str(revision)),
        occurred_at=context.occurred_at,
        recorded_at=context.now,
        source=SOURCE,
        correlation_id=context.correlation_id,
        flag_id=flag_id,
        patient_key=context.patient_key,
        episode=number,
        state=state_name,
        revision=revision,
        kind=content["kind"],
        needs_review=content["needs_review"],
        review_reason=content["review_reason"],
        recurrence=content["recurrence"],
        recurrence_types=content["recurrence_types"],
        metastatic=content["metastatic"],
        de_novo_metastatic=content["de_novo_metastatic"],
        metastatic_sites=content["metastatic_sites"],
        episode_date=date.fromisoformat(content["episode_date"])
        if content["episode_date"]
        else None,
        primary=PrimaryTumour.model_validate(primary) if primary else None,
        patient=state.patient_context(),
        evidence=evidence,
        reason=reason,
    )


def _retraction(
    context: FlagContext,
    number: int,
    revision: int,
    previous: Emitted,
    state: PatientState,
    reason: str,
) -> CancerFlag:
    evidence = [
        Evidence(
            reference=record.fact.reference if record else key,
            rule="1: corrected record",
            system=record.fact.system if record else None,
            code=record.fact.code if record else None,
        )
        for key in previous.evidence
        for record in [state.records.get(key)]
    ]
    primary = primary_tumour(classify(state.records.values()).primary)
    return _flag(
        context, number, revision, "retracted", previous.content, state, primary, evidence, reason
    )


def _retraction_reason(previous: Emitted, state: PatientState) -> str:
    facts = [state.records[k].fact for k in previous.evidence if k in state.records]
    voided = [f.key for f in facts if f.certainty == "void"]
    if voided:
        return "entered in error or refuted: " + ", ".join(voided)
    unconfirmed = [f.key for f in facts if f.certainty == "unconfirmed"]
    if unconfirmed:
        return "no longer confirmed: " + ", ".join(unconfirmed)
    return "the record no longer supports this episode"
