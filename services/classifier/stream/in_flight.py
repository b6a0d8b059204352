"""Patients whose flags are in flight: the stream goes on while the broker acknowledges them.

A patient's new state is stored, and the event let go for commit, only once the broker has
acknowledged every flag the event caused: a crash in between replays the event from the old state
and sends the same flags again (same event ids), never loses one. Meanwhile that patient's later
events build on the held state, and their state is stored after it, in order. Other patients are
not held up: awaiting each acknowledgement in the stream would stall its whole partition behind
every flag (docs/performance.md).
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence

from services.classifier.state import PatientState

Settle = Callable[[], Awaitable[None]]
OnFailure = Callable[[BaseException, str | None], Awaitable[None]]
"""Called with the error and the failed event's `source` (where it was read)."""


class InFlight:
    def __init__(self, on_failure: OnFailure, limit: int) -> None:
        self._held: dict[bytes, tuple[PatientState, asyncio.Task[None]]] = {}
        self._on_failure = on_failure
        self._limit = limit
        self._stopping: set[asyncio.Task[None]] = set()

    def state(self, key: bytes, stored: Callable[[bytes], PatientState]) -> PatientState:
        """The patient's latest state: held here, or else as stored."""
        held = self._held.get(key)
        return held[0] if held is not None else stored(key)

    def is_held(self, key: bytes) -> bool:
        return key in self._held

    def __len__(self) -> int:
        return len(self._held)

    def hold(
        self,
        key: bytes,
        state: PatientState,
        deliveries: Sequence[Awaitable[object]],
        settle: Settle,
        source: str | None = None,
    ) -> None:
        """Run `settle` (store the state, let the event go) once the patient's earlier held
        events have settled and every delivery is acknowledged."""
        earlier = self._held.get(key)

        async def settle_in_order() -> None:
            if earlier is not None:
                await earlier[1]
            for delivery in deliveries:
                await delivery
            await settle()

        task = asyncio.ensure_future(settle_in_order())  # copies the event's context (partition)
        self._held[key] = (state, task)
        task.add_done_callback(lambda done: self._settled(key, done, source))

    async def room(self) -> None:
        """Wait while as many patients as the limit are held (a broker that stopped answering)."""
        while len(self._held) >= self._limit:
            await asyncio.wait(
                [task for _, task in self._held.values()], return_when=asyncio.FIRST_COMPLETED
            )

    async def settled(self) -> None:
        """Wait until nothing is held."""
        while self._held:
            await asyncio.wait([task for _, task in self._held.values()])

    def _settled(self, key: bytes, task: asyncio.Task[None], source: str | None) -> None:
        held = self._held.get(key)
        if held is not None and held[1] is task:
            del self._held[key]
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            # the event stays unacknowledged, so uncommitted: the worker stops and a restart
            # replays it from the state stored before it
            stopping = asyncio.ensure_future(self._on_failure(error, source))
            self._stopping.add(stopping)
            stopping.add_done_callback(self._stopping.discard)
