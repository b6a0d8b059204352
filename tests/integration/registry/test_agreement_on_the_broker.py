"""`rmbc registry agree` on a real broker: MDT decisions on rmbc.reviews.v1 become agreed records
on rmbc.registry-records.v2, once each, across restarts."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from services.registry.agreement_loop import AgreementProcess
from shared.admin import records_to_end
from shared.codec import decode_as, encode
from shared.events import DeadLetter, RegistryRecordV2
from shared.settings import KafkaSettings
from shared.topics import TopicNames
from tests.support.kafka import produce, read_topic
from tests.unit.registry.records import record
from tests.unit.registry.reviews import review, reviewer

CLOCK = datetime(2026, 11, 12, 15, 0, tzinfo=UTC)
READY_SECONDS = 30.0


@contextlib.asynccontextmanager
async def running(kafka: KafkaSettings, topics: TopicNames) -> AsyncIterator[AgreementProcess]:
    process = AgreementProcess(kafka, topics, clock=lambda: CLOCK)
    stop = asyncio.Event()
    task = asyncio.create_task(process.run(stop))
    ready = asyncio.create_task(process.ready.wait())
    await asyncio.wait({task, ready}, timeout=READY_SECONDS, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # a failure to start shows its own error
    assert process.ready.is_set(), f"not caught up within {READY_SECONDS}s"
    try:
        yield process
    finally:
        stop.set()
        await asyncio.wait_for(task, READY_SECONDS)


async def records_on(
    kafka: KafkaSettings, topics: TopicNames, count: int
) -> list[RegistryRecordV2]:
    found = await read_topic(
        kafka, topics.registry_records_v2, until=lambda records: len(records) >= count
    )
    return [RegistryRecordV2.model_validate_json(r.value) for r in found]


async def every_record(kafka: KafkaSettings, topics: TopicNames) -> list[RegistryRecordV2]:
    """The whole v2 topic up to its end now."""
    return [
        RegistryRecordV2.model_validate_json(r.value)
        async for r in records_to_end(kafka, topics.registry_records_v2)
    ]


async def send(kafka: KafkaSettings, topic: str, event: object, key: str = "9434765919") -> None:
    await produce(kafka, topic, encode(event), key.encode())  # type: ignore[arg-type]


async def test_a_confirmation_is_recorded_once_as_agreed_and_a_restart_records_nothing_again(
    kafka_settings, topics
):
    proposed = record()
    await send(kafka_settings, topics.registry_records_v2, proposed)
    await send(kafka_settings, topics.reviews, review(proposed.flag_id, "confirmed"))

    async with running(kafka_settings, topics):
        _, agreed = await records_on(kafka_settings, topics, 2)
    assert (agreed.action, agreed.provenance, agreed.supersedes) == (
        "amend",
        "agreed",
        proposed.record_id,
    )
    assert agreed.agreed_by is not None and agreed.agreed_by.name == "Priya Shah"

    async with running(kafka_settings, topics) as restarted:
        assert restarted.counts["agreed_amend"] == 0
    assert [r.record_id for r in await every_record(kafka_settings, topics)] == [
        proposed.record_id,
        agreed.record_id,
    ]


async def test_a_rejection_while_running_withdraws_the_agreed_record(kafka_settings, topics):
    proposed = record()
    await send(kafka_settings, topics.registry_records_v2, proposed)
    async with running(kafka_settings, topics):
        await send(kafka_settings, topics.reviews, review(proposed.flag_id, "confirmed", number=1))
        await records_on(kafka_settings, topics, 2)
        await send(
            kafka_settings, topics.reviews, review(proposed.flag_id, "not_confirmed", number=2)
        )
        *_, confirmed, withdrawn = await records_on(kafka_settings, topics, 3)
    assert (withdrawn.action, withdrawn.provenance) == ("withdraw", "agreed")
    assert withdrawn.supersedes == confirmed.record_id


async def test_a_decision_a_cns_recorded_is_dead_lettered_with_its_reason_and_records_nothing(
    kafka_settings, topics
):
    proposed = record()
    await send(kafka_settings, topics.registry_records_v2, proposed)
    async with running(kafka_settings, topics) as process:
        await send(
            kafka_settings,
            topics.reviews,
            review(proposed.flag_id, "confirmed", reviewer=reviewer("cns")),
        )
        await produce(kafka_settings, topics.reviews, b"{not json", b"9434765919")
        letters = await read_topic(
            kafka_settings, topics.dead_letter, until=lambda records: len(records) >= 2
        )
        assert process.counts["refused"] == 2
    reasons = sorted(decode_as(r.value, DeadLetter).reason for r in letters)
    assert reasons[0].startswith("an MDT decision recorded by role cns")
    assert reasons[1].startswith("unreadable: not JSON")
    assert [r.record_id for r in await every_record(kafka_settings, topics)] == [proposed.record_id]
