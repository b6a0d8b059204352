"""An example registry consumer: reads rmbc.registry-records.v1 and keeps what a registry would hold.

It shows how a downstream system uses the contract: decode with `shared.codec`, apply
submit / amend / withdraw, store, and only then commit the offset (at-least-once; applying a
record twice is harmless). Every record received is appended to `records.jsonl`; the current
holdings, one record per episode, are rewritten atomically to `current.json`. A message it
cannot decode goes to the dead-letter topic with the reason. Run it from the rmbc image:

    python /opt/rmbc-examples/registry-consumer/consumer.py

Environment: KAFKA_* (bootstrap servers, security), RMBC_TOPIC_REGISTRY_RECORDS,
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
from pydantic_settings import BaseSettings, SettingsConfigDict
from registry_ledger import apply, summary

from shared.codec import UndecodableEvent, decode_as, encode
from shared.dead_letter import dead_letter_for_record
from shared.events import RegistryRecord
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
        self.held: dict[str, RegistryRecord] = {}
        if self.current_file.exists():
            stored = orjson.loads(self.current_file.read_bytes())
            self.held = {k: RegistryRecord.model_validate(v) for k, v in stored.items()}

    def save(self, records: list[RegistryRecord]) -> None:
        with self.log_file.open("ab") as received:
            for record in records:
                received.write(encode(record) + b"\n")
                self.held = apply(self.held, record)
            received.flush()
            os.fsync(received.fileno())
        current = {k: v.model_dump(mode="json") for k, v in self.held.items()}
        partial = self.current_file.with_suffix(".tmp")
        partial.write_bytes(orjson.dumps(current, option=orjson.OPT_INDENT_2))
        os.replace(partial, self.current_file)


async def consume(
    kafka: KafkaSettings, topics: TopicNames, settings: RegistryConsumerSettings
) -> None:
    store = RecordStore(settings.data_dir)
    consumer = AIOKafkaConsumer(
        topics.registry_records,
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
                store.save([r for r in records if r is not None])
            if batches:
                await consumer.commit()
                log.info("registry holdings", extra={"held": summary(store.held)})
            settings.heartbeat_file.touch()
    finally:
        await consumer.stop()
        await producer.stop()


async def _decoded_or_dead_lettered(
    record: ConsumerRecord[bytes, bytes], producer: AIOKafkaProducer, topics: TopicNames
) -> RegistryRecord | None:
    try:
        return decode_as(record.value, RegistryRecord)
    except UndecodableEvent as error:
        letter = dead_letter_for_record(
            record, service=SERVICE, reason=str(error), now=datetime.now(UTC)
        )
        await producer.send_and_wait(topics.dead_letter, encode(letter), key=record.key)
        log.warning(
            "dead-lettered an undecodable registry record",
            extra={"partition": record.partition, "offset": record.offset, "reason": str(error)},
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
