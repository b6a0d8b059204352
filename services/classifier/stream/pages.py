"""The worker's own web pages: /healthz, /readyz (partitions held and table restored) and
/metrics (Prometheus, with the consumer lag read from the broker)."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import faust
from aiohttp.web import Response
from aiokafka.errors import KafkaError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from services.classifier.settings import ClassifierSettings
from services.classifier.stream.metrics import ClassifierMetrics
from shared.admin import lag_by_partition

LAG_READ_SECONDS = 5.0
log = logging.getLogger("rmbc.classifier")


def readiness(assigned_partitions: int, recovering: bool) -> tuple[int, str]:
    """/readyz: ready once the worker holds partitions and its table is restored. A worker whose
    table recovery does not end classifies nothing, and says so here."""
    ready = assigned_partitions > 0 and not recovering
    body = (
        f'{{"ready":{str(ready).lower()},"assigned_partitions":{assigned_partitions},'
        f'"recovering":{str(recovering).lower()}}}'
    )
    return (200 if ready else 503), body


class Pages:
    def __init__(
        self, app: faust.App, settings: ClassifierSettings, metrics: ClassifierMetrics
    ) -> None:
        self._app = app
        self._settings = settings
        self._metrics = metrics

    def add_to(self, app: faust.App) -> None:
        for name, page in (
            ("healthz", self.healthz),
            ("readyz", self.readyz),
            ("metrics", self.metrics),
        ):
            app.page(f"/{name}", name=name)(_view_handler(page))

    async def healthz(self) -> Response:
        return Response(text='{"status":"ok"}', content_type="application/json")

    async def readyz(self) -> Response:
        status, body = readiness(len(self._assigned()), recovering=bool(self._app.in_recovery))
        return Response(text=body, status=status, content_type="application/json")

    async def metrics(self) -> Response:
        behind = await self._read_lag()
        metrics = self._metrics
        metrics.lag.clear()  # revoked partitions, or a lag that could not be read: no figure
        for partition, records in (behind or {}).items():
            metrics.lag.labels(str(partition)).set(records)
        metrics.recovering.set(1 if self._app.in_recovery else 0)
        return Response(
            body=generate_latest(metrics.registry),
            headers={"Content-Type": CONTENT_TYPE_LATEST},
        )

    def _assigned(self) -> set[Any]:
        app = self._app
        return app.consumer.assignment() if app.started else set()

    async def _read_lag(self) -> dict[int, int] | None:
        """Input records the group has not committed, per assigned partition; None when the
        broker does not answer in time."""
        topic = self._settings.topics.clinical_events
        inputs = [tp for tp in self._assigned() if tp.topic == topic]
        try:
            behind = await asyncio.wait_for(
                lag_by_partition(self._settings.kafka, self._app.conf.id, inputs),
                LAG_READ_SECONDS,
            )
        except (TimeoutError, OSError, KafkaError) as error:
            log.warning("consumer lag not read from the broker", extra={"error": repr(error)})
            return None
        return {tp.partition: records for tp, records in behind.items()}


def _view_handler(page: Callable[[], Awaitable[Response]]) -> Any:
    """faust serves a page by a view's `get`, called with the view and the request."""

    async def get(view: Any, request: Any) -> Response:
        return await page()

    return get
