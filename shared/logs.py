"""Structured JSON logs. Patient identifiers never go in a log line: log keys and ids, not people.

Log lines also carry what senders chose (MSH-4, MSH-10, JSON element names in an issue's path), so
every line is made safe here, whatever the caller passed:
- control and line-separator characters (C0, C1, U+2028, U+2029) become spaces;
- runs of ten digits shaped like an NHS number (`9434765919`, `943 476 5919`, `943-476-5919`) are
  masked, in case a sender put one where an id belongs;
- each string is capped (`MAX_FIELD_CHARS`, the message `MAX_MESSAGE_CHARS`, a traceback
  `MAX_EXC_CHARS`), lists and mappings at `MAX_ITEMS`, and the whole line at `MAX_LINE_CHARS`;
- warnings and errors repeating one message are rate-limited per logger and message: at most
  `burst` in each `window` seconds, the next one after a pause says how many were left out (so an
  accept-error storm at the file-descriptor limit cannot flood the log; docs/history.md, H10).
"""

import logging
import re
import sys
import time
from collections.abc import Callable
from typing import Any

import orjson

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}

MAX_FIELD_CHARS = 256
MAX_MESSAGE_CHARS = 1024
MAX_EXC_CHARS = 8192
MAX_ITEMS = 20
MAX_DEPTH = 3
MAX_LINE_CHARS = 16_384

_UNSAFE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_UNSAFE_KEEPING_NEWLINES = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029]")
_NHS_NUMBER_SHAPED = re.compile(r"(?<![0-9A-Za-z])\d{3}([ -]?)\d{3}\1\d{4}(?![0-9A-Za-z])")
MASK = "<10 digits>"


def clean_text(text: str, limit: int = MAX_FIELD_CHARS, *, keep_newlines: bool = False) -> str:
    """`text` safe for one log field: no control or line-separator characters, NHS-number-shaped
    digit runs masked, at most `limit` characters (a cut is marked with `...`)."""
    if len(text) > limit * 2:  # no need to scan what will be cut
        text = text[: limit * 2]
    text = (_UNSAFE_KEEPING_NEWLINES if keep_newlines else _UNSAFE).sub(" ", text)
    text = _NHS_NUMBER_SHAPED.sub(MASK, text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def clean_value(value: Any, depth: int = 0) -> Any:
    """A log field's value made safe: strings cleaned, containers capped in size and depth."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return clean_text(value)
    if depth >= MAX_DEPTH:
        return clean_text(str(value))
    if isinstance(value, dict):
        items = list(value.items())
        cleaned = {
            clean_text(str(key), 64): clean_value(item, depth + 1)
            for key, item in items[:MAX_ITEMS]
        }
        if len(items) > MAX_ITEMS:
            cleaned["..."] = f"{len(items) - MAX_ITEMS} more"
        return cleaned
    if isinstance(value, (list, tuple, set, frozenset)):
        members = list(value)
        listed = [clean_value(item, depth + 1) for item in members[:MAX_ITEMS]]
        if len(members) > MAX_ITEMS:
            listed.append(f"... {len(members) - MAX_ITEMS} more")
        return listed
    return clean_text(str(value))


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": clean_text(record.name),
            "msg": clean_text(record.getMessage(), MAX_MESSAGE_CHARS),
        }
        extras = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        entry.update((clean_text(k, 64), clean_value(v)) for k, v in extras.items())
        if record.exc_info:
            # the end of a traceback says what failed; its start is the same for every request
            text = self.formatException(record.exc_info)[-MAX_EXC_CHARS:]
            entry["exc"] = clean_text(text, MAX_EXC_CHARS, keep_newlines=True)
        line = orjson.dumps(entry, default=str).decode()
        if len(line) <= MAX_LINE_CHARS:
            return line
        core = {key: entry[key] for key in ("ts", "level", "service", "logger", "msg")}
        core["exc"] = str(entry.get("exc", ""))[-2048:] or None
        core["truncated"] = {"chars": len(line), "fields_left_out": sorted(extras)[:MAX_ITEMS]}
        return orjson.dumps(core).decode()[:MAX_LINE_CHARS]


class RepeatLimit(logging.Filter):
    """At most `burst` records at WARNING or above per (logger, message template) in each
    `window` seconds; the first one let through after a pause carries `suppressed`: how many of
    its kind were left out. INFO and below pass: they follow requests, which are bounded elsewhere."""

    def __init__(
        self,
        burst: int = 10,
        window: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        max_kinds: int = 1000,
    ) -> None:
        super().__init__()
        self.burst = burst
        self.window = window
        self.clock = clock
        self.max_kinds = max_kinds
        self._kinds: dict[
            tuple[str, int, str], list[float | int]
        ] = {}  # [window start, sent, left out]

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        now = self.clock()
        kind = (record.name, record.levelno, str(record.msg))
        counts = self._kinds.get(kind)
        if counts is None:
            if len(self._kinds) >= self.max_kinds:
                self._kinds.clear()
            counts = self._kinds[kind] = [now, 0, 0]
        if now - counts[0] >= self.window:
            if counts[2]:
                record.suppressed = int(counts[2])
            counts[:] = [now, 0, 0]
        if counts[1] >= self.burst:
            counts[2] += 1
            return False
        counts[1] += 1
        return True


class RetriedNotFailed(logging.Filter):
    """aiokafka logs at ERROR a coordinator that is not available yet, and then retries until
    it is: on a fresh broker the first consumer group always meets it, while the broker creates
    its offsets topic. A normal start must show no ERROR, so those records become WARNINGs; an
    outage that lasts still shows, in readiness and in the lag metrics."""

    RETRIED = ("GroupCoordinatorNotAvailableError", "CoordinatorLoadInProgressError")

    def filter(self, record: logging.LogRecord) -> bool:
        if (
            record.levelno == logging.ERROR
            and record.name == "aiokafka.consumer.group_coordinator"
            and str(record.msg).startswith("Group Coordinator Request failed")
            and any(name in repr(record.args) for name in self.RETRIED)
        ):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def configure_logging(service: str, level: str = "INFO") -> None:
    """One JSON line per record on stderr. Use `extra={"correlation_id": ...}` for context."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    handler.addFilter(RetriedNotFailed())
    handler.addFilter(RepeatLimit())
    logging.Formatter.converter = time.gmtime
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
