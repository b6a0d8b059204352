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
        ("2020-13-20T12:00:00Z", "2020-13-20T12:00:00Z"),  # not a date: kept as sent
        (None, ""),
    ],
)
def test_last_updated_is_compared_in_utc_to_the_second(last_updated: str | None, key: str) -> None:
    resource = {"meta": {"versionId": "3", "lastUpdated": last_updated}}
    assert version_key(resource) == (3, key)
