"""The example registry consumer (deploy/registry-consumer/consumer.py) run as its image runs it,
against a real broker: it stores and prints each episode as proposed by rules or agreed at MDT."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import orjson

from shared.codec import encode
from tests.support.kafka import produce
from tests.unit.registry.records import record
from tests.unit.registry.reviews import agreed_record

CONSUMER = Path(__file__).resolve().parents[3] / "deploy" / "registry-consumer" / "consumer.py"
DEADLINE_SECONDS = 30.0


def printed_lines(env: dict[str, str], folder: Path, count: int) -> list[str]:
    """Run the consumer until it printed `count` lines (deadline), then stop it as a pod stops."""
    printed = folder / "printed.txt"
    with printed.open("wb") as out, (folder / "log.txt").open("wb") as err:
        consumer = subprocess.Popen(
            [sys.executable, str(CONSUMER)], env=env, stdout=out, stderr=err
        )
        try:
            deadline = time.monotonic() + DEADLINE_SECONDS
            while time.monotonic() < deadline:
                lines = printed.read_text().splitlines()
                if len(lines) >= count:
                    return lines
                time.sleep(0.1)
            raise AssertionError(f"{count} line(s) not printed within {DEADLINE_SECONDS}s")
        finally:
            consumer.send_signal(signal.SIGTERM)
            consumer.wait(timeout=DEADLINE_SECONDS)


async def test_the_consumer_stores_and_prints_a_proposed_and_an_agreed_episode(
    kafka_settings, topics, tmp_path
):
    proposed, other = record(), record(key="9434765846")
    for event in (proposed, other, agreed_record(proposed)):
        await produce(kafka_settings, topics.registry_records_v2, encode(event), None)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RMBC_", "KAFKA_"))}
    env |= {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "RMBC_TOPIC_REGISTRY_RECORDS_V2": topics.registry_records_v2,
        "RMBC_TOPIC_DEAD_LETTER": topics.dead_letter,
        "RMBC_REGISTRY_CONSUMER_GROUP_ID": f"registry-{topics.registry_records_v2}",
        "RMBC_REGISTRY_CONSUMER_DATA_DIR": str(tmp_path / "registry"),
        "RMBC_REGISTRY_CONSUMER_HEARTBEAT_FILE": str(tmp_path / "alive"),
    }
    lines = await asyncio.to_thread(printed_lines, env, tmp_path, 3)

    assert lines == [
        f"episode {proposed.flag_id}: proposed by rmbc's rules",
        f"episode {other.flag_id}: proposed by rmbc's rules",
        f"episode {proposed.flag_id}: agreed at MDT by Priya Shah (mdt_coordinator, RX1) "
        "on 2026-11-12T14:30:00+00:00",
    ]
    stored = orjson.loads((tmp_path / "registry" / "current.json").read_bytes())
    assert {flag_id: holding["provenance"] for flag_id, holding in stored.items()} == {
        proposed.flag_id: "agreed",
        other.flag_id: "proposed",
    }
    assert stored[proposed.flag_id]["record"]["agreed_by"]["name"] == "Priya Shah"
