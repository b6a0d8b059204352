"""`rmbc classifier --redrive`: the classifier's dead letters back onto its input topic, each once.

Reads rmbc.dead-letter.v1 from where the last redrive stopped (a consumer group of its own,
`<app id>-redrive`, committed once every record is re-published and acknowledged), and puts each
original record of the input topic that the classifier dead-lettered back on that topic, key and
value byte for byte, with a header naming the dead letter. The record keeps its event id, so the
classifier meets it as the same event: applying a version again changes nothing and a flag has
the same id, so a redrive repeated after a crash duplicates nothing downstream. A record that fails
again is dead-lettered anew, for the next redrive (after the fix), never in a loop.
"""

import base64
from collections import Counter
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from services.classifier.settings import ClassifierSettings
from shared.admin import read_to_end, topic_partitions
from shared.codec import UndecodableEvent, decode_as
from shared.events import DeadLetter

SERVICE = "classifier"
REDRIVEN_FROM = "rmbc-redriven-from"  # header: the dead letter's event id


def original(letter: DeadLetter, input_topic: str) -> tuple[bytes | None, bytes] | None:
    """The (key, value) to put back on the input topic, or None: not the classifier's, or not read
    from its input topic."""
    if letter.service != SERVICE or letter.original_topic != input_topic:
        return None
    key = base64.b64decode(letter.original_key) if letter.original_key is not None else None
    return key, base64.b64decode(letter.original_value)


async def redrive(settings: ClassifierSettings) -> dict[str, int]:
    """Re-publish the classifier's dead letters not re-driven yet; counts by outcome."""
    kafka = settings.kafka.aiokafka_options()
    topics = settings.topics
    counts: Counter[str] = Counter(read=0, redriven=0, other=0, unreadable=0)
    producer = AIOKafkaProducer(**kafka, acks="all", enable_idempotence=True)
    reader = AIOKafkaConsumer(
        **kafka, group_id=f"{settings.app_id}-redrive", enable_auto_commit=False
    )
    await producer.start()
    await reader.start()
    try:
        partitions = await topic_partitions(settings.kafka, topics.dead_letter)
        sent: list[Any] = []
        async for record in read_to_end(reader, partitions, from_committed=True):
            counts["read"] += 1
            try:
                letter = decode_as(record.value, DeadLetter)
            except UndecodableEvent:
                counts["unreadable"] += 1
                continue
            put_back = original(letter, topics.clinical_events)
            if put_back is None:
                counts["other"] += 1
                continue
            key, value = put_back
            headers = [(REDRIVEN_FROM, letter.event_id.encode())]
            sent.append(
                await producer.send(topics.clinical_events, value, key=key, headers=headers)
            )
            counts["redriven"] += 1
        for acknowledged in sent:
            await acknowledged  # every record on the input topic before the commit
        if partitions:
            await reader.commit({tp: await reader.position(tp) for tp in partitions})
    finally:
        await reader.stop()
        await producer.stop()
    return dict(counts)
