"""`rmbc registry agree`: the registry agreement's Kafka shell and composition root.

On every start it reads rmbc.reviews.v1 and rmbc.registry-records.v2 from the beginning to their
ends, so the pure core (services/registry/agreement.py) knows every episode's latest proposed
record, the MDT's latest decision and which agreed records are already on the topic; only then
does it publish what is missing, and after that it follows both topics. Each agreed record goes to
rmbc.registry-records.v2 keyed by the patient key (acks=all) and is marked published at once, so
it is never due again; read back, it takes its place in the topic's order, and a restart, which
reads it back, never records it again.

What it cannot use goes to rmbc.dead-letter.v1 with the reason when first met while following:
an unreadable record, a decision no MDT coordinator made, a confirmation without agreed values,
a decision for another trust's episode. Met again while catching up after a restart, it is only
counted (it was dead-lettered when first met; the review itself stays on its topic).
"""

import argparse
import asyncio
import logging
import signal
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pydantic import ValidationError

from services.registry.agreement import Agreement, Refusal
from shared.admin import existing_partitions, read_and_follow
from shared.codec import UndecodableEvent, decode_as, encode
from shared.dead_letter import dead_letter_for_record
from shared.events import RegistryRecordV2, ReviewEvent
from shared.logs import configure_logging
from shared.settings import KafkaSettings
from shared.topics import TopicNames

SERVICE = "registry-agreement"
log = logging.getLogger("services.registry.agreement")


def utc_now() -> datetime:
    return datetime.now(UTC)


class AgreementProcess:
    def __init__(
        self,
        kafka: KafkaSettings,
        topics: TopicNames,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.kafka = kafka
        self.topics = topics
        self.clock = clock
        self.agreement = Agreement()
        self.counts: Counter[str] = Counter()
        self.ready = asyncio.Event()  # set once both topics were read to their ends
        self._producer: AIOKafkaProducer | None = None
        self._decisions: dict[str, Any] = {}  # flag id -> the decision's record, met live

    async def run(self, stop: asyncio.Event) -> None:
        partitions = await existing_partitions(
            self.kafka, self.topics.reviews, self.topics.registry_records_v2
        )
        self._producer = AIOKafkaProducer(
            **self.kafka.aiokafka_options(), acks="all", enable_idempotence=True
        )
        consumer = AIOKafkaConsumer(
            **self.kafka.aiokafka_options(), group_id=None, enable_auto_commit=False
        )
        await self._producer.start()
        await consumer.start()
        try:
            touched: set[str] = set()
            async for followed in read_and_follow(consumer, partitions, stop):
                for record, live in followed.records:
                    flag_id = await self._hear(record, live=live)
                    if flag_id is not None:
                        touched.add(flag_id)
                if not followed.caught_up:
                    continue
                if not self.ready.is_set():
                    touched = set(self.agreement.flag_ids())  # every episode, once
                for flag_id in sorted(touched):
                    await self._record_due(flag_id)
                touched.clear()
                if not self.ready.is_set():
                    self.ready.set()
                    log.info("registry agreement caught up", extra=self._summary())
        finally:
            self.ready.clear()
            await consumer.stop()
            await self._producer.stop()

    async def _hear(self, record: Any, *, live: bool) -> str | None:
        """Take one record into the state; the flag id it concerns, or None."""
        try:
            if record.topic == self.topics.reviews:
                review = decode_as(record.value, ReviewEvent)
            else:
                return self._hear_record(_registry_record(record.value))
        except UndecodableEvent as error:
            await self._refuse(record, f"unreadable: {error}", live=live)
            return None
        refusal = self.agreement.hear_review(review)
        if refusal is not None:
            await self._refuse(record, refusal.reason, live=live)
            return None
        if live and review.action in ("confirmed", "not_confirmed"):
            self._decisions[review.flag_id] = record
        return review.flag_id

    def _hear_record(self, registry_record: RegistryRecordV2) -> str:
        if self.agreement.hear_record(registry_record):
            self.counts["rules_revised_agreed"] += 1
            log.warning(
                "rmbc's rules revised an agreed episode; the agreed record stands until the MDT "
                "decides again",
                extra={"flag_id": registry_record.flag_id, "record_id": registry_record.record_id},
            )
        return registry_record.flag_id

    async def _record_due(self, flag_id: str) -> None:
        due = self.agreement.due(flag_id, self.clock())
        if isinstance(due, Refusal):
            decision = self._decisions.pop(flag_id, None)
            await self._refuse(decision, due.reason, live=decision is not None)
            return
        if due is None:
            return
        decision = self.agreement.episode(flag_id).decision
        assert decision is not None and self._producer is not None
        await self._producer.send_and_wait(
            self.topics.registry_records_v2, encode(due), key=decision.patient_key.encode()
        )
        self.agreement.published(due)
        self._decisions.pop(flag_id, None)
        self.counts[f"agreed_{due.action}"] += 1
        log.info(
            "agreed registry record published",
            extra={"flag_id": flag_id, "record_id": due.record_id, "action": due.action},
        )

    async def _refuse(self, record: Any, reason: str, *, live: bool) -> None:
        self.counts["refused"] += 1
        if not live or record is None:
            return
        assert self._producer is not None
        letter = dead_letter_for_record(record, service=SERVICE, reason=reason, now=self.clock())
        await self._producer.send_and_wait(self.topics.dead_letter, encode(letter))
        self.counts["dead_lettered"] += 1
        log.error("dead-lettered", extra={"reason": reason[:200], "topic": record.topic})

    def _summary(self) -> dict[str, int]:
        return {**self.counts, "waiting_for_a_proposed_record": self.agreement.waiting()}


def _registry_record(value: bytes | None) -> RegistryRecordV2:
    if value is None:
        raise UndecodableEvent("empty message (tombstone)")
    try:
        return RegistryRecordV2.model_validate_json(value)
    except ValidationError as error:
        raise UndecodableEvent(f"not a v2 registry record: {error.errors()[0]['msg']}") from None


async def serve(kafka: KafkaSettings, topics: TopicNames) -> int:
    process = AgreementProcess(kafka, topics)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await process.run(stop)
    log.info("registry agreement stopped", extra=process._summary())
    return 0


def main(argv: list[str]) -> int:
    argparse.ArgumentParser(
        prog="rmbc registry agree",
        description="Turn MDT decisions on rmbc.reviews.v1 into agreed registry records on "
        "rmbc.registry-records.v2 (KAFKA_* and RMBC_TOPIC_* from the environment).",
    ).parse_args(argv)
    configure_logging(SERVICE)
    return asyncio.run(serve(KafkaSettings(), TopicNames()))
