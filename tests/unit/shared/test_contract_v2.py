"""The v2 registry record's JSON schema must equal its committed snapshot (the v1 rule, for v2)."""

import json
import os
from pathlib import Path

from shared.events import RegistryRecordV2

SNAPSHOT = Path(__file__).parent / "schemas" / "registry-record.v2.json"


def test_registry_record_v2_schema_matches_committed_snapshot() -> None:
    schema = RegistryRecordV2.model_json_schema()
    if os.environ.get("RMBC_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
    assert json.loads(SNAPSHOT.read_text()) == schema, (
        "registry-record v2 schema changed: additive changes only within v2"
    )
