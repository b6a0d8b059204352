"""Clinical events for classifier tests, built from the scenario builders."""

from datetime import UTC, datetime
from typing import Any

from shared.events import ClinicalEvent, PatientContext, Sender, stable_id


def clinical_event(resource: dict[str, Any], patient_key: str) -> ClinicalEvent:
    version = (resource.get("meta") or {}).get("versionId")
    event_id = stable_id("clinical-event", resource["resourceType"], resource["id"], str(version))
    return ClinicalEvent(
        event_id=event_id,
        occurred_at=datetime(2022, 1, 1, tzinfo=UTC),
        recorded_at=datetime(2022, 1, 1, tzinfo=UTC),
        source="ingest",
        correlation_id=event_id,
        patient_key=patient_key,
        resource_type=resource["resourceType"],
        resource_id=resource["id"],
        version_id=version,
        resource=resource,
        patient=PatientContext(nhs_number=patient_key, provider_ods="RX1"),
        sender=Sender(channel="http", client="tests"),
    )
