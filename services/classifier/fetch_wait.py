"""A shorter consumer fetch wait for the faust worker.

faust-streaming 0.15.3 builds its aiokafka consumer with `fetch_max_wait_ms=1500`, not configurable.
aiokafka keeps one fetch in flight per broker and leaves out partitions that still have records
buffered, so while the stream works through one partition's records the fetch in flight may name
only partitions with nothing new (other input partitions, the table's changelog): the broker holds
it for the full wait, and the next records of the busy partition cannot be fetched until it
returns. Measured: the stream stalled about 1.3 s at a time, in a backlog and in live traffic.
"""

from typing import Any

import faust
from faust.transport.drivers import aiokafka as driver


def shorten_fetch_wait(app: faust.App, wait_ms: int) -> None:
    """Make the app's worker consumer wait at most `wait_ms` for a fetch; call before it starts."""

    class ConsumerThread(driver.AIOKafkaConsumerThread):
        def _create_worker_consumer(self, transport: Any) -> Any:
            consumer = super()._create_worker_consumer(transport)
            consumer._fetch_max_wait_ms = wait_ms  # read when the consumer starts
            return consumer

    class Consumer(driver.Consumer):
        def _new_consumer_thread(self) -> Any:
            return ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    app.transport.Consumer = Consumer  # type: ignore[misc]  # this app only, not the class
