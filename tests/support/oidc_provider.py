"""A real OAuth 2.0 authorisation server for tests: npm `oidc-provider` (tests/support/oidc/,
installed by `make setup`) run with the machine's Node, and a client that gets access tokens from
it with the client credentials grant, authenticating with `private_key_jwt` (RFC 7523): a JWT
signed with its own RSA key, whose public half the server holds as the client's JWKS.
"""

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from services.broker import free_port
from services.demo.sign_in import node_provider, signing_key

SERVER = Path(__file__).parent / "oidc" / "server.js"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass(frozen=True)
class OAuthClient:
    client_id: str
    key: rsa.RSAPrivateKey

    def public_jwks(self) -> dict[str, object]:
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": self.client_id, "use": "sig", "alg": "RS384"}]}


def new_client(client_id: str) -> OAuthClient:
    return OAuthClient(client_id, rsa.generate_private_key(public_exponent=65537, key_size=2048))


@dataclass(frozen=True)
class AuthorisationServer:
    issuer: str
    audience: str

    @property
    def jwks_url(self) -> str:
        return f"{self.issuer}/jwks"

    def token(self, client: OAuthClient, scope: str) -> str:
        """An access token for `client` with `scope`, as a backend service asks for one."""
        token_url = f"{self.issuer}/token"
        now = int(time.time())
        assertion = jwt.encode(
            {"iss": client.client_id, "sub": client.client_id, "aud": token_url,
             "jti": str(uuid.uuid4()), "iat": now, "exp": now + 60},
            client.key,
            algorithm="RS384",
            headers={"kid": client.client_id},
        )  # fmt: skip
        response = httpx.post(
            token_url,
            data={
                "grant_type": "client_credentials",
                "client_assertion_type": ASSERTION_TYPE,
                "client_assertion": assertion,
                "scope": scope,
                "resource": self.audience,
            },
            timeout=10,
        )
        if response.status_code != 200:
            raise RuntimeError(f"token request refused: {response.status_code} {response.text}")
        return str(response.json()["access_token"])


@contextmanager
def authorisation_server(
    directory: Path, clients: list[OAuthClient], scopes: list[str], audience: str
) -> Iterator[AuthorisationServer]:
    port = free_port()
    config = directory / f"oidc-{port}.json"
    config.write_text(
        json.dumps(
            {
                "audience": audience,
                "scopes": scopes,
                "jwks": {"keys": [signing_key(f"rmbc-test-{port}")]},
                "clients": [{"client_id": c.client_id, "jwks": c.public_jwks()} for c in clients],
            }
        )
    )
    process = node_provider(SERVER, port, config, "oidc-provider", env={"NODE_ENV": "test"})
    try:
        yield AuthorisationServer(f"http://127.0.0.1:{port}", audience)
    finally:
        process.stop()
