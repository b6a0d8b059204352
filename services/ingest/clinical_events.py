"""From one validated resource to its `rmbc.clinical-events.v1` event. Pure: `now` is passed in."""

import hashlib
from datetime import UTC, datetime
from typing import Any

import orjson

from shared.events import ClinicalEvent, PatientContext, Sender, stable_id

SOURCE = "rmbc-ingest"


def content_digest(resource: dict[str, Any]) -> str:
    """A hash of the resource's content, independent of key order, for resources without a version."""
    return hashlib.sha256(orjson.dumps(resource, option=orjson.OPT_SORT_KEYS)).hexdigest()


def event_id_for(resource_type: str, resource_id: str, resource: dict[str, Any]) -> str:
    """The same resource version always gives the same id, so downstream can drop a resend."""
    version = resource.get("meta", {}).get("versionId")
    if version:
        return stable_id("clinical-event", resource_type, resource_id, f"v{version}")
    return stable_id("clinical-event", resource_type, resource_id, content_digest(resource))


def build_event(
    resource: dict[str, Any],
    *,
    resource_id: str,
    patient: PatientContext,
    key: str,
    sender: Sender,
    correlation_id: str,
    now: datetime,
) -> ClinicalEvent:
    resource_type = resource["resourceType"]
    return ClinicalEvent(
        event_id=event_id_for(resource_type, resource_id, resource),
        occurred_at=occurred_at(resource) or now,
        recorded_at=now,
        source=f"{SOURCE}/{sender.channel}",
        correlation_id=correlation_id,
        patient_key=key,
        resource_type=resource_type,
        resource_id=resource_id,
        version_id=resource.get("meta", {}).get("versionId"),
        resource=resource,
        patient=patient,
        sender=sender,
    )


def occurred_at(resource: dict[str, Any]) -> datetime | None:
    """meta.lastUpdated, else when the fact was recorded or observed."""
    candidates = [
        resource.get("meta", {}).get("lastUpdated"),
        resource.get("recordedDate"),
        resource.get("issued"),
        resource.get("effectiveDateTime"),
        resource.get("effectiveInstant"),
        resource.get("effectivePeriod", {}).get("start"),
        resource.get("onsetDateTime"),
    ]
    for value in candidates:
        if value:
            return parse_fhir_datetime(value)
    return None


def parse_fhir_datetime(value: str) -> datetime:
    """A validated FHIR date, dateTime or instant; partial dates mean their first moment, in UTC."""
    if len(value) <= 10:
        parts = [int(p) for p in value.split("-")]
        parts += [1] * (3 - len(parts))
        return datetime(parts[0], parts[1], parts[2], tzinfo=UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
