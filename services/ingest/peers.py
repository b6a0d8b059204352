"""Who may speak for whom: the mutual-TLS allow-list. Pure; the file is read once at start.

A client certificate (verified against the configured CA bundle, CERT_REQUIRED) is named by its
subject's common name. The allow-list maps that name to the HL7 sending facilities (MSH-4) and
the FHIR clients (the bearer token's client name) it may speak for:

    {"tie.rx1.nhs.uk": {"facilities": ["RX1"], "clients": ["rx1-tie"]}}

A certificate not in the list may speak for nothing: its messages get AR and its requests 403.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson


class UnusableAllowList(ValueError):
    """The allow-list file is not the documented shape."""


@dataclass(frozen=True)
class Grant:
    facilities: frozenset[str]
    clients: frozenset[str]


class PeerAllowList:
    def __init__(self, grants: Mapping[str, Grant]) -> None:
        self._grants = dict(grants)

    @classmethod
    def from_json(cls, data: bytes) -> "PeerAllowList":
        try:
            raw = orjson.loads(data)
        except orjson.JSONDecodeError as error:
            raise UnusableAllowList(f"not JSON: {error}") from None
        if not isinstance(raw, dict):
            raise UnusableAllowList("the allow-list is a JSON object keyed by certificate name")
        grants = {}
        for name, grant in raw.items():
            if not isinstance(grant, dict) or set(grant) - {"facilities", "clients"}:
                raise UnusableAllowList(f"{name!r}: give only 'facilities' and 'clients' lists")
            grants[name] = Grant(_names(grant, "facilities", name), _names(grant, "clients", name))
        return cls(grants)

    def may_send_for(self, subject: str | None, facility: str) -> bool:
        grant = self._grants.get(subject or "")
        return grant is not None and facility in grant.facilities

    def may_act_as(self, subject: str | None, client: str) -> bool:
        grant = self._grants.get(subject or "")
        return grant is not None and client in grant.clients


def subject_name(peercert: Any) -> str | None:
    """The common name of a certificate's subject, as `ssl.SSLSocket.getpeercert()` gives it."""
    if not isinstance(peercert, dict):
        return None
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


def _names(grant: dict[str, Any], key: str, name: str) -> frozenset[str]:
    values = grant.get(key, [])
    if not isinstance(values, list) or not all(isinstance(v, str) and v for v in values):
        raise UnusableAllowList(f"{name!r}: {key!r} is a list of non-empty strings")
    return frozenset(values)
