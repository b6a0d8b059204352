"""PPR^PC1: each PRB segment to a problem-list Condition, versioned by PRB-2. Pure."""

from typing import Any

from services.ingest.hl7.dates import has_time, same_day
from services.ingest.hl7.issues import (
    REQUIRED_MISSING,
    SEGMENT_SEQUENCE,
    TABLE_VALUE_NOT_FOUND,
    Hl7Issue,
    NotMapped,
)
from services.ingest.hl7.mapping_run import MappingRun, coding, concept, fhir_id
from services.ingest.hl7.message import Segment
from services.ingest.hl7.profile import CATEGORY, CLINICAL, VERIFICATION

CONFIRMATION = frozenset(
    {"confirmed", "unconfirmed", "provisional", "differential", "refuted", "entered-in-error"}
)
LIFE_CYCLE = frozenset({"active", "recurrence", "relapse", "inactive", "remission", "resolved"})
PROBLEM_ACTIONS = frozenset({"AD", "UP", "CO", "UC", "DE"})


def map_problems(run: MappingRun, message_time: str) -> None:
    problems = run.message.all("PRB")
    if not problems:
        run.issues.append(Hl7Issue("PRB^1", SEGMENT_SEQUENCE, "PPR^PC1 needs a PRB segment"))
    for prb in problems:
        _problem(run, prb, message_time)


def _problem(run: MappingRun, prb: Segment, message_time: str) -> None:
    errors_before = len(run.issues)
    action = prb.component(1).upper()
    if action not in PROBLEM_ACTIONS:
        run.error(
            prb,
            1,
            TABLE_VALUE_NOT_FOUND,
            f"PRB-1 action {action or '(empty)'!r} is not AD, UP or DE",
        )
    code = coding(prb, 3)
    instance = prb.component(4)
    if not instance:
        run.error(prb, 4, REQUIRED_MISSING, "PRB-4 problem instance id is required")
    confirmation = prb.component(13).lower()
    if confirmation and confirmation not in CONFIRMATION:
        run.error(
            prb,
            13,
            TABLE_VALUE_NOT_FOUND,
            f"PRB-13 confirmation status {confirmation!r} is unknown",
        )
    life_cycle = prb.component(14).lower()
    if life_cycle and life_cycle not in LIFE_CYCLE:
        run.error(
            prb,
            14,
            TABLE_VALUE_NOT_FOUND,
            f"PRB-14 life cycle status {life_cycle!r} is unknown",
        )
    action_date = prb.component(2)
    run.date(prb, 2)
    onset = run.date(prb, 16)
    abatement = run.date(prb, 9)
    recorded = run.date(prb, 7)
    if code is None and not prb.component(3):
        run.error(prb, 3, REQUIRED_MISSING, "PRB-3 problem code is required")
    if len(run.issues) > errors_before:
        return
    if code is None:
        run.not_mapped.append(
            NotMapped(
                prb.location(3),
                "unsupported-code-system",
                f"PRB-3 coding system {prb.component(3, 3)!r} is not I10 or SCT",
            )
        )
        return
    if action == "DE":
        confirmation = "entered-in-error"
    resource: dict[str, Any] = {
        "resourceType": "Condition",
        "id": fhir_id("hl7", run.facility, instance),
        "meta": run.meta(_problem_stamp(action_date, message_time)),
        "category": [concept(CATEGORY, "problem-list-item")],
        "code": {"coding": [code]},
        "subject": run.patient["subject"],
    }
    if life_cycle and confirmation != "entered-in-error":
        resource["clinicalStatus"] = concept(CLINICAL, life_cycle)
    if confirmation:
        resource["verificationStatus"] = concept(VERIFICATION, confirmation)
    if onset:
        resource["onsetDateTime"] = onset
    if abatement:
        resource["abatementDateTime"] = abatement
    if recorded:
        resource["recordedDate"] = recorded
    run.add(resource, prb.location())


def _problem_stamp(action_date: str, message_time: str) -> str:
    """PRB-2 orders versions of a problem. A date alone ties every change made that day, so the
    message time breaks the tie when it falls on the same day."""
    if not action_date:
        return message_time
    if not has_time(action_date) and message_time and same_day(action_date, message_time):
        return message_time
    return action_date
