"""How often each consumed record has stopped its worker, kept where the restart finds it.

A worker stops on a record it could not carry through, so that the restart replays it (the broker
may be back by then). When the reason is in the record itself the replay stops it again, for ever,
and no later record of its partitions is read. So each failure not caused by the broker or the
network is counted against the record's topic/partition/offset, in a small JSON file (written to a
temporary file and renamed, so never half written); a record that has stopped the worker `limit`
times is dead-lettered when it is met again, and the worker goes on.

The file lives in the worker's own directory: a container restart keeps it (the classifier's data
volume, the notifier's state directory). A record met by another worker after a rebalance is
counted there afresh, so a record is tried at most `limit` + 1 times per worker that meets it.
"""

import asyncio
import json
import logging
import os
from pathlib import Path
from typing import Any

from aiokafka.errors import (
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)

log = logging.getLogger("rmbc.attempts")
KEPT = 100  # failures remembered; records that failed once and then went through are forgotten
_TOO_LARGE = (MessageSizeTooLargeError, RecordTooLargeError, RecordListTooLargeError)
_TRANSIENT = (KafkaError, ConnectionError, TimeoutError, OSError, asyncio.CancelledError)


def is_transient(error: BaseException) -> bool:
    """A fault of the broker or the network, which a restart may not meet again. A record the
    broker refuses as too large is refused again: that is the record's fault."""
    return isinstance(error, _TRANSIENT) and not isinstance(error, _TOO_LARGE)


def position(record: Any) -> str:
    """Where a consumed record (aiokafka's or faust's message) sits: topic/partition/offset."""
    return f"{record.topic}/{record.partition}/{record.offset}"


class Attempts:
    def __init__(self, path: Path, limit: int) -> None:
        self._path = path
        self._limit = limit
        self._failures: dict[str, list[Any]] = self._read()

    def exhausted(self, where: str) -> str | None:
        """The dead letter's reason when the record at `where` has stopped the worker `limit`
        times; None otherwise (one dictionary look-up, none while nothing has failed)."""
        if not self._failures:
            return None
        failed = self._failures.get(where)
        if failed is None or failed[0] < self._limit:
            return None
        return f"stopped the worker {failed[0]} time(s); last: {failed[1]}"

    def failed(self, where: str, error: BaseException) -> None:
        """Count a failure of the record at `where`, unless the broker or the network caused it."""
        if is_transient(error):
            return
        count = self._failures.pop(where, [0])[0] + 1
        self._failures[where] = [count, f"{type(error).__name__}: {error}"[:500]]
        while len(self._failures) > KEPT:
            del self._failures[next(iter(self._failures))]
        self._write()

    def done(self, where: str) -> None:
        """The record at `where` went through, or was dead-lettered: forget its failures."""
        if self._failures and self._failures.pop(where, None) is not None:
            self._write()

    def _read(self) -> dict[str, list[Any]]:
        try:
            failures = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as error:  # unreadable: counting starts again, said loudly
            log.error("failed attempts not read", extra={"error": type(error).__name__})
            return {}
        return failures if isinstance(failures, dict) else {}

    def _write(self) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self._failures), encoding="utf-8")
        os.replace(temporary, self._path)
