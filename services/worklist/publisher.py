"""Writes a person's review to `rmbc.reviews.v1` and waits until Kafka has it (acks=all).

Keyed by patient key, as the contract says, so a patient's reviews stay in order. Idempotent
producer: a retried send is written once.
"""

from typing import Protocol

from aiokafka import AIOKafkaProducer

from shared.codec import encode
from shared.events import ReviewEvent
from shared.settings import KafkaSettings


class ReviewSink(Protocol):
    async def publish(self, review: ReviewEvent) -> None:
        """Return only once the review is durably stored; raise otherwise."""


class KafkaReviews:
    def __init__(self, kafka: KafkaSettings, topic: str) -> None:
        self._topic = topic
        self._producer = AIOKafkaProducer(
            **kafka.aiokafka_options(), acks="all", enable_idempotence=True
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, review: ReviewEvent) -> None:
        await self._producer.send_and_wait(
            self._topic, encode(review), key=review.patient_key.encode()
        )
