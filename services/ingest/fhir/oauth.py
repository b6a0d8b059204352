"""OAuth 2.0 access tokens for the FHIR API: JWTs (RFC 9068) signed by the authorisation server,
verified against its JWKS with PyJWT: signature (asymmetric algorithms only), issuer, audience,
expiry (and not-before), and the SMART scopes the request needs (`system/Condition.write`).

This is how NHS system-to-system APIs and SMART Backend Services authorise a client: the client
gets a token with the client credentials grant, authenticating with a JWT it signed
(`private_key_jwt`), and presents it as `Authorization: Bearer <token>`.

Scopes (SMART App Launch 1 and 2): writing a resource type T is allowed by `system/T.write`,
`system/T.*`, `system/*.write`, `system/*.*`, or a v2 scope `system/T.<permissions>` (or
`system/*.<permissions>`) whose permissions include both `c` and `u`.
"""

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

import jwt

from services.ingest.fhir.auth import Refusal

log = logging.getLogger(__name__)

ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"]
_V2_PERMISSIONS = re.compile(r"^c?r?u?d?s?$")


@dataclass(frozen=True)
class Principal:
    """Who a request speaks for, and what it may write. `scopes` None: everything (the static
    development tokens)."""

    client: str
    scopes: frozenset[str] | None = None

    def may_write(self, resource_type: str) -> bool:
        if self.scopes is None:
            return True
        return any(_grants_write(scope, resource_type) for scope in self.scopes)

    def missing_writes(self, resource_types: Iterable[str]) -> list[str]:
        return sorted({t for t in resource_types if not self.may_write(t)})


class AccessTokenVerifier:
    """Verifies JWT access tokens against `jwks_url` (keys cached; refetched for an unknown key
    id). `verify` may fetch the JWKS: call it off the event loop."""

    def __init__(self, *, issuer: str, audience: str, jwks_url: str, leeway_seconds: int = 30):
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway_seconds
        self.keys = jwt.PyJWKClient(jwks_url, cache_keys=True, lifespan=300, timeout=5)

    def verify(self, authorization: str | None) -> Principal | Refusal:
        if not authorization:
            return Refusal("missing")
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return Refusal("invalid")
        try:
            key = self.keys.get_signing_key_from_jwt(token)
            claims = jwt.decode(
                token,
                key=key,
                algorithms=ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway,
                options={"require": ["exp", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            return Refusal("expired")
        except jwt.PyJWKClientConnectionError as error:
            log.warning("the authorisation server's JWKS could not be fetched: %s", error)
            return Refusal("invalid")
        except jwt.PyJWTError as error:
            # the reason (bad signature, wrong issuer, audience...) is for the log, not the caller
            log.info("access token refused: %s", type(error).__name__)
            return Refusal("invalid")
        client = claims.get("client_id") or claims.get("sub")
        if not isinstance(client, str) or not client:
            return Refusal("invalid")
        scope = claims.get("scope", "")
        scopes = frozenset(scope.split()) if isinstance(scope, str) else frozenset()
        return Principal(client, scopes)


def _grants_write(scope: str, resource_type: str) -> bool:
    context, _, rest = scope.partition("/")
    if context != "system":
        return False
    scoped_type, _, permissions = rest.partition(".")
    if scoped_type not in (resource_type, "*"):
        return False
    if permissions in ("write", "*"):
        return True
    return bool(_V2_PERMISSIONS.match(permissions)) and "c" in permissions and "u" in permissions
