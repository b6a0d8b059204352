"""NHS number: the patient's identity. A wrong number routes an alert to the wrong patient's GP.

The UK's three national health numbers share one 10-digit, modulus-11 space, split into ranges
(NHS Data Dictionary, "NHS NUMBER", "COMMUNITY HEALTH INDEX NUMBER", "HEALTH AND CARE NUMBER"; the
ranges as collated in the `nhs-number` package 2.2.0, `nhs_number/constants.py`):
  0100000000-3112999999 Scotland: CHI numbers (DDMMYY then four digits)
  3200000000-3999999999 Northern Ireland: Health and Care (H&C) numbers
  4000000000-4999999999, 6000000000-7999999999 England, Wales and the Isle of Man: NHS numbers
  9000000000-9999999999 not issued to patients: synthetic and test patients (the "999" numbers)
  everything else: not issued (unallocated, reserved, or the Republic of Ireland's IHI).
FHIR identifier systems for CHI and H&C: as listed by the NHS North West Genomics code system
"UK National Health Identifiers" (CHI by its OID; H&C as fhir.nhs.uk/Id/hsc-number).
"""

from typing import Literal

NHS_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/nhs-number"
CHI_NUMBER_SYSTEM = "urn:oid:2.16.840.1.113883.2.1.3.2.4.16.53"
HC_NUMBER_SYSTEM = "https://fhir.nhs.uk/Id/hsc-number"
ODS_SYSTEM = "https://fhir.nhs.uk/Id/ods-organization-code"

NumberRange = Literal["nhs", "test", "chi", "hc", "not-issued"]

# (first, last, range), inclusive, over the 10-digit value
_RANGES: tuple[tuple[int, int, NumberRange], ...] = (
    (100_000_000, 3_112_999_999, "chi"),
    (3_200_000_000, 3_999_999_999, "hc"),
    (4_000_000_000, 4_999_999_999, "nhs"),
    (6_000_000_000, 7_999_999_999, "nhs"),
    (9_000_000_000, 9_999_999_999, "test"),
)
RANGE_NAMES: dict[NumberRange, str] = {
    "nhs": "an NHS number (England, Wales, Isle of Man)",
    "test": "a test NHS number (9000000000-9999999999, never issued to a patient)",
    "chi": "a Scottish CHI number",
    "hc": "a Northern Ireland Health and Care number",
    "not-issued": "not in any range issued to patients",
}
SYSTEMS: dict[NumberRange, str] = {
    "nhs": NHS_NUMBER_SYSTEM,
    "test": NHS_NUMBER_SYSTEM,  # synthetic patients on PDS carry NHS numbers
    "chi": CHI_NUMBER_SYSTEM,
    "hc": HC_NUMBER_SYSTEM,
}


def check_digit(first_nine: str) -> int | None:
    """The modulus-11 check digit for nine digits, or None when no valid digit exists."""
    total = sum(
        int(digit) * weight for digit, weight in zip(first_nine, range(10, 1, -1), strict=True)
    )
    check = 11 - total % 11
    if check == 11:
        return 0
    return None if check == 10 else check


def is_valid_nhs_number(value: str) -> bool:
    """10 digits with a valid check digit (CHI and H&C numbers share the scheme)."""
    digits = value.replace(" ", "")
    if len(digits) != 10 or not digits.isascii() or not digits.isdigit():
        return False
    if len(set(digits)) == 1:
        return False  # 0000000000 and 1111111111 pass the check but are "unknown" placeholders
    return check_digit(digits[:9]) == int(digits[9])


def number_range(value: str) -> NumberRange:
    """Which national number a valid 10-digit value is, by its range."""
    number = int(normalise_nhs_number(value))
    for first, last, found in _RANGES:
        if first <= number <= last:
            return found
    return "not-issued"


def normalise_nhs_number(value: str) -> str:
    return value.replace(" ", "")
