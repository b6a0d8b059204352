"""Bearer tokens: only their SHA-256 hashes are kept, and they are compared in constant time."""

import hashlib
import hmac

PREFIX = "sha256:"
MIN_PLAIN_LENGTH = 16
PLACEHOLDERS = frozenset({"changeme", "change-me", "secret", "password", "token", "test"})


class TokenError(ValueError):
    """The configured tokens are unusable; the message says why."""


def token_hashes(configured: str) -> list[bytes]:
    """`RMBC_INGEST_TOKENS`: comma-separated, each a plain token or `sha256:<hex of the token>`."""
    hashes = []
    for raw in configured.split(","):
        token = raw.strip()
        if not token:
            continue
        if token.startswith(PREFIX):
            try:
                digest = bytes.fromhex(token.removeprefix(PREFIX))
            except ValueError:
                raise TokenError("a sha256: token must be followed by 64 hex digits") from None
            if len(digest) != 32:
                raise TokenError("a sha256: token must be followed by 64 hex digits")
            hashes.append(digest)
            continue
        if token.lower() in PLACEHOLDERS or len(token) < MIN_PLAIN_LENGTH:
            raise TokenError(
                f"a plain token must be at least {MIN_PLAIN_LENGTH} characters and not a placeholder"
            )
        hashes.append(hashlib.sha256(token.encode()).digest())
    return hashes


class TokenVerifier:
    def __init__(self, hashes: list[bytes]) -> None:
        if not hashes:
            raise TokenError("no bearer tokens configured (RMBC_INGEST_TOKENS)")
        self._hashes = hashes

    def client_for(self, authorization: str | None) -> str | None:
        """The client name (a short, non-secret hash prefix) for a valid `Bearer` header, else None."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        presented = hashlib.sha256(token.strip().encode()).digest()
        match = None
        for known in self._hashes:  # no early exit: the time taken does not reveal which matched
            if hmac.compare_digest(presented, known):
                match = known
        return f"token-{match.hex()[:8]}" if match is not None else None
