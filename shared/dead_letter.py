"""Building the dead-letter event for a record a service could not process."""

import base64
from datetime import datetime
from typing import Any

from shared.events import DeadLetter, stable_id


def dead_letter_for(
    *,
    service: str,
    reason: str,
    value: bytes | None,
    key: bytes | None,
    topic: str | None,
    partition: int | None,
    offset: int | None,
    now: datetime,
    occurred_at: datetime | None = None,
    correlation_id: str | None = None,
) -> DeadLetter:
    """The original bytes with where they came from and why they failed. Deterministic id."""
    where = f"{topic}/{partition}/{offset}" if topic is not None else stable_id(repr(value))
    return DeadLetter(
        event_id=stable_id("dead-letter", service, where, reason),
        occurred_at=occurred_at or now,
        recorded_at=now,
        source=service,
        correlation_id=correlation_id or where,
        service=service,
        reason=reason,
        original_topic=topic,
        original_partition=partition,
        original_offset=offset,
        original_key=base64.b64encode(key).decode() if key is not None else None,
        original_value=base64.b64encode(value or b"").decode(),
    )


def dead_letter_for_record(record: Any, *, service: str, reason: str, now: datetime) -> DeadLetter:
    """For an aiokafka ConsumerRecord (or anything with topic/partition/offset/key/value)."""
    return dead_letter_for(
        service=service,
        reason=reason,
        value=record.value,
        key=record.key,
        topic=record.topic,
        partition=record.partition,
        offset=record.offset,
        now=now,
    )
