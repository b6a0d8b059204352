"""A version's key orders versions by number, then by lastUpdated in UTC, whatever its form."""

import pytest

from services.classifier.facts import version_key


@pytest.mark.parametrize(
    ("last_updated", "key"),
    [
        ("2020-11-20T12:00:00Z", "2020-11-20T12:00:00"),
        ("2020-11-20T12:00:00.123Z", "2020-11-20T12:00:00"),
        ("2020-11-20T12:00:00+00:00", "2020-11-20T12:00:00"),
        ("2020-11-20T13:00:00+01:00", "2020-11-20T12:00:00"),
        ("2020-11-20", "2020-11-20T00:00:00"),
        ("2020-13-20T12:00:00Z", ""),  # not a date: as if none were sent (the rules date by it)
        ("0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00"),  # before year 1 in UTC: the first
        ("9999-12-31T23:00:00-14:00", "9999-12-31T23:59:59"),  # after 9999 in UTC: the last
        (None, ""),
    ],
)
def test_last_updated_is_compared_in_utc_to_the_second(last_updated: str | None, key: str) -> None:
    resource = {"meta": {"versionId": "3", "lastUpdated": last_updated}}
    assert version_key(resource) == (3, key)


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("9", "10"),
        ("18446744073709551615", "18446744073709551616"),  # 2^64 - 1 and 2^64
        ("9" * 63, "1" + "0" * 63),
        ("2", "9" * 64),  # the longest FHIR id
    ],
)
def test_a_numeric_version_id_of_up_to_64_digits_is_compared_as_a_number(
    older: str, newer: str
) -> None:
    assert version_key({"meta": {"versionId": older}}) < version_key({"meta": {"versionId": newer}})


@pytest.mark.parametrize("version_id", ["1" * 65, "\u0663", "\u00b2", "v2", "1.2"])
def test_a_version_id_that_is_not_up_to_64_ascii_digits_has_no_number(version_id: str) -> None:
    assert version_key({"meta": {"versionId": version_id}})[0] == -1
