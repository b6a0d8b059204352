"""A stand-in FHIR terminology server on loopback for `rmbc terminology refresh` tests.

It answers `GET <base>/ValueSet/$expand?url=http://snomed.info/sct?fhir_vs=ecl/<ECL>&offset&count`
(FHIR R4 $expand; implicit SNOMED CT value sets) from expansions made of committed data: the
mCODE source expansions (the << 128462008 and primary cancer hierarchies as expanded from the
SNOMED CT International Edition 2021-07-31) and the shipped breast value sets. A real HTTP server
(uvicorn), so the client's paging, errors and parsing are exercised for real. The first segment
of the path picks a behaviour: `good`, `garbage` (HTML), `error` (HTTP 500), `outcome` (an
OperationOutcome), `broken` (a ValueSet whose expansion is not FHIR) and `no-breast` (the breast
ECL expands to nothing).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote

import orjson
import uvicorn
from fastapi import FastAPI, Response

from services.classifier.valuesets.build import EXPANSIONS, SOURCES, VALUE_SETS
from services.classifier.valuesets.refresh import IMPLICIT_ECL

SNOMED = "http://snomed.info/sct"
TIMESTAMP = "2021-09-10T18:06:51Z"
EDITION = "http://snomed.info/sct|http://snomed.info/sct/900000000000207008/version/20210731"


def _contains(path: Any) -> list[dict[str, str]]:
    resource = orjson.loads(path.read_bytes())
    return [
        {"system": SNOMED, "code": e["code"], "display": e["display"]}
        for e in resource["expansion"]["contains"]
        if e.get("system") == SNOMED
    ]


def fixture_expansions() -> dict[str, list[dict[str, str]]]:
    """ECL -> the concepts the stand-in returns for it."""
    breast = _contains(EXPANSIONS / "breast-primary.json")
    in_situ = _contains(EXPANSIONS / "breast-carcinoma-in-situ.json")
    taken = {e["code"] for e in breast + in_situ}
    secondary = [
        e
        for e in _contains(SOURCES / "mcode-secondary-cancer-disorder-vs.json")
        if e["code"] not in taken
    ]
    primary_file = SOURCES / "mcode-primary-or-uncertain-behavior-cancer-disorder-vs.json"
    other = [e for e in _contains(primary_file) if e["code"] not in taken]
    specs = {spec.name: spec.ecl for spec in VALUE_SETS}
    return {
        specs["breast-primary"]: breast,
        specs["breast-carcinoma-in-situ"]: in_situ,
        specs["secondary"]: secondary,
        specs["other-primary"]: other,
    }


def app(expansions: dict[str, list[dict[str, str]]], requests: list[dict[str, Any]]) -> FastAPI:
    server = FastAPI()

    @server.get("/{mode}/ValueSet/$expand")
    def expand(mode: str, url: str, offset: int = 0, count: int = 1000) -> Response:
        requests.append({"mode": mode, "url": url, "offset": offset, "count": count})
        if mode == "garbage":
            return Response("<html><body>Service unavailable</body></html>", media_type="text/html")
        if mode == "error":
            return Response("upstream failure", status_code=500)
        if mode == "outcome":
            outcome = {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "error", "code": "not-supported"}],
            }
            return _json(outcome)
        ecl = unquote(url.removeprefix(IMPLICIT_ECL)) if url.startswith(IMPLICIT_ECL) else None
        if ecl not in expansions:
            return Response("unknown value set", status_code=404)
        members = [] if mode == "no-breast" and ecl == VALUE_SETS[0].ecl else expansions[ecl]
        page: Any = members[offset : offset + count]
        if mode == "broken":
            page = "not a list of concepts"
        expansion = {
            "timestamp": TIMESTAMP,
            "total": len(members),
            "offset": offset,
            "parameter": [{"name": "version", "valueUri": EDITION}],
            "contains": page,
        }
        if not page:
            del expansion["contains"]
        return _json({"resourceType": "ValueSet", "status": "active", "expansion": expansion})

    return server


def _json(body: dict[str, Any]) -> Response:
    return Response(orjson.dumps(body), media_type="application/fhir+json")


@contextmanager
def serving(application: FastAPI, deadline_seconds: float = 10.0) -> Iterator[str]:
    """The app on a free loopback port; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(application, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + deadline_seconds
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the stand-in terminology server did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(deadline_seconds)
        sock.close()
