"""A real `rmbc ingest` process taking OAuth 2.0 access tokens from a real authorisation server
(npm oidc-provider, started locally), against the real broker: a backend client gets a JWT access
token with the client credentials grant and private_key_jwt, and ingest verifies its signature
against the issuer's JWKS, its issuer, audience, expiry and scope."""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from services.broker import free_port
from services.demo.stack import ManagedProcess, rmbc_process
from shared.settings import KafkaSettings
from shared.topics import TopicNames
from tests.support.kafka import read_topic
from tests.support.oidc_provider import (
    AuthorisationServer,
    OAuthClient,
    authorisation_server,
    new_client,
)
from tests.unit.ingest.samples import condition, observation

AUDIENCE = "https://rmbc.test/fhir"
SCOPES = ["system/Condition.write", "system/Observation.write", "system/Patient.write"]
FHIR = "application/fhir+json"


@dataclass(frozen=True)
class Setup:
    url: str
    server: AuthorisationServer
    other_server: AuthorisationServer  # a real server ingest does not trust
    client: OAuthClient
    topics: TopicNames
    process: ManagedProcess


@pytest.fixture(scope="module")
def setup(
    kafka_settings: KafkaSettings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Setup]:
    directory = tmp_path_factory.mktemp("oauth")
    client = new_client("tie-rx1")
    with (
        authorisation_server(directory, [client], SCOPES, AUDIENCE) as server,
        authorisation_server(directory, [client], SCOPES, AUDIENCE) as other_server,
    ):
        topics = TopicNames.with_suffix(uuid.uuid4().hex[:10])
        port = free_port()
        env = {
            "KAFKA_BOOTSTRAP_SERVERS": kafka_settings.bootstrap_servers,
            "RMBC_INGEST_OAUTH_ISSUER": server.issuer,
            "RMBC_INGEST_OAUTH_AUDIENCE": AUDIENCE,
            "RMBC_INGEST_OAUTH_JWKS_URL": server.jwks_url,
            "RMBC_INGEST_ENVIRONMENT": "test",  # the samples carry test-range NHS numbers
            **{f"RMBC_TOPIC_{name.upper()}": value for name, value in topics.model_dump().items()},
        }
        args = ("--port", str(port), "--mllp-port", str(free_port()))
        url = f"http://127.0.0.1:{port}"
        process = rmbc_process("ingest", env, directory, ready_url=f"{url}/readyz", args=args)
        process.start()
        try:
            yield Setup(url, server, other_server, client, topics, process)
        finally:
            process.stop()


def post(setup: Setup, path: str, resource: dict, token: str | None) -> httpx.Response:
    headers = {"Content-Type": FHIR}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.post(setup.url + path, headers=headers, content=orjson.dumps(resource), timeout=10)


async def test_a_token_from_the_authorisation_server_stores_the_event(
    setup: Setup, kafka_settings: KafkaSettings
) -> None:
    token = setup.server.token(setup.client, "system/Condition.write")
    response = post(setup, "/fhir/Condition", condition("oauth-1"), token)
    assert response.status_code == 201, response.text
    records = await read_topic(
        kafka_settings,
        setup.topics.clinical_events,
        until=lambda found: any(b"oauth-1" in r.value for r in found),
        timeout=20,
    )
    [record] = [r for r in records if b"oauth-1" in r.value]
    assert b'"client":"tie-rx1"' in record.value  # the token's client_id is the sender


def test_a_token_without_the_resource_types_write_scope_gets_403(setup: Setup) -> None:
    token = setup.server.token(setup.client, "system/Condition.write")
    response = post(setup, "/fhir/Observation", observation(), token)
    assert response.status_code == 403
    issue = response.json()["issue"][0]
    assert issue["code"] == "security"
    assert "system/Observation.write" in issue["diagnostics"]


def resigned(token: str, **changes: object) -> str:
    """The token's claims, changed, signed with a key the issuer never published."""
    claims = {**jwt.decode(token, options={"verify_signature": False}), **changes}
    header = jwt.get_unverified_header(token)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, stranger, algorithm="RS256", headers={"kid": header["kid"]})


@pytest.mark.parametrize("kind", ["another issuer", "forged signature", "static token", "none"])
def test_a_token_ingest_cannot_trust_gets_401(setup: Setup, kind: str) -> None:
    good = setup.server.token(setup.client, " ".join(SCOPES))
    token: str | None = {
        "another issuer": lambda: setup.other_server.token(setup.client, " ".join(SCOPES)),
        "forged signature": lambda: resigned(good, scope="system/*.write"),
        "static token": lambda: "a-static-development-token-1234",
        "none": lambda: None,
    }[kind]()
    response = post(setup, "/fhir/Condition", condition(f"refused-{kind}"), token)
    assert response.status_code == 401
    assert response.json()["issue"][0]["code"] == "login"


def test_the_capability_statement_declares_oauth(setup: Setup) -> None:
    statement = httpx.get(setup.url + "/fhir/metadata", timeout=10).json()
    [service] = statement["rest"][0]["security"]["service"]
    assert service["coding"][0]["code"] == "OAuth"
    assert "private_key_jwt" in statement["rest"][0]["security"]["description"]


def test_the_process_log_names_the_oauth_mode_and_no_development_warning(setup: Setup) -> None:
    log = Path(setup.process.log_file).read_text()
    assert '"auth": "oauth"' in log or '"auth":"oauth"' in log
    assert "static bearer tokens in use" not in log
