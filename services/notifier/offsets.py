"""Which offsets may be committed: a record's offset only once all the work it started is done."""

import asyncio
import logging
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiokafka.errors import CommitFailedError

log = logging.getLogger(__name__)


@dataclass
class _Pending:
    offset: int
    tasks: list["asyncio.Future[Any]"]


@dataclass
class OffsetTracker:
    _pending: dict[Any, deque[_Pending]] = field(default_factory=dict)
    failed_at: tuple[Any, int] | None = None
    """(partition, offset) of the record whose work failed, once `committable` has raised."""

    def add(self, partition: Any, offset: int, tasks: list["asyncio.Future[Any]"]) -> None:
        self._pending.setdefault(partition, deque()).append(_Pending(offset, tasks))

    def committable(self) -> dict[Any, int]:
        """Next offset to commit per partition, for the done prefix. Raises a task's error."""
        ready: dict[Any, int] = {}
        for partition, queue in self._pending.items():
            while queue and all(t.done() for t in queue[0].tasks):
                head = queue.popleft()
                for task in head.tasks:
                    if not task.cancelled() and task.exception() is not None:
                        self.failed_at = (partition, head.offset)
                    task.result()  # a failed task is a crash: its offset must never be committed
                ready[partition] = head.offset + 1
        return ready

    def in_flight(self) -> int:
        return sum(len(q) for q in self._pending.values())

    def forget(self, partitions: Any) -> None:
        for partition in partitions:
            self._pending.pop(partition, None)


async def commit_done(consumer: Any, tracker: OffsetTracker) -> None:
    """Commit each partition's done prefix. A commit refused because the group rebalanced (e.g.
    this member was dropped across a broker restart) is not fatal: whoever holds the partitions
    now reads them again from the last commit, and the ledger keeps that from sending twice."""
    if not (ready := tracker.committable()):
        return
    try:
        await consumer.commit(ready)
    except CommitFailedError:
        log.warning(
            "commit refused after a group rebalance; records since the last commit will be read again"
        )
