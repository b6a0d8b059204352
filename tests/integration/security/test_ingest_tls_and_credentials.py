"""A real `rmbc ingest` process serving HTTPS and MLLP over TLS against the real broker: who gets in,
who does not, and what the unauthenticated endpoints give away."""

import asyncio
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import pytest
from pydantic import ValidationError

from services.broker import free_port
from services.demo.stack import ManagedProcess, rmbc_process
from services.ingest.settings import IngestSettings
from shared.settings import KafkaSettings
from shared.topics import TopicNames
from tests.integration.security.certificates import (
    Certificates,
    make_certificates,
    wait_until_ready_over_tls,
)
from tests.support.kafka import read_topic
from tests.unit.ingest import hl7_samples
from tests.unit.ingest.samples import NHS_NUMBER, bundle, condition, observation, patient

GOOD_TOKEN = "security-tier-token-that-works"
EXPIRED_TOKEN = "security-tier-token-that-expired"
YESTERDAY = (datetime.now(UTC) - timedelta(days=1)).date()
START, END = b"\x0b", b"\x1c\r"
FHIR = "application/fhir+json"


@dataclass(frozen=True)
class Ingest:
    url: str
    mllp_port: int
    certificates: Certificates
    topics: TopicNames
    process: ManagedProcess

    def client(self, timeout: float = 5.0) -> httpx.Client:
        return httpx.Client(base_url=self.url, verify=self.tls_context(), timeout=timeout)

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.certificates.ca_cert))


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def ingest(
    kafka_settings: KafkaSettings,
    certificates: Certificates,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Ingest]:
    import uuid

    topics = TopicNames.with_suffix(uuid.uuid4().hex[:10])
    port, mllp_port = free_port(), free_port()
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "RMBC_INGEST_TOKENS": f"{GOOD_TOKEN},{EXPIRED_TOKEN}@{YESTERDAY.isoformat()}",
        "RMBC_INGEST_ENVIRONMENT": "test",  # its patients carry test-range NHS numbers
        "RMBC_INGEST_TLS_CERT_FILE": str(certificates.server_cert),
        "RMBC_INGEST_TLS_KEY_FILE": str(certificates.server_key),
        **{f"RMBC_TOPIC_{name.upper()}": value for name, value in topics.model_dump().items()},
    }
    logs = Path(tmp_path_factory.mktemp("ingest-logs"))
    args = ("--port", str(port), "--mllp-port", str(mllp_port))
    process = rmbc_process("ingest", env, logs, ready_url="", args=args)
    process.ready_url = None  # readiness is checked over HTTPS below
    process.start()
    running = Ingest(f"https://127.0.0.1:{port}", mllp_port, certificates, topics, process)
    try:
        wait_until_ready(running, timeout=60)
        yield running
    finally:
        process.stop()


def wait_until_ready(ingest: Ingest, timeout: float) -> None:
    wait_until_ready_over_tls(ingest.process, ingest.url, ingest.tls_context(), timeout)


def headers(authorization: str | None) -> dict[str, str]:
    found = {"Content-Type": FHIR}
    if authorization is not None:
        found["Authorization"] = authorization
    return found


DATA_ENDPOINTS = [
    ("POST", "/fhir/Condition", condition()),
    ("POST", "/fhir/Observation", observation()),
    ("POST", "/fhir/Patient", patient()),
    ("PUT", "/fhir/Condition/c1", condition()),
    ("PUT", "/fhir/Observation/o1", observation()),
    ("PUT", "/fhir/Patient/p1", patient()),
    ("POST", "/fhir", bundle("transaction", [patient(), condition()])),
    ("POST", "/fhir/$process-message", bundle("message", [condition()])),
]
CREDENTIALS = [
    ("missing", None, "login"),
    ("empty", "", "login"),
    ("wrong token", "Bearer security-tier-token-that-is-wrong", "login"),
    ("expired token", f"Bearer {EXPIRED_TOKEN}", "expired"),
    ("right token, wrong scheme", f"Basic {GOOD_TOKEN}", "login"),
    ("bearer without token", "Bearer", "login"),
    ("token hash instead of token", "Bearer sha256:" + "0" * 64, "login"),
]


@pytest.mark.parametrize(
    ("method", "path", "resource"), DATA_ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in DATA_ENDPOINTS]
)
@pytest.mark.parametrize(
    ("authorization", "code"), [c[1:] for c in CREDENTIALS], ids=[c[0] for c in CREDENTIALS]
)
def test_every_data_endpoint_refuses_missing_wrong_and_expired_credentials(
    ingest: Ingest, method: str, path: str, resource: dict, authorization: str | None, code: str
) -> None:
    with ingest.client() as client:
        response = client.request(
            method, path, headers=headers(authorization), content=orjson.dumps(resource)
        )
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    issue = response.json()["issue"][0]
    assert (response.json()["resourceType"], issue["code"]) == ("OperationOutcome", code)


async def test_the_right_token_over_https_stores_the_event_in_kafka(
    ingest: Ingest, kafka_settings: KafkaSettings
) -> None:
    with ingest.client() as client:
        response = client.post(
            "/fhir/Condition",
            headers=headers(f"Bearer {GOOD_TOKEN}"),
            content=orjson.dumps(condition("tls-1")),
        )
    assert response.status_code == 201, response.text
    records = await read_topic(
        kafka_settings,
        ingest.topics.clinical_events,
        until=lambda found: any(b"tls-1" in r.value for r in found),
        timeout=20,
    )
    assert any(r.key == NHS_NUMBER.encode() for r in records)


def test_plain_http_to_the_tls_port_gets_no_answer(ingest: Ingest) -> None:
    with pytest.raises(httpx.HTTPError):
        httpx.get(ingest.url.replace("https://", "http://") + "/healthz", timeout=5)


def test_a_client_that_does_not_trust_the_ca_refuses_the_connection(ingest: Ingest) -> None:
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(ingest.url + "/healthz", timeout=5)


async def mllp_request(ingest: Ingest, message: str, *, tls: bool) -> bytes:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", ingest.mllp_port, ssl=ingest.tls_context() if tls else None
    )
    try:
        writer.write(START + message.encode() + END)
        await writer.drain()
        return await asyncio.wait_for(reader.read(65536), 10)
    finally:
        writer.close()


async def test_mllp_over_tls_is_acknowledged_aa(ingest: Ingest) -> None:
    ack = await mllp_request(
        ingest, hl7_samples.oru(header=hl7_samples.msh(control_id="TLS0001")), tls=True
    )
    assert b"MSA|AA|TLS0001" in ack


async def test_plain_mllp_to_the_tls_port_gets_no_acknowledgement(ingest: Ingest) -> None:
    answer = await mllp_request(
        ingest, hl7_samples.oru(header=hl7_samples.msh(control_id="PLAIN01")), tls=False
    )
    assert b"MSA" not in answer


async def test_health_metrics_and_metadata_reveal_no_patient_data_after_traffic(
    ingest: Ingest,
) -> None:
    secret_name = "Zebedee-Quixote"
    with ingest.client() as client:
        stored = client.post(
            "/fhir/Patient",
            headers=headers(f"Bearer {GOOD_TOKEN}"),
            content=orjson.dumps(
                patient(
                    "p-leak",
                    name=[{"family": secret_name, "given": ["Ottoline"]}],
                    birthDate="1947-11-29",
                )
            ),
        )
        refused = client.post(
            "/fhir/Condition",
            headers=headers(f"Bearer {GOOD_TOKEN}"),
            content=b'{"resourceType":"Condition","note":[{"text":"'
            + secret_name.encode()
            + b'"}]}',
        )
        await mllp_request(ingest, hl7_samples.adt(), tls=True)
        public = {
            path: client.get(path) for path in ("/healthz", "/readyz", "/metrics", "/fhir/metadata")
        }
    assert (stored.status_code, refused.status_code) == (201, 422)
    for path, response in public.items():
        assert response.status_code == 200, path
        for identifier in (
            NHS_NUMBER,
            secret_name,
            "Ottoline",
            "1947-11-29",
            "19471129",
            "BRONT",
            "19700101",
            GOOD_TOKEN,
        ):
            assert identifier not in response.text, f"{identifier} in {path}"
    assert "rmbc_ingest_accepted_resources" in public["/metrics"].text
    assert "rmbc_ingest_hl7_messages" in public["/metrics"].text


def test_a_certificate_without_its_key_is_refused_at_start(certificates: Certificates) -> None:
    with pytest.raises(ValidationError, match="go together"):
        IngestSettings(tls_cert_file=certificates.server_cert)


def test_a_token_list_where_every_token_has_expired_stops_the_start(tmp_path: Path) -> None:
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "services.cli", "ingest"],
        env={"RMBC_INGEST_TOKENS": f"{EXPIRED_TOKEN}@{YESTERDAY.isoformat()}", "PATH": ""},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 2
    assert "every configured bearer token has expired" in result.stderr
    assert date.today() > YESTERDAY
