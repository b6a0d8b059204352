"""One encode and one decode for every topic. Decoding fails loudly on anything unexpected."""

from typing import TypeVar

import orjson
from pydantic import ValidationError

from shared.events import EVENT_TYPES, SCHEMA_VERSION, Envelope

E = TypeVar("E", bound=Envelope)


class UndecodableEvent(ValueError):
    """The bytes are not an event this version of rmbc understands; the message says why."""


def encode(event: Envelope) -> bytes:
    """Compact JSON, as orjson writes it (pydantic's own serialiser, in half the time)."""
    return event.model_dump_json().encode()


def decode(data: bytes | None) -> Envelope:
    if data is None:
        raise UndecodableEvent("empty message (tombstone)")
    try:
        raw = orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise UndecodableEvent(f"not JSON: {error}") from None
    if not isinstance(raw, dict):
        raise UndecodableEvent("not a JSON object")
    event_type = raw.get("event_type")
    model = EVENT_TYPES.get(event_type) if isinstance(event_type, str) else None
    if model is None:
        raise UndecodableEvent(f"unknown event_type {event_type!r}")
    version = raw.get("schema_version")
    if version != SCHEMA_VERSION:
        raise UndecodableEvent(f"unsupported schema_version {version!r} for {event_type}")
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        raise UndecodableEvent(f"invalid {event_type}: {_first_errors(error)}") from None


def decode_as(data: bytes | None, model: type[E]) -> E:
    event = decode(data)
    if not isinstance(event, model):
        raise UndecodableEvent(f"expected {model.__name__}, got {type(event).__name__}")
    return event


def _first_errors(error: ValidationError, limit: int = 3) -> str:
    parts = [
        f"{'.'.join(str(p) for p in e['loc']) or '<root>'}: {e['msg']}"
        for e in error.errors()[:limit]
    ]
    return "; ".join(parts)
