"""The real ingest edges for the fuzz tier: the FHIR app in-process, the MLLP listener on loopback.

Both sit on the real `PublishingAccepter` (validation, patient resolution, event building) with a
recording publisher in place of Kafka, so a case that survives validation is published, not
dropped.
"""

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi.testclient import TestClient

from services.ingest.accepter import PublishingAccepter
from services.ingest.fhir.app import create_app
from services.ingest.fhir.auth import TokenVerifier, token_hashes
from services.ingest.hl7.mllp import MllpHandler, MllpMetrics, start_mllp_server
from services.ingest.metrics import IngestMetrics
from services.ingest.patients import PatientIndex
from services.ingest.settings import IngestSettings
from tests.unit.fuzz.corpus import MAX_BODY_BYTES, MAX_BUNDLE_ENTRIES, MAX_FRAME_BYTES
from tests.unit.ingest.fakes import RecordingPublisher

TOKEN = "fuzz-tier-bearer-token-0001"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def ingest_core(publisher: RecordingPublisher, metrics: IngestMetrics) -> PublishingAccepter:
    ids = itertools.count()
    return PublishingAccepter(
        publisher,
        topic="clinical-events",
        index=PatientIndex(10_000),
        metrics=metrics,
        clock=lambda: NOW,
        new_correlation_id=lambda: f"corr-{next(ids)}",
        accept_test_numbers=True,  # fixtures use test-range numbers
    )


def fhir_app(publisher: RecordingPublisher, **settings: Any) -> Any:
    """The real ingest ASGI app on the real core, with a recording publisher for Kafka."""
    config = IngestSettings(
        **{"max_body_bytes": MAX_BODY_BYTES, "max_bundle_entries": MAX_BUNDLE_ENTRIES, **settings}
    )
    metrics = IngestMetrics()
    ids = itertools.count()
    return create_app(
        config,
        accepter=ingest_core(publisher, metrics),
        publisher=publisher,
        verifier=TokenVerifier(token_hashes(TOKEN), clock=lambda: NOW),
        metrics=metrics,
        clock=lambda: NOW,
        new_id=lambda: f"id-{next(ids)}",
    )


@asynccontextmanager
async def fhir_client(
    **settings: Any,
) -> AsyncIterator[tuple[httpx.AsyncClient, RecordingPublisher]]:
    """An HTTP client on the ingest app; a server error comes back as a 500, never raised."""
    publisher = RecordingPublisher()
    await publisher.start()
    transport = httpx.ASGITransport(app=fhir_app(publisher, **settings), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://ingest") as client:
        yield client, publisher


@contextmanager
def fhir_test_client(**settings: Any) -> Iterator[tuple[TestClient, RecordingPublisher]]:
    """The same app for synchronous (property) tests; a server error comes back as a 500."""
    publisher = RecordingPublisher()
    app = fhir_app(publisher, **settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client, publisher


def mllp_handler(publisher: RecordingPublisher) -> MllpHandler:
    """The MLLP listener's per-frame logic on the real core, without a socket."""
    metrics = IngestMetrics()
    return MllpHandler(
        ingest_core(publisher, metrics),
        max_frame_bytes=MAX_FRAME_BYTES,
        enhanced=False,
        dedupe_size=1_000,
        frame_timeout=2.0,
        accept_timeout=5.0,
        metrics=MllpMetrics(metrics.registry),
    )


@asynccontextmanager
async def mllp_listener() -> AsyncIterator[tuple[int, RecordingPublisher, MllpMetrics]]:
    publisher = RecordingPublisher()
    metrics = IngestMetrics()
    mllp_metrics = MllpMetrics(metrics.registry)
    server = await start_mllp_server(
        ingest_core(publisher, metrics),
        "127.0.0.1",
        0,
        max_frame_bytes=MAX_FRAME_BYTES,
        frame_timeout=2.0,
        metrics=mllp_metrics,
    )
    try:
        yield server.sockets[0].getsockname()[1], publisher, mllp_metrics
    finally:
        server.close()
        await server.wait_closed()


class LoopFailures:
    """Records what the event loop would print as 'Task exception was never retrieved' etc."""

    def __init__(self) -> None:
        self.contexts: list[dict[str, Any]] = []

    def __call__(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        self.contexts.append(context)


@asynccontextmanager
async def watching_the_loop() -> AsyncIterator[LoopFailures]:
    loop = asyncio.get_running_loop()
    failures = LoopFailures()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(failures)
    try:
        yield failures
    finally:
        loop.set_exception_handler(previous)


def error_records(records: list[logging.LogRecord]) -> list[str]:
    return [f"{r.name}: {r.getMessage()}" for r in records if r.levelno >= logging.ERROR]
