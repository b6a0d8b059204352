"""faust's App as the classifier's worker runs it: no Monitor sensor, none of faust's web views,
no "missing sensor state" warning, and the table recovery watched from the start
(docs/faust-corrections.md)."""

import asyncio
import logging
import time
from typing import Any, ClassVar

import faust
from aiokafka.errors import KafkaError
from faust.web.drivers import aiohttp as aiohttp_web

from services.classifier.stream.corrections.recovery_watch import RecoveryWatch, recovery_progress

RECOVERY_CHECK_SECONDS = 5.0
log = logging.getLogger("rmbc.classifier")


class RecoveryStalled(RuntimeError):
    pass


class NoSensorStateWarning(logging.Filter):
    """faust warns of "missing sensor state" at every rebalance when no sensor is installed, as in
    StreamApp: a warning an operator would learn to ignore, so it is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Missing sensor state for rebalance" not in str(record.msg)


NO_SENSOR_STATE_WARNING = NoSensorStateWarning()  # one instance: a logger adds it only once


class OwnPagesOnly(aiohttp_web.Web):
    """faust's aiohttp web server with none of faust's views: the table and router views answer
    with a patient's stored state, and with the views off faust still serves an index page at
    "/". Only the pages the app adds itself are served; any other path is aiohttp's bare 404."""

    default_blueprints: ClassVar[list[tuple[str, str]]] = []
    production_blueprints: ClassVar[list[tuple[str, str]]] = []
    debug_blueprints: ClassVar[list[tuple[str, str]]] = []
    optional_blueprints: ClassVar[list[tuple[str, str]]] = []


class StreamApp(faust.App):
    """faust's App without its Monitor as a sensor, and with a watch on table recovery.

    The Monitor keeps in-memory statistics for faust's own web views, which the classifier does
    not serve (its /metrics are its own), and as a sensor it is called for every message and
    event. The watch runs from the start, since faust starts an app's own timers only once the
    first recovery has completed."""

    recovery_watch: RecoveryWatch | None = None

    def _new_web(self) -> Any:
        return OwnPagesOnly(self)

    def on_init_dependencies(self) -> Any:
        dependencies = super().on_init_dependencies()  # adds the Monitor to the sensors
        self.sensors.remove(self.monitor)
        # faust logs an app's warnings under the module of the app's class: this one
        logging.getLogger(type(self).__module__).addFilter(NO_SENSOR_STATE_WARNING)
        return dependencies

    async def on_start(self) -> None:
        await super().on_start()
        if self.recovery_watch is not None:
            self.add_future(self._watch_recovery(self.recovery_watch))

    async def _watch_recovery(self, watch: RecoveryWatch) -> None:
        while not self.should_stop:
            await asyncio.sleep(min(RECOVERY_CHECK_SECONDS, watch.read_again_seconds / 2))
            tables: Any = self.tables  # faust's TableManager: more than its declared type
            recovery = tables.recovery
            still = watch.still_for(
                bool(self.in_recovery), recovery_progress(recovery), time.monotonic()
            )
            if watch.stalled(still):
                log.error(
                    "table recovery made no progress for %.0f s: stopping, so that the restart "
                    "recovers afresh",
                    still,
                )
                await self.crash(RecoveryStalled(f"no recovery progress for {still:.0f} s"))
                return
            if still >= watch.read_again_seconds and not tables.changelog_queue.qsize():
                await self._read_again(watch, still, recovery)

    async def _read_again(self, watch: RecoveryWatch, still: float, recovery: Any) -> None:
        """Read again changelog records the consumer fetched and recovery never received."""
        highwaters = dict(recovery.active_highwaters)
        positions = await self._positions(highwaters)
        targets = watch.to_read_again(still, dict(recovery.active_offsets), highwaters, positions)
        for tp, offset in targets.items():
            log.warning(
                "changelog records fetched were never restored: reading them again",
                extra={"partition": tp.partition, "offset": offset, "next": positions[tp]},
            )
        if targets:
            await self.consumer.seek_wait(targets)

    async def _positions(self, partitions: Any) -> dict[Any, int | None]:
        thread = self.consumer._thread  # type: ignore[attr-defined]
        fetching = thread._ensure_consumer()
        positions: dict[Any, int | None] = {}
        for tp in partitions:
            try:
                # bounded: a broker that does not answer must not hold up the stall's stop
                asked = thread.call_thread(fetching.position, tp)
                positions[tp] = await asyncio.wait_for(asked, RECOVERY_CHECK_SECONDS)
            except (TimeoutError, KafkaError):  # revoked meanwhile: a rebalance starts again
                positions[tp] = None
        return positions
