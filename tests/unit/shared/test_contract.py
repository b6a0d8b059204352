"""Each event model's JSON schema must equal its committed snapshot: a breaking change cannot slip in.

An intended, additive change: `RMBC_UPDATE_SNAPSHOTS=1 pytest tests/unit/shared` and commit the diff.
"""

import json
import os
from pathlib import Path

import pytest

from shared.events import EVENT_TYPES

SNAPSHOTS = Path(__file__).parent / "schemas"


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_event_schema_matches_committed_snapshot(event_type: str) -> None:
    schema = EVENT_TYPES[event_type].model_json_schema()
    snapshot = SNAPSHOTS / f"{event_type}.v1.json"
    rendered = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    if os.environ.get("RMBC_UPDATE_SNAPSHOTS"):
        SNAPSHOTS.mkdir(exist_ok=True)
        snapshot.write_text(rendered)
    assert snapshot.exists(), f"no snapshot for {event_type}: run with RMBC_UPDATE_SNAPSHOTS=1"
    assert json.loads(snapshot.read_text()) == schema, (
        f"{event_type} schema changed: additive changes only within v1; "
        "update the snapshot on purpose, or make a .v2 topic for a breaking change"
    )


def test_every_event_type_has_a_snapshot_and_no_snapshot_is_orphaned() -> None:
    committed = {path.name.removesuffix(".v1.json") for path in SNAPSHOTS.glob("*.v1.json")}
    assert committed == set(EVENT_TYPES)
