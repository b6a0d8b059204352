from datetime import UTC, date, datetime, timedelta

import pytest

from services.worklist.overdue import (
    LONDON,
    acknowledgement_due,
    england_and_wales_bank_holidays,
    is_overdue,
    is_working_day,
)

BANK_HOLIDAYS = england_and_wales_bank_holidays()


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)  # type: ignore[misc]


def test_christmas_and_the_boxing_day_substitute_of_2026_are_not_working_days() -> None:
    # 25 December 2026 is a Friday; Boxing Day falls on the Saturday, so Monday 28th is the holiday
    assert not is_working_day(date(2026, 12, 25), BANK_HOLIDAYS)
    assert not is_working_day(date(2026, 12, 28), BANK_HOLIDAYS)
    assert is_working_day(date(2026, 12, 29), BANK_HOLIDAYS)


def test_an_alert_on_christmas_eve_2026_is_due_by_the_end_of_30_december() -> None:
    due = acknowledgement_due(london(2026, 12, 24, 15, 0), 2, BANK_HOLIDAYS)
    assert due == london(2026, 12, 31, 0, 0)


def test_an_alert_before_easter_2027_skips_good_friday_and_easter_monday() -> None:
    # Good Friday 26 March 2027, Easter Monday 29 March; British Summer Time starts on the 28th
    due = acknowledgement_due(london(2027, 3, 25, 9, 30), 2, BANK_HOLIDAYS)
    assert due == london(2027, 4, 1, 0, 0)
    assert due.astimezone(UTC) == datetime(2027, 3, 31, 23, 0, tzinfo=UTC)


def test_an_alert_on_easter_monday_2027_counts_from_the_tuesday() -> None:
    due = acknowledgement_due(london(2027, 3, 29, 11, 0), 1, BANK_HOLIDAYS)
    assert due == london(2027, 3, 31, 0, 0)


def test_a_friday_afternoon_alert_with_two_working_days_is_due_by_the_end_of_tuesday() -> None:
    due = acknowledgement_due(london(2026, 11, 27, 16, 45), 2, BANK_HOLIDAYS)
    assert due == london(2026, 12, 2, 0, 0)


def test_the_day_of_the_alert_is_taken_in_london_time_not_utc() -> None:
    # 23:30 UTC on Friday 5 June 2026 is 00:30 BST on the Saturday: the alert came at the weekend
    saturday_in_london = datetime(2026, 6, 5, 23, 30, tzinfo=UTC)
    due = acknowledgement_due(saturday_in_london, 1, BANK_HOLIDAYS)
    assert due == london(2026, 6, 9, 0, 0)


def test_the_state_funeral_of_19_september_2022_was_a_bank_holiday() -> None:
    assert not is_working_day(date(2022, 9, 19), BANK_HOLIDAYS)
    due = acknowledgement_due(london(2022, 9, 16, 10, 0), 1, BANK_HOLIDAYS)
    assert due == london(2022, 9, 21, 0, 0)


def test_an_alert_becomes_overdue_exactly_when_its_last_working_day_ends() -> None:
    alerted = london(2026, 12, 24, 15, 0)
    end = london(2026, 12, 31, 0, 0)
    assert not is_overdue(alerted, end - timedelta(microseconds=1), 2, BANK_HOLIDAYS)
    assert is_overdue(alerted, end, 2, BANK_HOLIDAYS)
    assert is_overdue(alerted, end.astimezone(UTC), 2, BANK_HOLIDAYS)


def test_a_calendar_without_holidays_counts_only_weekends() -> None:
    due = acknowledgement_due(london(2026, 12, 24, 15, 0), 2, frozenset[date]())
    assert due == london(2026, 12, 29, 0, 0)


def test_a_time_without_a_time_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        acknowledgement_due(datetime(2026, 12, 24, 15, 0), 2, BANK_HOLIDAYS)
    with pytest.raises(ValueError, match="time zone"):
        is_overdue(london(2026, 12, 24, 15, 0), datetime(2026, 12, 31), 2, BANK_HOLIDAYS)


def test_fewer_than_one_working_day_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        acknowledgement_due(london(2026, 12, 24, 15, 0), 0, BANK_HOLIDAYS)
