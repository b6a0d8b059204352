"""ORU^R01: each OBX in the profile to an Observation (disease status, TNM M) or a Condition
(diagnosis), identified by its order and code so that a later correction is a new version. Pure.
"""

from typing import Any

from services.ingest.hl7.issues import DUPLICATE_KEY, REQUIRED_MISSING
from services.ingest.hl7.mapping_run import MappingRun, coding, concept, fhir_id
from services.ingest.hl7.message import Segment
from services.ingest.hl7.profile import (
    CATEGORY,
    CLINICAL,
    ICD10,
    LOINC,
    SNOMED,
    VERIFICATION,
)

DISEASE_STATUS = (LOINC, "97509-4")
TNM_M = {(SNOMED, "399387003"), (SNOMED, "371497001"), (LOINC, "21907-1"), (LOINC, "21901-4")}
DIAGNOSIS = (LOINC, "29308-4")

OBSERVATION_STATUS = {
    "F": "final",
    "C": "amended",
    "P": "preliminary",
    "W": "entered-in-error",
    "D": "entered-in-error",
}
DIAGNOSIS_VERIFICATION = {
    "F": "confirmed",
    "C": "confirmed",
    "P": "provisional",
    "W": "entered-in-error",
    "D": "entered-in-error",
}


def map_results(run: MappingRun, message_time: str) -> None:
    """Each OBX under the ORC/OBR before it. A result's id is the observation's identity
    (order number, OBX-3, OBX-4), so a correction (OBX-11 C) or withdrawal (W, D) sent in a
    later message is a new version of the same resource, as FHIR would send it."""
    placed = _observations_by_order(run)
    counts: dict[tuple[str, ...], int] = {}
    for *_, identity in placed:
        counts[identity] = counts.get(identity, 0) + 1
    seen: dict[str, str] = {}
    for obr, obx, identity in placed:
        set_id = obx.component(1) or str(obx.sequence)
        if not identity[0]:
            # no order number: only this message identifies the result, so a correction
            # in a later message cannot find it (docs/hl7v2-profile.md says so)
            parts: tuple[str, ...] = (run.header.control_id, set_id)
        elif counts[identity] > 1:
            # the same code twice in one order with no OBX-4 sub-id: OBX-1 tells them
            # apart, as it does in a corrected report resent whole
            parts = (*identity, f"#{set_id}")
        else:
            parts = identity
        resource_id = fhir_id("hl7", run.facility, *parts)
        if resource_id in seen:
            run.error(obx, 1, DUPLICATE_KEY, f"OBX-1 set id {set_id!r} repeats {seen[resource_id]}")
            continue
        seen[resource_id] = obx.location()
        _result(run, obx, obr, resource_id, message_time)


def _observations_by_order(
    run: MappingRun,
) -> list[tuple[Segment | None, Segment, tuple[str, ...]]]:
    """(governing OBR, OBX, identity) in message order. The order number is the filler's
    (OBR-3, else ORC-3), else the placer's (OBR-2, else ORC-2), with its namespace;
    the identity adds OBX-3 (code and coding system) and OBX-4 (sub-id).
    HL7 v2.5.1 chapter 4 (ORC-2/3, OBR-2/3) and 7.4.2 (OBX-3, OBX-4)."""
    placed: list[tuple[Segment | None, Segment, tuple[str, ...]]] = []
    orc: Segment | None = None
    obr: Segment | None = None
    order = ""
    for segment in run.message.segments:
        if segment.name == "ORC":
            orc, obr = segment, None
            order = _order_number(obr, orc)
        elif segment.name == "OBR":
            obr = segment
            order = _order_number(obr, orc)
        elif segment.name == "OBX":
            identity = (
                order,
                segment.component(3, 1),
                segment.component(3, 3).upper(),
                segment.component(4),
            )
            placed.append((obr, segment, identity))
    return placed


def _result(
    run: MappingRun, obx: Segment, obr: Segment | None, resource_id: str, message_time: str
) -> None:
    code = coding(obx, 3)
    key = (code["system"], code["code"]) if code else None
    if key != DIAGNOSIS and key != DISEASE_STATUS and key not in TNM_M:
        label = f"{obx.component(3, 1)}^{obx.component(3, 3)}" if obx.component(3) else "(empty)"
        run.skip(obx, 3, "unsupported-observation-code", f"OBX-3 {label} is not in the profile")
        return
    value_type = obx.component(2).upper()
    if value_type not in ("CWE", "CE"):
        run.skip(obx, 2, "unsupported-value-type", f"OBX-2 {value_type or '(empty)'} is not CWE")
        return
    status = obx.component(11).upper()
    if not status:
        run.error(obx, 11, REQUIRED_MISSING, "OBX-11 result status is required")
        return
    if status not in OBSERVATION_STATUS:
        run.skip(
            obx,
            11,
            "unsupported-result-status",
            f"OBX-11 status {status!r} is not F, C, P, W or D",
        )
        return
    if not obx.component(5):
        run.error(obx, 5, REQUIRED_MISSING, "OBX-5 coded value is required")
        return
    value = coding(obx, 5)
    if value is None:
        run.skip(
            obx,
            5,
            "unsupported-code-system",
            f"OBX-5 coding system {obx.component(5, 3)!r} is not SCT or I10",
        )
        return
    errors_before = len(run.issues)
    effective: str | None = None
    if obx.component(14):
        effective = run.date(obx, 14)
    elif obr is not None:
        effective = run.date(obr, 7)
    if len(run.issues) > errors_before:
        return
    base: dict[str, Any] = {"id": resource_id, "meta": run.meta(message_time)}
    if key == DIAGNOSIS:
        if value["system"] not in (SNOMED, ICD10):
            run.skip(obx, 5, "unsupported-code-system", "OBX-5 diagnosis must be SCT or I10")
            return
        verification = DIAGNOSIS_VERIFICATION[status]
        resource = {
            "resourceType": "Condition",
            **base,
            "category": [concept(CATEGORY, "encounter-diagnosis")],
            "verificationStatus": concept(VERIFICATION, verification),
            "code": {"coding": [value]},
            "subject": run.patient["subject"],
        }
        if verification != "entered-in-error":
            resource["clinicalStatus"] = concept(CLINICAL, "active")
        if effective:
            resource["onsetDateTime"] = effective
    else:
        assert code is not None
        resource = {
            "resourceType": "Observation",
            **base,
            "status": OBSERVATION_STATUS[status],
            "code": {"coding": [code]},
            "subject": run.patient["subject"],
            "valueCodeableConcept": {"coding": [value]},
        }
        if effective:
            resource["effectiveDateTime"] = effective
    run.add(resource, obx.location())


def _order_number(obr: Segment | None, orc: Segment | None) -> str:
    """`F:<filler>^<namespace>` or `P:<placer>^<namespace>`, '' when the message has neither."""
    for kind, number_field in (("F", 3), ("P", 2)):
        for segment in (obr, orc):
            if segment is not None and (number := segment.component(number_field, 1)):
                return f"{kind}:{number}^{segment.component(number_field, 2)}"
    return ""
