"""The seam between the edges (HTTP, MLLP) and the publishing core."""

from typing import Any, Protocol

from shared.events import ClinicalEvent, Sender


class Accepter(Protocol):
    async def accept(
        self, resources: list[dict[str, Any]], sender: Sender, *, atomic: bool = True
    ) -> list[ClinicalEvent]:
        """Validate every resource, resolve patients, publish one event each, return after the
        broker acknowledged all of them (acks=all).

        Raises InvalidInput (nothing published when atomic) or BrokerUnavailable.
        Resources are FHIR R4 JSON dicts of type Patient, Condition or Observation; references
        between them (urn:uuid fullUrls, relative references) are already resolved by the caller
        or resolvable from earlier Patient events.
        """
        ...
