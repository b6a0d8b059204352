"""A recording publisher for unit tests of the ingest shell (no Kafka in the unit tier)."""

from collections.abc import Sequence

from services.ingest.errors import BrokerUnavailable


class RecordingPublisher:
    def __init__(self, *, available: bool = True) -> None:
        self.available = available
        self.sent: list[tuple[str, bytes, bytes]] = []
        self.started = False
        self.stopped = False

    async def start(self) -> None:
        self.started = True

    async def stop(self) -> None:
        self.stopped = True

    async def ready(self) -> bool:
        return self.started and self.available

    async def publish(self, topic: str, messages: Sequence[tuple[bytes, bytes]]) -> None:
        if not self.available:
            raise BrokerUnavailable("the test broker is down")
        self.sent.extend((topic, key, value) for key, value in messages)
