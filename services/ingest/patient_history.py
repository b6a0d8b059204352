"""Rebuilding the PatientIndex, at start, from the Patient events already on the topic.

Without it a restarted ingest would not know the Patients it accepted before the restart, and a
Condition naming only `Patient/<id>` would be keyed `Patient/<id>` instead of by NHS number: its
facts would land beside the patient's record in the classifier, not in it (a missed recurrence).
The read is bounded by the topic's end offsets at the time of the call.
"""

import logging

from services.ingest.patients import PatientIndex
from shared.admin import records_to_end
from shared.codec import UndecodableEvent, decode
from shared.events import ClinicalEvent
from shared.settings import KafkaSettings

log = logging.getLogger(__name__)


async def load_patient_index(kafka: KafkaSettings, topic: str, index: PatientIndex) -> int:
    """Remember every Patient event on `topic` up to its current end; return how many."""
    remembered = unreadable = 0
    async for record in records_to_end(kafka, topic):
        try:
            event = decode(record.value)
        except UndecodableEvent:
            unreadable += 1  # the classifier dead-letters it; nothing to learn here
            continue
        if isinstance(event, ClinicalEvent) and event.resource_type == "Patient" and event.patient:
            index.remember(event.patient)
            remembered += 1
    log.info(
        "patient index loaded",
        extra={"patients": len(index), "patient_events": remembered, "unreadable": unreadable},
    )
    return remembered
