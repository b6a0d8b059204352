import pytest

from services.worklist.identity import ClaimRules, NotSignedIn, user_from_claims

RULES = ClaimRules(
    role_claim="nhs_role",
    trust_claim="org",
    role_values={"R8000": "cns", "R8008": "mdt_coordinator", "R0001": "read_only"},
)
BASE = {"sub": "u1", "iss": "https://idp.example", "name": "Ann Nurse"}


def test_role_and_trusts_come_from_the_configured_claims() -> None:
    user = user_from_claims({**BASE, "nhs_role": "R8008", "org": ["RX1", "RX2"]}, RULES)
    assert (user.role, user.trusts, user.name) == ("mdt_coordinator", ("RX1", "RX2"), "Ann Nurse")
    assert user.sees("RX2") and not user.sees("RX3")


def test_a_single_trust_may_be_a_plain_string() -> None:
    assert user_from_claims({**BASE, "nhs_role": "R8000", "org": "RX1"}, RULES).trusts == ("RX1",)


@pytest.mark.parametrize(
    "claims",
    [
        {"nhs_role": "R9999", "org": "RX1"},  # a role the worklist does not know
        {"org": "RX1"},  # no role at all
        {"nhs_role": "R8000"},  # no trust
        {"nhs_role": "R8000", "org": ["RX1", "not an ODS code"]},
    ],
)
def test_a_token_without_a_known_role_or_a_valid_trust_signs_no_one_in(
    claims: dict[str, object],
) -> None:
    with pytest.raises(NotSignedIn):
        user_from_claims({**BASE, **claims}, RULES)
