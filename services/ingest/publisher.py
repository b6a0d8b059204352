"""Publishing events to Kafka: answer only after the broker acknowledged every one of them.

Also how large one message may be: the clinical-events topic's `max.message.bytes`, read from the
broker each time the producer connects (for a topic not created yet, the broker's
`message.max.bytes`, which an auto-created topic gets; Kafka's documented default, 1,048,588
bytes, until then). Ingest refuses a larger event with 413 / AR itself; the broker's refusal
would look like an outage (503). A limit lowered on a running topic is seen at the next start.
"""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError

from services.ingest.errors import BrokerUnavailable
from shared.settings import KafkaSettings

log = logging.getLogger(__name__)

DOCUMENTED_MAX_MESSAGE_BYTES = 1_048_588  # Kafka's default message.max.bytes / max.message.bytes
# a record batch's header (61 bytes) and one record's framing (lengths, offsets, attributes)
RECORD_OVERHEAD_BYTES = 128
MAX_BATCH_BYTES = 512 * 1024


def fits(key: bytes, value: bytes, max_message_bytes: int) -> bool:
    """Whether one record, alone in its batch, is within the topic's max.message.bytes."""
    return len(key) + len(value) + RECORD_OVERHEAD_BYTES <= max_message_bytes


async def topic_message_limit(settings: KafkaSettings, topic: str) -> int:
    """The topic's max.message.bytes; for a topic not created yet, the broker's
    message.max.bytes, which an auto-created topic gets; else Kafka's documented default."""
    admin = AIOKafkaAdminClient(**settings.aiokafka_options())
    await admin.start()
    try:
        limit = _config_value(
            await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, topic, {"max.message.bytes": None})]
            ),
            "max.message.bytes",
        )
        if limit is None:
            brokers = (await admin.describe_cluster())["brokers"]
            if brokers:
                broker = str(brokers[0]["node_id"])
                wanted = {"message.max.bytes": None}
                limit = _config_value(
                    await admin.describe_configs(
                        [ConfigResource(ConfigResourceType.BROKER, broker, wanted)]
                    ),
                    "message.max.bytes",
                )
    finally:
        await admin.close()
    return DOCUMENTED_MAX_MESSAGE_BYTES if limit is None else limit


def _config_value(responses: list[Any], name: str) -> int | None:
    for response in responses:
        for error_code, _message, _type, _name, entries in response.resources:
            for entry in entries if error_code == 0 else ():
                if entry[0] == name and str(entry[1]).isdigit():
                    return int(entry[1])
    return None


class Publisher(Protocol):
    async def publish(self, topic: str, messages: Sequence[tuple[bytes, bytes]]) -> None:
        """Send (key, value) pairs; return once all are acknowledged, else BrokerUnavailable."""
        ...


class ManagedPublisher(Publisher, Protocol):
    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def ready(self) -> bool: ...


class KafkaPublisher:
    """An idempotent aiokafka producer with acks=all. Every wait is bounded by `timeout` seconds.

    `start()` returns at once and keeps trying to connect in the background, so the HTTP side can
    answer 503 (and /readyz can say not ready) while Kafka is away, instead of not starting at all.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        *,
        timeout: float = 3.0,
        reconnect_every: float = 2.0,
        before_ready: Callable[[], Awaitable[object]] | None = None,
        limit_topic: str | None = None,
    ) -> None:
        self.settings = settings
        self.timeout = timeout
        self.reconnect_every = reconnect_every
        # runs once connected and before the first publish is allowed (e.g. loading state that
        # decides how events are keyed); until it has succeeded, publish answers BrokerUnavailable
        self.before_ready = before_ready
        # the topic whose max.message.bytes bounds each message (read on connecting)
        self.limit_topic = limit_topic
        self.max_message_bytes = DOCUMENTED_MAX_MESSAGE_BYTES
        self._producer: AIOKafkaProducer | None = None
        self._connecting: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._connecting = asyncio.create_task(self._connect_until_done())

    async def stop(self) -> None:
        if self._connecting is not None:
            self._connecting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._connecting
        if self._producer is not None:
            producer, self._producer = self._producer, None
            await producer.stop()  # flushes what is pending

    async def wait_connected(self, timeout: float) -> bool:
        """For callers (and tests) that want the first connection before going on."""
        if self._connecting is None:
            return False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._connecting), timeout)
        return self._producer is not None

    async def ready(self) -> bool:
        if self._producer is None:
            return False
        try:
            await asyncio.wait_for(self._producer.client.fetch_all_metadata(), self.timeout)
        except (TimeoutError, KafkaError, OSError):
            return False
        return True

    async def publish(self, topic: str, messages: Sequence[tuple[bytes, bytes]]) -> None:
        producer = self._producer
        if producer is None:
            raise BrokerUnavailable("not connected to Kafka")
        try:
            async with asyncio.timeout(self.timeout):
                pending = [await producer.send(topic, value, key=key) for key, value in messages]
                await asyncio.gather(*pending)
        except TimeoutError:
            raise BrokerUnavailable(f"Kafka did not acknowledge within {self.timeout}s") from None
        except KafkaError as error:
            raise BrokerUnavailable(f"Kafka refused the write: {type(error).__name__}") from None

    async def _connect_until_done(self) -> None:
        while True:
            try:
                if self.limit_topic is not None:
                    self.max_message_bytes = await asyncio.wait_for(
                        topic_message_limit(self.settings, self.limit_topic), self.timeout * 2
                    )
            except (TimeoutError, KafkaError, OSError) as error:
                log.warning("kafka not reachable, retrying", extra={"error": type(error).__name__})
                await asyncio.sleep(self.reconnect_every)
                continue
            producer = AIOKafkaProducer(
                **self.settings.aiokafka_options(),
                acks="all",
                enable_idempotence=True,
                request_timeout_ms=int(self.timeout * 1000),
                # a Bundle's events leave in one or two produce requests instead of one per 16 KiB;
                # a batch of several records stays within the topic's limit too
                max_batch_size=min(MAX_BATCH_BYTES, self.max_message_bytes - RECORD_OVERHEAD_BYTES),
                # ingest checks each record against the topic's limit (`fits`) before sending
                max_request_size=self.max_message_bytes,
            )
            try:
                await asyncio.wait_for(producer.start(), self.timeout * 2)
                if self.before_ready is not None:
                    await self.before_ready()
            except (TimeoutError, KafkaError, OSError) as error:
                log.warning("kafka not reachable, retrying", extra={"error": type(error).__name__})
                await producer.stop()
                await asyncio.sleep(self.reconnect_every)
                continue
            self._producer = producer
            log.info(
                "kafka producer connected", extra={"max_message_bytes": self.max_message_bytes}
            )
            return
