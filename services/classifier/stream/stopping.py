"""Stopping the worker for an event it could not carry through, so that the restart replays it."""

import logging
from typing import Protocol

from services.classifier.stream.corrections.metadata_fault import broker_metadata_fault
from shared.attempts import Attempts

log = logging.getLogger("rmbc.classifier")


class Worker(Protocol):
    async def crash(self, reason: BaseException) -> None: ...


class StopForReplay:
    """Stops the worker (faust's `App.crash`); a failure that is not the broker's is counted
    against the event's `source`, so that the replay dead-letters an event that keeps failing
    (`shared/attempts.py`)."""

    def __init__(self, worker: Worker, attempts: Attempts) -> None:
        self._worker = worker
        self._attempts = attempts

    async def __call__(self, error: BaseException, source: str | None = None) -> None:
        if source is not None and not broker_metadata_fault(error):
            self._attempts.failed(source, error)
        log.error(
            "an event was not carried through: stopping, it is replayed on restart",
            extra={"error": type(error).__name__},
        )
        await self._worker.crash(error)
