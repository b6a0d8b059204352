"""A real `rmbc ingest` process with mutual TLS (CERT_REQUIRED, a configured CA bundle) and an
allow-list of what each client certificate may speak for, against the real broker: a peer without
a certificate of that CA gets nothing through, and a message whose MSH-4 (or a request whose
token client) its certificate may not speak for gets AR (403) and nothing reaches Kafka."""

import asyncio
import hashlib
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest

from services.broker import free_port
from services.demo.stack import ManagedProcess, rmbc_process
from shared.settings import KafkaSettings
from shared.topics import TopicNames
from tests.integration.security.certificates import (
    Certificates,
    ClientCertificate,
    make_certificates,
    make_client_certificate,
    wait_until_ready_over_tls,
)
from tests.support.kafka import read_topic
from tests.unit.ingest import hl7_samples
from tests.unit.ingest.samples import condition

TOKEN = "mutual-tls-tier-token-rx1-tie"
OTHER_TOKEN = "mutual-tls-tier-token-rx2-tie"
# a token's client name, as ingest logs it and the allow-list names it
TOKEN_CLIENT = "token-" + hashlib.sha256(TOKEN.encode()).hexdigest()[:8]
START, END = b"\x0b", b"\x1c\r"
FHIR = "application/fhir+json"


@dataclass(frozen=True)
class Peers:
    rx1: ClientCertificate  # may send for RX1 and act for TOKEN's client
    unlisted: ClientCertificate  # signed by the CA, absent from the allow-list
    stranger: ClientCertificate  # signed by another CA


@dataclass(frozen=True)
class Ingest:
    url: str
    mllp_port: int
    certificates: Certificates
    peers: Peers
    topics: TopicNames
    process: ManagedProcess

    def context(self, client: ClientCertificate | None) -> ssl.SSLContext:
        context = ssl.create_default_context(cafile=str(self.certificates.ca_cert))
        if client is not None:
            context.load_cert_chain(client.cert, client.key)
        return context


@pytest.fixture(scope="module")
def ingest(
    kafka_settings: KafkaSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Ingest]:
    certificates = make_certificates(tmp_path_factory.mktemp("mtls"))
    other_ca = make_certificates(tmp_path_factory.mktemp("other-ca"))
    peers = Peers(
        make_client_certificate(certificates, "tie.rx1.example.nhs.uk"),
        make_client_certificate(certificates, "tie.unlisted.example.nhs.uk"),
        make_client_certificate(certificates, "tie.rx1.example.nhs.uk", ca=other_ca),
    )
    allow_list = tmp_path_factory.mktemp("peers") / "peers.json"
    allow_list.write_bytes(
        orjson.dumps({"tie.rx1.example.nhs.uk": {"facilities": ["RX1"], "clients": [TOKEN_CLIENT]}})
    )
    topics = TopicNames.with_suffix(uuid.uuid4().hex[:10])
    port, mllp_port = free_port(), free_port()
    env = {
        "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
        "RMBC_INGEST_TOKENS": f"{TOKEN},{OTHER_TOKEN}",
        "RMBC_INGEST_ENVIRONMENT": "test",  # the samples carry test-range NHS numbers
        "RMBC_INGEST_TLS_CERT_FILE": str(certificates.server_cert),
        "RMBC_INGEST_TLS_KEY_FILE": str(certificates.server_key),
        "RMBC_INGEST_TLS_CLIENT_CA_FILE": str(certificates.ca_cert),
        "RMBC_INGEST_TLS_PEERS_FILE": str(allow_list),
        **{f"RMBC_TOPIC_{name.upper()}": value for name, value in topics.model_dump().items()},
    }
    logs = Path(tmp_path_factory.mktemp("ingest-logs"))
    args = ("--port", str(port), "--mllp-port", str(mllp_port))
    process = rmbc_process("ingest", env, logs, ready_url="", args=args)
    process.ready_url = None  # readiness is checked over mutual TLS below
    process.start()
    running = Ingest(f"https://127.0.0.1:{port}", mllp_port, certificates, peers, topics, process)
    try:
        wait_until_ready_over_tls(process, running.url, running.context(peers.rx1), timeout=60)
        yield running
    finally:
        process.stop()


async def mllp_request(ingest: Ingest, message: str, client: ClientCertificate | None) -> bytes:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", ingest.mllp_port, ssl=ingest.context(client)
    )
    try:
        writer.write(START + message.encode() + END)
        await writer.drain()
        return await asyncio.wait_for(reader.readuntil(END), 10)
    finally:
        writer.close()


def oru(control_id: str, facility: str) -> str:
    return hl7_samples.oru(header=hl7_samples.msh(control_id=control_id, facility=facility))


async def test_a_message_for_an_allowed_facility_is_acknowledged_and_stored(
    ingest: Ingest, kafka_settings: KafkaSettings
) -> None:
    ack = await mllp_request(ingest, oru("MTLS0001", "RX1"), ingest.peers.rx1)
    assert b"MSA|AA|MTLS0001" in ack
    records = await read_topic(
        kafka_settings,
        ingest.topics.clinical_events,
        until=lambda found: any(b"MTLS0001" in r.value for r in found),
        timeout=20,
    )
    assert any(b"MTLS0001" in r.value for r in records)


@pytest.mark.parametrize(
    ("peer", "facility"), [("rx1", "RX2"), ("unlisted", "RX1")], ids=["other MSH-4", "unlisted"]
)
async def test_a_message_its_certificate_may_not_send_gets_ar_and_nothing_is_published(
    ingest: Ingest, kafka_settings: KafkaSettings, peer: str, facility: str
) -> None:
    control_id = f"NOTALLOWED{peer}"
    ack = await mllp_request(ingest, oru(control_id, facility), getattr(ingest.peers, peer))
    assert f"MSA|AR|{control_id}".encode() in ack
    assert b"ERR||MSH^1^4|" in ack
    # a later allowed message on the same partition key is on the topic; the refused one is not
    marker = f"AFTER{peer}"
    await mllp_request(ingest, oru(marker, "RX1"), ingest.peers.rx1)
    records = await read_topic(
        kafka_settings,
        ingest.topics.clinical_events,
        until=lambda found: any(marker.encode() in r.value for r in found),
        timeout=20,
    )
    assert not any(control_id.encode() in r.value for r in records)


@pytest.mark.parametrize("peer", [None, "stranger"], ids=["no certificate", "another CA"])
async def test_mllp_without_a_certificate_of_the_ca_gets_no_acknowledgement(
    ingest: Ingest, peer: str | None
) -> None:
    client = getattr(ingest.peers, peer) if peer else None
    with pytest.raises((ssl.SSLError, ConnectionError, asyncio.IncompleteReadError)):
        await mllp_request(ingest, oru(f"NOCERT{peer}", "RX1"), client)


@pytest.mark.parametrize("peer", [None, "stranger"], ids=["no certificate", "another CA"])
def test_https_without_a_certificate_of_the_ca_is_refused_at_the_handshake(
    ingest: Ingest, peer: str | None
) -> None:
    client = getattr(ingest.peers, peer) if peer else None
    with pytest.raises(httpx.HTTPError):
        httpx.get(ingest.url + "/healthz", verify=ingest.context(client), timeout=5)


@pytest.mark.parametrize(
    ("peer", "token", "status"),
    [("rx1", TOKEN, 201), ("rx1", OTHER_TOKEN, 403), ("unlisted", TOKEN, 403)],
    ids=["allowed client", "token of another client", "unlisted certificate"],
)
def test_a_request_is_taken_only_for_a_token_client_its_certificate_may_act_for(
    ingest: Ingest, peer: str, token: str, status: int
) -> None:
    with httpx.Client(verify=ingest.context(getattr(ingest.peers, peer)), timeout=5) as client:
        response = client.post(
            ingest.url + "/fhir/Condition",
            headers={"Content-Type": FHIR, "Authorization": f"Bearer {token}"},
            content=orjson.dumps(condition(f"mtls-{peer}-{status}")),
        )
    assert response.status_code == status, response.text
    if status == 403:
        assert response.json()["issue"][0]["code"] == "security"
