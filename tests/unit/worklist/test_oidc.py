"""The ID token is believed only when the provider's published key signed it for this client and
this sign-in (OpenID Connect Core 3.1.3.7); the provider's HTTP answers are made here."""

import json
import time
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from services.worklist.oidc import OidcClient, SignInFailed

ISSUER = "https://idp.example"
CLIENT = "rmbc-worklist"
REDIRECT = "https://worklist.example/auth/callback"
PUBLISHED = rsa.generate_private_key(public_exponent=65537, key_size=2048)
UNPUBLISHED = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _provider(token_for: Any) -> httpx.MockTransport:
    public = {**json.loads(RSAAlgorithm.to_jwk(PUBLISHED.public_key())), "kid": "k1"}

    def answer(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(200, json={
                "issuer": ISSUER, "authorization_endpoint": f"{ISSUER}/auth",
                "token_endpoint": f"{ISSUER}/token", "jwks_uri": f"{ISSUER}/jwks"})  # fmt: skip
        if request.url.path == "/jwks":
            return httpx.Response(200, json={"keys": [public]})
        form = parse_qs(request.content.decode())
        assert form["code_verifier"] and form["grant_type"] == ["authorization_code"]
        return httpx.Response(200, json={"id_token": token_for(form)})

    return httpx.MockTransport(answer)


def _token(key: rsa.RSAPrivateKey, nonce: str, changes: dict[str, Any]) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": "u1", "aud": CLIENT, "iat": now, "exp": now + 300,
              "nonce": nonce, "rmbc_role": "cns", **changes}  # fmt: skip
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "k1"})


async def _sign_in(key: rsa.RSAPrivateKey, **changes: Any) -> dict[str, Any]:
    nonce: dict[str, str] = {}
    transport = _provider(lambda form: _token(key, nonce["value"], changes))
    async with httpx.AsyncClient(transport=transport) as http:
        client = OidcClient(ISSUER, CLIENT, "client-secret-of-16+", http)
        start = await client.begin(REDIRECT)
        query = parse_qs(urlparse(start.url).query)
        assert query["code_challenge_method"] == ["S256"] and query["nonce"] == [start.nonce]
        nonce["value"] = start.nonce
        return await client.finish("code", start, REDIRECT)


async def test_a_token_signed_by_the_published_key_for_this_sign_in_is_believed() -> None:
    claims = await _sign_in(PUBLISHED)
    assert (claims["sub"], claims["rmbc_role"]) == ("u1", "cns")


@pytest.mark.parametrize(
    ("key", "changes"),
    [
        (UNPUBLISHED, {}),  # signed by a key the provider does not publish
        (PUBLISHED, {"aud": "another-app"}),
        (PUBLISHED, {"iss": "https://elsewhere.example"}),
        (PUBLISHED, {"exp": int(time.time()) - 3600}),
        (PUBLISHED, {"nonce": "another sign-in's nonce"}),
    ],
)
async def test_any_other_token_signs_no_one_in(
    key: rsa.RSAPrivateKey, changes: dict[str, Any]
) -> None:
    with pytest.raises(SignInFailed):
        await _sign_in(key, **changes)
