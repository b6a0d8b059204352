"""Publishing events to Kafka: answer only after the broker acknowledged every one of them."""

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from services.ingest.errors import BrokerUnavailable
from shared.settings import KafkaSettings

log = logging.getLogger(__name__)


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
    ) -> None:
        self.settings = settings
        self.timeout = timeout
        self.reconnect_every = reconnect_every
        # runs once connected and before the first publish is allowed (e.g. loading state that
        # decides how events are keyed); until it has succeeded, publish answers BrokerUnavailable
        self.before_ready = before_ready
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
            producer = AIOKafkaProducer(
                **self.settings.aiokafka_options(),
                acks="all",
                enable_idempotence=True,
                request_timeout_ms=int(self.timeout * 1000),
                # a Bundle's events leave in one or two produce requests instead of one per 16 KiB
                max_batch_size=512 * 1024,
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
            log.info("kafka producer connected")
            return
