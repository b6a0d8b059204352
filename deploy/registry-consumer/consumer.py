"""An example registry consumer: reads rmbc.registry-records.v2 and keeps what a registry would hold.

It shows how a downstream system uses the contract: decode the v2 record, apply
submit / amend / withdraw, store, and only then commit the offset (at-least-once; applying a
record twice is harmless). Every record received is appended to `records.jsonl`; the current
holdings, one per episode, are rewritten atomically to `current.json`, each with its state in
words: proposed by rmbc's rules, or agreed (or not confirmed) at MDT by whom and when, and any
rules revision held for the MDT (registry_ledger.py). Each record received is printed as one line
with that state (episode id and state, no patient identifier). A message it cannot decode goes to
the dead-letter topic with the reason. Run it from the rmbc image:

    python /opt/rmbc-examples/registry-consumer/consumer.py

Environment: KAFKA_* (bootstrap servers, security), RMBC_TOPIC_REGISTRY_RECORDS_V2,
RMBC_TOPIC_DEAD_LETTER, RMBC_REGISTRY_CONSUMER_GROUP_ID, RMBC_REGISTRY_CONSUMER_DATA_DIR,
RMBC_REGISTRY_CONSUMER_HEARTBEAT_FILE (touched after every poll; the container healthcheck
reads its age).
"""

import asyncio
import logging
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from pydantic import ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from registry_ledger import Holding, apply, state, summary

from shared.codec import encode
from shared.dead_letter import dead_letter_for_record
from shared.events import RegistryRecordV2
from shared.logs import configure_logging
from shared.settings import KafkaSettings
from shared.topics import TopicNames

SERVICE = "registry-consumer"
log = logging.getLogger(SERVICE)


class RegistryConsumerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RMBC_REGISTRY_CONSUMER_", frozen=True)

    group_id: str = "rmbc-registry-consumer"
    data_dir: Path = Path("/var/lib/rmbc/registry")
    heartbeat_file: Path = Path("/tmp/registry-consumer.alive")


class RecordStore:
    """The received log and the current holdings, on local disk."""

    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.log_file = data_dir / "records.jsonl"
        self.current_file = data_dir / "current.json"
        self.held: dict[str, Holding] = {}
        if self.current_file.exists():
            stored = orjson.loads(self.current_file.read_bytes())
            self.held = {k: _holding(v) for k, v in stored.items()}

    def save(self, records: list[RegistryRecordV2]) -> list[str]:
        """Store the records; one line per record: its episode and the episode's state after it."""
        lines = []
        with self.log_file.open("ab") as received:
            for record in records:
                received.write(encode(record) + b"\n")
                self.held = apply(self.held, record)
                lines.append(f"episode {record.flag_id}: {state(self.held[record.flag_id])}")
            received.flush()
            os.fsync(received.fileno())
        current = {k: _stored(v) for k, v in self.held.items()}
        partial = self.current_file.with_suffix(".tmp")
        partial.write_bytes(orjson.dumps(current, option=orjson.OPT_INDENT_2))
        os.replace(partial, self.current_file)
        return lines


def _stored(holding: Holding) -> dict[str, object]:
    held = holding.held_for_mdt
    return {
        "state": state(holding),
        "provenance": holding.record.provenance,
        "withdrawn": holding.withdrawn,
        "record": holding.record.model_dump(mode="json"),
        "held_for_mdt": held.model_dump(mode="json") if held is not None else None,
    }


def _holding(stored: dict[str, object]) -> Holding:
    held = stored["held_for_mdt"]
    return Holding(
        RegistryRecordV2.model_validate(stored["record"]),
        RegistryRecordV2.model_validate(held) if held is not None else None,
    )


async def consume(
    kafka: KafkaSettings, topics: TopicNames, settings: RegistryConsumerSettings
) -> None:
    store = RecordStore(settings.data_dir)
    consumer = AIOKafkaConsumer(
        topics.registry_records_v2,
        group_id=settings.group_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **kafka.aiokafka_options(),
    )
    producer = AIOKafkaProducer(acks="all", enable_idempotence=True, **kafka.aiokafka_options())
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    await producer.start()
    await consumer.start()
    try:
        while not stopping.is_set():
            batches = await consumer.getmany(timeout_ms=1000)
            for batch in batches.values():
                records = [await _decoded_or_dead_lettered(r, producer, topics) for r in batch]
                for line in store.save([r for r in records if r is not None]):
                    print(line, flush=True)
            if batches:
                await consumer.commit()
                log.info("registry holdings", extra={"held": summary(store.held)})
            settings.heartbeat_file.touch()
    finally:
        await consumer.stop()
        await producer.stop()


async def _decoded_or_dead_lettered(
    record: ConsumerRecord[bytes, bytes], producer: AIOKafkaProducer, topics: TopicNames
) -> RegistryRecordV2 | None:
    try:
        return RegistryRecordV2.model_validate_json(record.value or b"")
    except ValidationError as error:
        reason = f"not a v2 registry record: {error.errors()[0]['msg']}"
        letter = dead_letter_for_record(
            record, service=SERVICE, reason=reason, now=datetime.now(UTC)
        )
        await producer.send_and_wait(topics.dead_letter, encode(letter), key=record.key)
        log.warning(
            "dead-lettered an undecodable registry record",
            extra={"partition": record.partition, "offset": record.offset, "reason": reason},
        )
        return None


def main(argv: list[str]) -> int:
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    configure_logging(SERVICE)
    asyncio.run(consume(KafkaSettings(), TopicNames(), RegistryConsumerSettings()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
