"""JWT access token checks, each alone: issuer, audience, expiry, signature, algorithm, scope.
(The whole path against a real authorisation server: tests/integration/security/test_ingest_oauth.py.)
Here the issuer's JWKS is served by a small local HTTP server, so one claim at a time can change."""

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from services.ingest.fhir.auth import Refusal
from services.ingest.fhir.oauth import AccessTokenVerifier, Principal

ISSUER = "https://auth.example.nhs.uk"
AUDIENCE = "https://rmbc.example.nhs.uk/fhir"
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def verifier() -> Iterator[AccessTokenVerifier]:
    public = {**json.loads(RSAAlgorithm.to_jwk(KEY.public_key())), "kid": "k1", "alg": "RS256"}
    body = json.dumps({"keys": [public]}).encode()

    class Jwks(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Jwks)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/jwks"
        yield AccessTokenVerifier(issuer=ISSUER, audience=AUDIENCE, jwks_url=url)
    finally:
        server.shutdown()
        thread.join(timeout=5)


def token(**changes: Any) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "exp": now + 300, "iat": now,
              "client_id": "tie-rx1", "scope": "system/Condition.write"}  # fmt: skip
    claims.update(changes)
    return jwt.encode(
        {k: v for k, v in claims.items() if v is not None}, KEY, "RS256", {"kid": "k1"}
    )


def test_a_valid_token_gives_its_client_and_scopes(verifier: AccessTokenVerifier) -> None:
    assert verifier.verify(f"Bearer {token()}") == Principal(
        "tie-rx1", frozenset({"system/Condition.write"})
    )


@pytest.mark.parametrize(
    ("changes", "reason"),
    [({"iss": "https://elsewhere.example"}, "invalid"), ({"aud": "https://other/fhir"}, "invalid"),
     ({"exp": int(time.time()) - 120}, "expired"), ({"exp": None}, "invalid"),
     ({"aud": None}, "invalid"), ({"client_id": None, "sub": None}, "invalid")],
    ids=["issuer", "audience", "expired", "no expiry", "no audience", "no client"],
)  # fmt: skip
def test_a_token_failing_one_check_is_refused(
    verifier: AccessTokenVerifier, changes: dict[str, Any], reason: str
) -> None:
    assert verifier.verify(f"Bearer {token(**changes)}") == Refusal(reason)  # type: ignore[arg-type]


def test_a_symmetric_or_unsigned_token_is_refused(verifier: AccessTokenVerifier) -> None:
    claims = jwt.decode(token(), options={"verify_signature": False})
    hs256 = jwt.encode(claims, "a-shared-secret-of-enough-length!", "HS256", {"kid": "k1"})
    unsigned = jwt.encode(claims, None, "none", {"kid": "k1"})
    assert verifier.verify(f"Bearer {hs256}") == Refusal("invalid")
    assert verifier.verify(f"Bearer {unsigned}") == Refusal("invalid")


@pytest.mark.parametrize(
    ("scope", "writes"),
    [("system/Condition.write", {"Condition"}), ("system/*.write", {"Condition", "Patient", "Observation"}),
     ("system/Patient.cud", {"Patient"}), ("system/Patient.rs", set()),
     ("user/Condition.write", set()), ("system/Condition.read", set())],
)  # fmt: skip
def test_write_scopes_follow_smart_v1_and_v2(scope: str, writes: set[str]) -> None:
    principal = Principal("c", frozenset({scope}))
    assert {t for t in ("Condition", "Patient", "Observation") if principal.may_write(t)} == writes
