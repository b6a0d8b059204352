"""`rmbc ingest`: the composition root. Builds settings and adapters once and runs the HTTP server
and the MLLP listener in one asyncio loop. SIGTERM/SIGINT stop both and flush the producer.

A process that starts it knows it is ready when GET /healthz answers 200 (listening) and GET
/readyz answers 200 (connected to Kafka).
"""

import argparse
import asyncio
import functools
import logging
import signal
import ssl
import sys
import uuid
from datetime import UTC, datetime

from fastapi import FastAPI
from pydantic import ValidationError

from services.cli import refusal
from services.ingest.accepter import PublishingAccepter
from services.ingest.admission import open_file_limit
from services.ingest.fhir.app import create_app
from services.ingest.fhir.auth import TokenError, TokenVerifier, token_hashes
from services.ingest.fhir.oauth import AccessTokenVerifier
from services.ingest.fhir.server import GuardedServer, server_config
from services.ingest.limits import DESCRIPTOR_RESERVE
from services.ingest.metrics import IngestMetrics
from services.ingest.patient_history import load_patient_index
from services.ingest.patients import PatientIndex
from services.ingest.peers import UnusableAllowList
from services.ingest.publisher import KafkaPublisher
from services.ingest.settings import IngestSettings, env_help
from shared.logs import configure_logging

log = logging.getLogger(__name__)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="rmbc ingest",
        description="Run ingest: the FHIR R4 HTTP API and the HL7 v2 MLLP listener.",
        epilog=env_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", help="bind address (default RMBC_INGEST_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, help="HTTP port (default RMBC_INGEST_PORT or 8080)")
    parser.add_argument("--mllp-port", type=int, help="MLLP port (default 2575)")
    args = parser.parse_args(argv)
    overrides = {
        name: value
        for name, value in (("host", args.host), ("port", args.port), ("mllp_port", args.mllp_port))
        if value is not None
    }
    try:
        settings = IngestSettings(**overrides)
        verifier = build_verifier(settings)
        settings.tls_context()  # an unreadable certificate or key stops the start here
        settings.peers()  # so does an unusable allow-list
    except ValidationError as error:
        print(refusal("ingest", error), file=sys.stderr)
        return 2
    except TokenError as error:
        print(f"rmbc ingest: refusing to start: RMBC_INGEST_TOKENS: {error}", file=sys.stderr)
        return 2
    except UnusableAllowList as error:
        print(
            f"rmbc ingest: refusing to start: RMBC_INGEST_TLS_PEERS_FILE: {error}", file=sys.stderr
        )
        return 2
    except (ssl.SSLError, OSError) as error:
        print(f"rmbc ingest: refusing to start: TLS certificate or key: {error}", file=sys.stderr)
        return 2
    configure_logging("ingest", settings.log_level)
    stopped_by: list[int] = []
    for stop_signal in (signal.SIGTERM, signal.SIGINT):
        # uvicorn handles the signal (graceful stop, producer flushed), then re-raises it for the
        # previous handler: this one, so that a requested stop exits 0 instead of dying by signal.
        signal.signal(stop_signal, lambda number, _frame: stopped_by.append(number))
    asyncio.run(run(settings, verifier))
    if stopped_by:
        log.info("ingest stopped", extra={"signal": signal.Signals(stopped_by[0]).name})
    return 0


def build_verifier(settings: IngestSettings) -> TokenVerifier | AccessTokenVerifier:
    """OAuth 2.0 JWT access tokens when the issuer is configured, else the static tokens of the
    development mode. Raises TokenError when neither is usable."""
    if settings.oauth:
        return AccessTokenVerifier(
            issuer=settings.oauth_issuer,
            audience=settings.oauth_audience,
            jwks_url=settings.oauth_jwks_url,
        )
    return TokenVerifier(
        token_hashes(settings.tokens.get_secret_value()), clock=lambda: datetime.now(UTC)
    )


def build_app(
    settings: IngestSettings, verifier: TokenVerifier | AccessTokenVerifier, *, with_mllp: bool
) -> FastAPI:
    """Every adapter, built once and passed in explicitly."""
    metrics = IngestMetrics()
    index = PatientIndex(settings.patient_index_size)
    publisher = KafkaPublisher(
        settings.kafka,
        timeout=settings.publish_timeout_seconds,
        # the Patients accepted before a restart: without them events would be keyed differently
        before_ready=functools.partial(
            load_patient_index, settings.kafka, settings.topics.clinical_events, index
        ),
        limit_topic=settings.topics.clinical_events,
    )
    accepter = PublishingAccepter(
        publisher,
        topic=settings.topics.clinical_events,
        index=index,
        metrics=metrics,
        clock=lambda: datetime.now(UTC),
        new_correlation_id=lambda: str(uuid.uuid4()),
        accept_test_numbers=settings.environment == "test",
        max_message_bytes=lambda: publisher.max_message_bytes,
    )
    peers = settings.peers()
    companion = None
    if with_mllp:
        from services.ingest.hl7.mllp import MllpMetrics, start_mllp_server

        companion = functools.partial(
            start_mllp_server,
            accepter,
            settings.host,
            settings.mllp_port,
            max_frame_bytes=settings.mllp_max_frame_bytes,
            frame_timeout=settings.mllp_frame_timeout_seconds,
            idle_timeout=settings.mllp_idle_timeout_seconds,
            max_connections=settings.mllp_max_connections,
            max_resources=settings.max_bundle_entries,
            metrics=MllpMetrics(metrics.registry),  # served on /metrics with the HTTP ones
            ssl=settings.tls_context(),
            processing_ids=settings.processing_ids(),
            peers=peers,
        )
    return create_app(
        settings,
        accepter=accepter,
        publisher=publisher,
        verifier=verifier,
        metrics=metrics,
        clock=lambda: datetime.now(UTC),
        new_id=lambda: str(uuid.uuid4()),
        companion=companion,
        peers=peers,
    )


async def run(settings: IngestSettings, verifier: TokenVerifier | AccessTokenVerifier) -> None:
    app = build_app(settings, verifier, with_mllp=True)
    config = server_config(
        app,
        host=settings.host,
        port=settings.port,
        limits=settings.connection_limits(),
        ssl_certfile=settings.tls_cert_file,
        ssl_keyfile=settings.tls_key_file,
        ssl_ca_certs=settings.tls_client_ca_file,
    )
    warn_if_descriptors_are_short(settings)
    log.info(
        "ingest starting",
        extra={
            "http_port": settings.port,
            "mllp_port": settings.mllp_port,
            "host": settings.host,
            "tls": settings.tls_cert_file is not None,
            "mutual_tls": settings.tls_client_ca_file is not None,
            "environment": settings.environment,
            "auth": "oauth" if settings.oauth else "static-tokens",
        },
    )
    if isinstance(verifier, TokenVerifier):
        log.warning(
            "static bearer tokens in use: a development mode; production verifies OAuth 2.0 "
            "access tokens (RMBC_INGEST_OAUTH_ISSUER, _AUDIENCE, _JWKS_URL)",
            extra={"token_expiries": {c: e.isoformat() for c, e in verifier.expiries().items()}},
        )
    await GuardedServer(config, settings.connection_limits()).serve()


def warn_if_descriptors_are_short(settings: IngestSettings) -> None:
    """The caps are what ingest serves; if the open-file limit is lower, the listeners refuse
    connections below the caps to keep `SPARE_DESCRIPTORS` free. Say so at start."""
    limit = open_file_limit()
    wanted = settings.http_max_connections + settings.mllp_max_connections + DESCRIPTOR_RESERVE
    if limit is not None and limit < wanted:
        log.warning(
            "the open-file limit is below the connection caps: lower "
            "RMBC_INGEST_HTTP_MAX_CONNECTIONS / RMBC_INGEST_MLLP_MAX_CONNECTIONS or raise the limit",
            extra={"open_file_limit": limit, "needed": wanted},
        )
