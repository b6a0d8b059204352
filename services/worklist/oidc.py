"""Sign-in with OpenID Connect: the authorization code flow with PKCE, and the ID token verified.

Follows OpenID Connect Core 1.0 (3.1.2 authentication request, 3.1.3 token request, 3.1.3.7
ID token validation: signature by the provider's JWKS, `iss`, `aud`, `exp`, `iat`, `nonce`) and
RFC 7636 (PKCE, S256). The provider is found by discovery (`/.well-known/openid-configuration`).
Signature checking is PyJWT's; its keys come from the provider's `jwks_uri`, fetched again once
when a token names a key not seen yet (the provider rotated its keys).
"""

import base64
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

SIGNING_ALGORITHMS = ["RS256", "ES256", "PS256"]


class SignInFailed(RuntimeError):
    """The provider's answer could not be trusted or used; the message says why (no token text)."""


@dataclass(frozen=True)
class SignInStart:
    """What the browser is sent to, and what the session keeps until the provider answers."""

    url: str
    state: str
    nonce: str
    verifier: str


class OidcClient:
    def __init__(
        self, issuer: str, client_id: str, client_secret: str, http: httpx.AsyncClient
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self._secret = client_secret
        self._http = http
        self._config: dict[str, Any] | None = None
        self._keys: jwt.PyJWKSet | None = None

    async def _discovery(self) -> dict[str, Any]:
        if self._config is None:
            response = await self._http.get(f"{self.issuer}/.well-known/openid-configuration")
            response.raise_for_status()
            config: dict[str, Any] = response.json()
            if config.get("issuer", "").rstrip("/") != self.issuer:
                raise SignInFailed("the provider's discovery names another issuer")
            self._config = config
        return self._config

    async def begin(self, redirect_uri: str) -> SignInStart:
        config = await self._discovery()
        state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self.client_id,
                "redirect_uri": redirect_uri,
                "scope": "openid profile rmbc",
                "state": state,
                "nonce": nonce,
                "code_challenge": challenge.rstrip(b"=").decode(),
                "code_challenge_method": "S256",
            }
        )
        return SignInStart(f"{config['authorization_endpoint']}?{query}", state, nonce, verifier)

    async def finish(self, code: str, start: SignInStart, redirect_uri: str) -> dict[str, Any]:
        """The verified claims of the ID token the provider gives for `code`."""
        config = await self._discovery()
        response = await self._http.post(
            config["token_endpoint"],
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": start.verifier,
            },
            auth=(self.client_id, self._secret),
        )
        if response.status_code != 200:
            raise SignInFailed(f"the provider refused the code ({response.status_code})")
        id_token = response.json().get("id_token")
        if not isinstance(id_token, str):
            raise SignInFailed("the provider gave no ID token")
        claims = await self._verified(id_token)
        if not secrets.compare_digest(str(claims.get("nonce", "")), start.nonce):
            raise SignInFailed("the ID token's nonce is not this sign-in's")
        return claims

    async def _verified(self, id_token: str) -> dict[str, Any]:
        try:
            kid = jwt.get_unverified_header(id_token).get("kid")
            key = await self._key(kid)
            claims: dict[str, Any] = jwt.decode(
                id_token,
                key,
                algorithms=SIGNING_ALGORITHMS,
                audience=self.client_id,
                issuer=self.issuer,
                options={"require": ["iss", "sub", "aud", "exp", "iat", "nonce"]},
                leeway=30,
            )
        except jwt.PyJWTError as error:
            raise SignInFailed(f"the ID token is not valid: {type(error).__name__}") from None
        return claims

    async def _key(self, kid: str | None) -> jwt.PyJWK:
        for refresh in (False, True):
            if self._keys is None or refresh:
                config = await self._discovery()
                response = await self._http.get(config["jwks_uri"])
                response.raise_for_status()
                self._keys = jwt.PyJWKSet.from_dict(response.json())
            for key in self._keys.keys:
                if kid is None or key.key_id == kid:
                    return key
        raise SignInFailed("the ID token is signed with a key the provider does not publish")
