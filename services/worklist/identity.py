"""Who a verified ID token says the user is (pure): their role and trusts from configurable claims.

NHS CIS2 and most providers carry roles and organisations in their own claims, so the claim names
and the role values are settings. A token without a known role or a valid trust signs no one in.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from services.worklist.reviews import User, UserRole
from shared.events import ODS_CODE_PATTERN


@dataclass(frozen=True)
class ClaimRules:
    role_claim: str
    trust_claim: str
    role_values: Mapping[str, UserRole]  # the claim's value -> the worklist's role


class NotSignedIn(ValueError):
    """The token is genuine but does not let this person in; the message says why."""


def user_from_claims(claims: Mapping[str, Any], rules: ClaimRules) -> User:
    role = rules.role_values.get(str(claims.get(rules.role_claim, "")))
    if role is None:
        raise NotSignedIn(f"no worklist role in the '{rules.role_claim}' claim")
    raw = claims.get(rules.trust_claim)
    trusts = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    valid = tuple(t for t in trusts if isinstance(t, str) and re.fullmatch(ODS_CODE_PATTERN, t))
    if not valid or len(valid) != len(trusts):
        raise NotSignedIn(f"no valid trust ODS code in the '{rules.trust_claim}' claim")
    name = str(claims.get("name") or claims.get("preferred_username") or claims["sub"])
    return User(
        subject=str(claims["sub"]),
        issuer=str(claims["iss"]),
        name=name[:200],
        role=role,
        trusts=valid,
    )
