"""The one port both edges (HTTP, MLLP) call, with its one verb: `accept`."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from services.ingest.acceptance import Outcome, ResourceInRequest
from services.ingest.errors import InvalidInput
from shared.events import ClinicalEvent, Sender


class Accepter(Protocol):
    async def accept(
        self,
        resources: Sequence[dict[str, Any] | ResourceInRequest],
        sender: Sender,
        *,
        atomic: bool = True,
        correlation_id: str | None = None,
    ) -> list[ClinicalEvent]:
        """Validate every resource, resolve patients, publish one event each, return after the
        broker acknowledged all of them (acks=all).

        Resources are FHIR R4 JSON dicts of type Patient, Condition or Observation, given bare
        (MLLP: issues then name the resource's position) or with where they sit in the request
        (HTTP: a Bundle entry's FHIRPath, fullUrl and request.url). References between them
        (urn:uuid fullUrls, relative references) resolve within the request or to earlier
        Patient events. `correlation_id`: the caller's trace id (else MSH-10, else a new one).

        Raises InvalidInput (nothing published when atomic), PartlyAccepted (atomic=False: the
        valid ones were published) or BrokerUnavailable.
        """
        ...


@dataclass
class PartlyAccepted(InvalidInput):
    """atomic=False: the valid resources were published (`accepted`); `issues` name the others;
    `outcomes` hold each resource's outcome, in the order given (a FHIR batch-response)."""

    accepted: list[ClinicalEvent] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
