"""Writes a person's review to `rmbc.reviews.v1` and waits until Kafka has it (acks=all).

Keyed by patient key, as the contract says, so a patient's reviews stay in order. Not the
idempotent producer: aiokafka never expires an idempotent producer's batch but retries it until
the broker is back, so a person would wait without end and the review could be written long after
the page said "not saved". Without it a batch fails after `timeout_seconds`; a retry that wrote a
review twice writes the same `review_id`, which every reader applies once.
"""

from typing import Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from shared.codec import encode
from shared.events import ReviewEvent
from shared.settings import KafkaSettings


class NotStored(RuntimeError):
    """Kafka did not acknowledge the review in time: it may or may not have been written."""


class ReviewSink(Protocol):
    async def publish(self, review: ReviewEvent) -> None:
        """Return only once the review is durably stored; raise `NotStored` otherwise."""


class KafkaReviews:
    def __init__(self, kafka: KafkaSettings, topic: str, timeout_seconds: float) -> None:
        self._topic = topic
        self._producer = AIOKafkaProducer(
            **kafka.aiokafka_options(),
            acks="all",
            enable_idempotence=False,
            request_timeout_ms=int(timeout_seconds * 1000),  # also bounds a batch's delivery
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def publish(self, review: ReviewEvent) -> None:
        try:
            await self._producer.send_and_wait(
                self._topic, encode(review), key=review.patient_key.encode()
            )
        except KafkaError as error:
            raise NotStored(type(error).__name__) from error
