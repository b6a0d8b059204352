"""When a CNS team's acknowledgement of an alert falls due, counted in working days (pure).

A working day is Monday to Friday and not a bank holiday of England and Wales, taken in
Europe/London time (an alert sent at 00:30 BST on a Saturday was sent on the Saturday). The day the
alert was sent does not count: acknowledgement within N working days is due by the end of the Nth
working day after it, so an alert sent on a Friday afternoon with N = 2 is due by the end of
Tuesday, and one sent on Christmas Eve 2026 is due by the end of 30 December.

Bank holidays come from the `holidays` package (country GB, subdivision ENG: England's bank
holidays, which Wales shares), which follows the list gov.uk publishes at
https://www.gov.uk/bank-holidays, including one-off days such as 19 September 2022.
"""

from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

import holidays as holiday_tables

LONDON = ZoneInfo("Europe/London")
SATURDAY = 5


class Calendar(Protocol):
    """Days that are not working days besides weekends: `day in calendar` is True for a holiday."""

    def __contains__(self, key: object, /) -> bool: ...


def england_and_wales_bank_holidays() -> Calendar:
    """Every year's bank holidays of England and Wales, worked out for a year when first asked."""
    return holiday_tables.country_holidays("GB", subdiv="ENG")


def is_working_day(day: date, holidays: Calendar) -> bool:
    return day.weekday() < SATURDAY and day not in holidays


def acknowledgement_due(alerted_at: datetime, working_days: int, holidays: Calendar) -> datetime:
    """The moment (Europe/London) an alert sent at `alerted_at` becomes overdue: the midnight that
    ends the `working_days`-th working day after the day it was sent."""
    if working_days < 1:
        raise ValueError(f"working_days must be at least 1, not {working_days}")
    day = _london_day(alerted_at)
    counted = 0
    while counted < working_days:
        day += timedelta(days=1)
        if is_working_day(day, holidays):
            counted += 1
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=LONDON)


def is_overdue(alerted_at: datetime, now: datetime, working_days: int, holidays: Calendar) -> bool:
    """True once `now` has reached the end of the last working day allowed."""
    _require_aware(now, "now")
    return now >= acknowledgement_due(alerted_at, working_days, holidays)


def _london_day(moment: datetime) -> date:
    _require_aware(moment, "alerted_at")
    return moment.astimezone(LONDON).date()


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must carry its time zone (a naive time is ambiguous)")
