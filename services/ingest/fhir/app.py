"""The FHIR HTTP edge: authenticate, read the body within limits, hand over to the core, answer.

One exception handler turns every refusal (InvalidInput, BrokerUnavailable, HTTP errors) into an
OperationOutcome with the right status, so routes stay a few lines each.
"""

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated, Any

import orjson
from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from services.ingest.acceptance import Accepted, Outcome, Refused, ResourceInRequest
from services.ingest.errors import BrokerUnavailable, InvalidInput, Issue
from services.ingest.fhir.auth import Refusal, TokenVerifier
from services.ingest.fhir.bundles import (
    BundleRequest,
    ResponseCode,
    accepted_outcome,
    batch_response,
    location,
    message_response,
    read_bundle,
    request_header,
    transaction_response,
)
from services.ingest.fhir.capability import capability_statement
from services.ingest.fhir.oauth import AccessTokenVerifier, Principal
from services.ingest.fhir.outcomes import operation_outcome
from services.ingest.fhir.request_body import load_json
from services.ingest.fhir.server import DrainUnreadBody
from services.ingest.metrics import IngestMetrics
from services.ingest.peers import PeerAllowList
from services.ingest.ports import Accepter, PartlyAccepted
from services.ingest.publisher import ManagedPublisher
from services.ingest.settings import IngestSettings
from services.ingest.validation import CLINICAL_TYPES
from shared.events import Sender

log = logging.getLogger(__name__)

FHIR_JSON = "application/fhir+json"
ACCEPTED_MEDIA_TYPES = frozenset({FHIR_JSON, "application/json"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


def create_app(
    settings: IngestSettings,
    *,
    accepter: Accepter,
    publisher: ManagedPublisher,
    verifier: TokenVerifier | AccessTokenVerifier,
    metrics: IngestMetrics,
    clock: Callable[[], datetime],
    new_id: Callable[[], str],
    companion: Callable[[], Awaitable[asyncio.Server]] | None = None,
    peers: PeerAllowList | None = None,
) -> FastAPI:
    """`companion` starts another listener (the MLLP server) that shares the producer: it starts
    after the producer and is closed before the producer is flushed and stopped. `peers`: with
    mutual TLS, which token clients each client certificate may speak for."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await publisher.start()
        server = await companion() if companion is not None else None
        try:
            yield
        finally:
            if server is not None:
                server.close()
                await server.wait_closed()
            await publisher.stop()

    # redirect_slashes off: a 307 to `http://<Host header>/...` would reflect what the client sent,
    # before authentication; an unknown path is a 404 OperationOutcome instead
    app = FastAPI(
        title="rmbc ingest",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,
    )
    app.add_middleware(RequestsInFlightGauge, metrics=metrics)
    app.add_middleware(
        DrainUnreadBody,
        max_bytes=settings.http_drain_max_bytes,
        max_seconds=settings.http_header_timeout_seconds + settings.http_idle_timeout_seconds,
    )

    async def authenticate(request: Request) -> Principal:
        header = request.headers.get("authorization")
        if isinstance(verifier, TokenVerifier):
            static = verifier.verify(header)
            verdict: Principal | Refusal = Principal(static) if isinstance(static, str) else static
        else:  # may fetch the issuer's keys: off the event loop
            verdict = await asyncio.to_thread(verifier.verify, header)
        if isinstance(verdict, Principal):
            if peers is not None:
                certificate = request.scope.get("extensions", {}).get("tls", {})
                subject = certificate.get("client_cert_subject")
                if not peers.may_act_as(subject, verdict.client):
                    log.warning(
                        "token client not allowed for the client certificate",
                        extra={"client": verdict.client, "certificate": subject},
                    )
                    text = "This client certificate may not act for the token's client"
                    raise InvalidInput([Issue("security", text)], status=403)
            return verdict
        if verdict.reason == "expired":
            log.warning("expired bearer token presented", extra={"client": verdict.client})
            issue = Issue("expired", "The bearer token has expired; ask for a new one")
        else:
            issue = Issue("login", "A valid bearer token is required (Authorization: Bearer ...)")
        raise InvalidInput([issue], status=401)

    async def fhir_body(
        request: Request, principal: Annotated[Principal, Depends(authenticate)]
    ) -> Body:
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type not in ACCEPTED_MEDIA_TYPES:
            raise InvalidInput(
                [Issue("not-supported", f"Content-Type must be {FHIR_JSON}")], status=415
            )
        data = await _read_limited(request, settings.max_body_bytes)
        incoming = request.headers.get("x-request-id", "")
        correlation_id = incoming if _REQUEST_ID.match(incoming) else new_id()
        raw = load_json(data, max_depth=settings.max_json_depth)
        return Body(raw, principal.client, correlation_id, principal)

    FhirBody = Annotated[Body, Depends(fhir_body)]

    @app.exception_handler(InvalidInput)
    @app.exception_handler(BrokerUnavailable)
    @app.exception_handler(HTTPException)
    async def answer_refusal(request: Request, error: Exception) -> Response:
        status, issues, headers = refused(request.url.path, error)
        return _fhir(operation_outcome(issues), status, headers)

    def refused(path: str, error: Exception) -> tuple[int, list[Issue], dict[str, str]]:
        """Count and log a refusal; its status, issues and headers."""
        status, issues, headers = _refusal(error, settings.retry_after_seconds)
        metrics.rejected.labels("http", issues[0].code if status != 503 else "broker").inc()
        log.info(
            "refused",
            extra={
                "status": status,
                "path": path,
                "issues": [f"{i.code}@{i.expression or '-'}" for i in issues],
                "cause": str(error) if status == 503 else None,
            },
        )
        return status, issues, headers

    @app.get("/healthz")
    async def healthz() -> Response:
        return _fhir({"status": "ok"}, 200, media_type="application/json")

    @app.get("/readyz")
    async def readyz() -> Response:
        ready = await publisher.ready()
        body = {"status": "ready" if ready else "not ready", "kafka": ready}
        return _fhir(body, 200 if ready else 503, media_type="application/json")

    @app.get("/metrics")
    async def metrics_endpoint() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/fhir/metadata")
    async def metadata() -> Response:
        return _fhir(
            capability_statement(
                max_body_bytes=settings.max_body_bytes,
                max_bundle_entries=settings.max_bundle_entries,
                oauth=isinstance(verifier, AccessTokenVerifier),
            ),
            200,
        )

    @app.post("/fhir/$process-message")
    async def process_message(body: FhirBody) -> Response:
        """A refused message is answered with a response message too (`fatal-error`, or
        `transient-error` when the event store was unavailable), under the same HTTP status
        as any refusal, so both FHIR messaging clients and plain HTTP clients read it."""
        try:
            bundle = read_bundle(
                body.raw, max_entries=settings.max_bundle_entries, message_only=True
            )
            return await _answer_bundle(bundle, body)
        except (InvalidInput, BrokerUnavailable) as error:
            header = request_header(body.raw)
            if header is None:  # no message to respond to: a plain OperationOutcome
                raise
            status, issues, headers = refused("/fhir/$process-message", error)
            code: ResponseCode = "transient-error" if status == 503 else "fatal-error"
            answer = message_response(
                header,
                operation_outcome(issues),
                code=code,
                response_id=new_id(),
                outcome_id=new_id(),
                now=clock(),
            )
            return _fhir(answer, status, {**headers, "X-Correlation-ID": body.correlation_id})

    @app.post("/fhir")
    async def post_bundle(body: FhirBody) -> Response:
        bundle = read_bundle(body.raw, max_entries=settings.max_bundle_entries)
        return await _answer_bundle(bundle, body)

    @app.post("/fhir/{resource_type}")
    async def create(resource_type: str, body: FhirBody) -> Response:
        item = ResourceInRequest(body.raw, _endpoint_type(resource_type, body.raw))
        body.require_write([resource_type])
        return await _answer_single(item, body, status=201)

    @app.put("/fhir/{resource_type}/{resource_id}")
    async def update(resource_type: str, resource_id: str, body: FhirBody) -> Response:
        at = _endpoint_type(resource_type, body.raw)
        item = ResourceInRequest(body.raw, at, request_url=f"{resource_type}/{resource_id}")
        body.require_write([resource_type])
        return await _answer_single(item, body, status=200)

    async def _answer_single(item: ResourceInRequest, body: Body, *, status: int) -> Response:
        sender = Sender(channel="http", client=body.client)
        [event] = await accepter.accept([item], sender, correlation_id=body.correlation_id)
        headers = {"Location": f"/fhir/{location(event)}", "X-Correlation-ID": body.correlation_id}
        if event.version_id:
            headers["ETag"] = f'W/"{event.version_id}"'
        return _fhir(accepted_outcome([event]), status, headers)

    async def _answer_bundle(bundle: BundleRequest, body: Body) -> Response:
        written = (
            i.resource.get("resourceType") for i in bundle.items if isinstance(i.resource, dict)
        )
        body.require_write({t for t in written if t in CLINICAL_TYPES})
        sender = Sender(channel="http", client=body.client, message_id=bundle.message_id)
        outcomes: list[Outcome]
        try:
            events = await accepter.accept(
                bundle.items, sender, atomic=bundle.atomic, correlation_id=body.correlation_id
            )
            outcomes = [Accepted(event) for event in events]
        except PartlyAccepted as partly:  # a batch: each entry answered on its own
            outcomes = partly.outcomes
        headers = {"X-Correlation-ID": body.correlation_id}
        events = [o.event for o in outcomes if isinstance(o, Accepted)]
        if bundle.bundle_type == "batch":
            for outcome in outcomes:
                if isinstance(outcome, Refused):
                    metrics.rejected.labels("http", outcome.issues[0].code).inc()
            return _fhir(batch_response(outcomes), 200, headers)
        if bundle.bundle_type == "transaction":
            return _fhir(transaction_response(events), 200, headers)
        if bundle.bundle_type == "message":
            answer = message_response(
                bundle.header,
                accepted_outcome(events),
                code="ok",
                response_id=new_id(),
                outcome_id=new_id(),
                now=clock(),
            )
            return _fhir(answer, 200, headers)
        return _fhir(accepted_outcome(events), 200, headers)

    return app


class Body:
    """A request's FHIR JSON, its authenticated client and its correlation id."""

    __slots__ = ("client", "correlation_id", "principal", "raw")

    def __init__(
        self, raw: dict[str, Any], client: str, correlation_id: str, principal: Principal
    ) -> None:
        self.raw = raw
        self.client = client
        self.correlation_id = correlation_id
        self.principal = principal

    def require_write(self, resource_types: Iterable[str]) -> None:
        """403 unless the access token's scopes allow writing every one of `resource_types`."""
        missing = self.principal.missing_writes(resource_types)
        if missing:
            scopes = ", ".join(f"system/{t}.write" for t in missing)
            text = f"The access token's scope does not allow this write: it needs {scopes}"
            raise InvalidInput([Issue("security", text)], status=403)


class RequestsInFlightGauge:
    """Counts HTTP requests being processed (a plain ASGI middleware: no per-request task)."""

    def __init__(self, app: ASGIApp, metrics: IngestMetrics) -> None:
        self.app = app
        self.gauge = metrics.in_flight

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        self.gauge.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            self.gauge.dec()


def _endpoint_type(resource_type: str, raw: dict[str, Any]) -> str:
    if resource_type not in CLINICAL_TYPES:
        raise InvalidInput(
            [
                Issue(
                    "not-supported",
                    f"Resource type {resource_type!r} is not supported "
                    f"(supported: {', '.join(CLINICAL_TYPES)})",
                )
            ],
            status=404,
        )
    if raw["resourceType"] != resource_type:
        raise InvalidInput(
            [
                Issue(
                    "invalid",
                    f"The body is a {raw['resourceType']}, the URL expects a {resource_type}",
                    f"{resource_type}.resourceType",
                )
            ],
            status=400,
        )
    return resource_type


async def _read_limited(request: Request, limit: int) -> bytes:
    too_large = InvalidInput(
        [Issue("too-costly", f"The body is larger than {limit} bytes")], status=413
    )
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
    except ClientDisconnect:  # the body stopped arriving (idle timeout) or the client left
        raise InvalidInput(
            [Issue("incomplete", "The body did not arrive whole")], status=400
        ) from None
    return b"".join(chunks)


def _refusal(error: Exception, retry_after: int) -> tuple[int, list[Issue], dict[str, str]]:
    if isinstance(error, InvalidInput):
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else {}
        return error.status, error.issues, headers
    if isinstance(error, BrokerUnavailable):
        issue = Issue(
            "transient",
            "The event store is unavailable; nothing was stored. Retry later.",
            severity="error",
        )
        return 503, [issue], {"Retry-After": str(retry_after)}
    assert isinstance(error, HTTPException)
    issue = Issue("not-found" if error.status_code == 404 else "not-supported", str(error.detail))
    return error.status_code, [issue], dict(error.headers or {})


def _fhir(
    body: dict[str, Any],
    status: int,
    headers: dict[str, str] | None = None,
    media_type: str = FHIR_JSON,
) -> Response:
    return Response(orjson.dumps(body), status_code=status, headers=headers, media_type=media_type)
