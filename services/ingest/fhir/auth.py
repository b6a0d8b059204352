"""Bearer tokens: only their SHA-256 hashes are kept, and they are compared in constant time.

`RMBC_INGEST_TOKENS` is comma-separated; each entry is a plain token (16+ characters) or
`sha256:<64 hex digits of the token's SHA-256>`, optionally followed by `@<expiry>`:
- `@2027-01-31`: accepted up to the end of that day (UTC), refused from 2027-02-01T00:00Z;
- `@2027-01-31T18:00:00+00:00` (or `...Z`): refused from that instant; an offset is required.
"""

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

PREFIX = "sha256:"
MIN_PLAIN_LENGTH = 16
PLACEHOLDERS = frozenset({"changeme", "change-me", "secret", "password", "token", "test"})
_LOOKS_LIKE_EXPIRY = re.compile(r"\d{4}-\d{2}-\d{2}.*")


class TokenError(ValueError):
    """The configured tokens are unusable; the message says why."""


@dataclass(frozen=True)
class ConfiguredToken:
    digest: bytes  # SHA-256 of the token
    expires_at: datetime | None = None  # the first instant the token is refused

    @property
    def client(self) -> str:
        """A short, non-secret name for logs and metrics."""
        return f"token-{self.digest.hex()[:8]}"

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and now >= self.expires_at


def token_hashes(configured: str) -> list[ConfiguredToken]:
    """Parse `RMBC_INGEST_TOKENS` (see the module docstring)."""
    tokens = []
    for raw in configured.split(","):
        entry = raw.strip()
        if not entry:
            continue
        entry, expires_at = _split_expiry(entry)
        tokens.append(ConfiguredToken(_digest(entry), expires_at))
    return tokens


def _split_expiry(entry: str) -> tuple[str, datetime | None]:
    token, separator, suffix = entry.rpartition("@")
    if not separator or not _LOOKS_LIKE_EXPIRY.fullmatch(suffix):
        return entry, None  # an `@` inside a plain token is part of the token
    try:
        if len(suffix) == 10:
            day = date.fromisoformat(suffix)
            return token, datetime.combine(day + timedelta(days=1), time(), tzinfo=UTC)
        instant = datetime.fromisoformat(suffix)
    except ValueError:
        raise TokenError(
            f"token expiry {suffix!r} is not an ISO date (2027-01-31) "
            "or date-time with offset (2027-01-31T18:00:00Z)"
        ) from None
    if instant.tzinfo is None:
        raise TokenError(f"token expiry {suffix!r} needs a UTC offset (e.g. Z or +00:00)")
    return token, instant


def _digest(token: str) -> bytes:
    if token.startswith(PREFIX):
        try:
            digest = bytes.fromhex(token.removeprefix(PREFIX))
        except ValueError:
            raise TokenError("a sha256: token must be followed by 64 hex digits") from None
        if len(digest) != 32:
            raise TokenError("a sha256: token must be followed by 64 hex digits")
        return digest
    if token.lower() in PLACEHOLDERS or len(token) < MIN_PLAIN_LENGTH:
        raise TokenError(
            f"a plain token must be at least {MIN_PLAIN_LENGTH} characters and not a placeholder"
        )
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class Refusal:
    reason: Literal["missing", "invalid", "expired"]
    client: str | None = None  # the expired token's name, for the log


def _utc_now() -> datetime:
    return datetime.now(UTC)


class TokenVerifier:
    def __init__(
        self, tokens: list[ConfiguredToken], *, clock: Callable[[], datetime] = _utc_now
    ) -> None:
        if not tokens:
            raise TokenError("no bearer tokens configured (RMBC_INGEST_TOKENS)")
        now = clock()
        if all(token.expired(now) for token in tokens):
            raise TokenError("every configured bearer token has expired (RMBC_INGEST_TOKENS)")
        self._tokens = tokens
        self._clock = clock

    def verify(self, authorization: str | None) -> str | Refusal:
        """The client name for a valid, unexpired `Bearer` header, else why it was refused."""
        if not authorization:
            return Refusal("missing")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return Refusal("invalid")
        presented = hashlib.sha256(token.strip().encode()).digest()
        # every token is compared (no early exit): the time taken does not reveal which matched
        matches = [known for known in self._tokens if hmac.compare_digest(presented, known.digest)]
        if not matches:
            return Refusal("invalid")
        now = self._clock()
        live = [known for known in matches if not known.expired(now)]
        if not live:
            return Refusal("expired", matches[0].client)
        return live[0].client

    def client_for(self, authorization: str | None) -> str | None:
        """The client name for a valid, unexpired `Bearer` header, else None."""
        verdict = self.verify(authorization)
        return verdict if isinstance(verdict, str) else None

    def expiries(self) -> dict[str, datetime]:
        """When each token that has an expiry stops being accepted, by client name."""
        return {t.client: t.expires_at for t in self._tokens if t.expires_at is not None}
