"""Poison records: what a broken or hostile producer could write straight to a consumed topic.

Each comes with the words its dead letter's reason must contain.
"""

from dataclasses import dataclass

import orjson

from shared.codec import encode
from shared.events import Envelope


@dataclass(frozen=True)
class Poison:
    name: str
    value: bytes
    key: bytes | None
    reason: str  # a fragment of the dead letter's reason


def poison_records(valid: Envelope, key: bytes) -> list[Poison]:
    """Garbage bytes, an unknown event type, schema version 99 and a record without a key.

    `valid` is an event the consumer would process; the last three are built from it so that only
    the one broken thing differs.
    """
    body = orjson.loads(encode(valid))
    return [
        Poison("garbage bytes", b"\x00\xffnot json at all\x80", key, "not JSON"),
        Poison(
            "unknown event type",
            orjson.dumps({**body, "event_type": "lab-result"}),
            key,
            "unknown event_type",
        ),
        Poison("schema version 99", orjson.dumps({**body, "schema_version": 99}), key, "99"),
        Poison("missing key", encode(valid), None, "key"),
    ]
