"""HL7 v2 DTM/DT values to FHIR date, dateTime and instant. Pure.

A DTM without an offset is local time in England (`Europe/London`): that is what a trust's engine
sends. FHIR needs an offset whenever a time is present, so it is made explicit here.
"""

import re
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")

_DTM = re.compile(
    r"^(?P<y>\d{4})(?P<m>\d{2})?(?P<d>\d{2})?"
    r"(?:(?P<H>\d{2})(?P<M>\d{2})?(?P<S>\d{2})?(?:\.\d{1,4})?)?"
    r"(?P<tz>[+-]\d{4})?$"
)


class BadDate(ValueError):
    pass


def _parts(value: str) -> re.Match[str]:
    match = _DTM.match(value.strip())
    if match is None:
        raise BadDate(f"{value!r} is not an HL7 date/time (YYYY[MM[DD[HH[MM[SS]]]]][+/-ZZZZ])")
    return match


def to_fhir_datetime(value: str) -> str:
    """`20250314` -> `2025-03-14`; `202503141030` -> `2025-03-14T10:30:00+00:00`."""
    match = _parts(value)
    year, month, day = match["y"], match["m"], match["d"]
    try:
        if match["H"] is None:
            date(int(year), int(month or 1), int(day or 1))
            return "-".join(p for p in (year, month, day) if p)
        if day is None:
            raise BadDate(f"{value!r} has a time but no day")
        moment = _moment(match)
    except (ValueError, OverflowError) as error:
        raise BadDate(f"{value!r} is not a real date/time: {error}") from None
    return moment.isoformat(timespec="seconds")


def to_fhir_instant(value: str) -> str:
    """A full instant in UTC (`...Z`); a date alone means midnight local time."""
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def version_stamp(value: str) -> str:
    """A `meta.versionId` that sorts like time: the UTC instant as digits."""
    return _utc(value).strftime("%Y%m%d%H%M%S")


def has_time(value: str) -> bool:
    return _parts(value)["H"] is not None


def same_day(first: str, second: str) -> bool:
    return first.strip()[:8] == second.strip()[:8]


def _utc(value: str) -> datetime:
    match = _parts(value)
    try:
        if match["H"] is None:
            local = datetime(int(match["y"]), int(match["m"] or 1), int(match["d"] or 1))
            return local.replace(tzinfo=LONDON).astimezone(UTC)
        if match["d"] is None:
            raise BadDate(f"{value!r} has a time but no day")
        return _moment(match).astimezone(UTC)
    except (ValueError, OverflowError) as error:
        raise BadDate(f"{value!r} is not a real date/time: {error}") from None


def _moment(match: re.Match[str]) -> datetime:
    naive = datetime(
        int(match["y"]),
        int(match["m"]),
        int(match["d"]),
        int(match["H"]),
        int(match["M"] or 0),
        int(match["S"] or 0),
    )
    if match["tz"] is None:
        return _in_utc_range(naive.replace(tzinfo=LONDON))
    sign = 1 if match["tz"][0] == "+" else -1
    hours, minutes = int(match["tz"][1:3]), int(match["tz"][3:5])
    if hours > 14 or minutes > 59:
        raise BadDate(f"offset {match['tz']} is out of range")
    return _in_utc_range(
        naive.replace(tzinfo=timezone(sign * timedelta(hours=hours, minutes=minutes)))
    )


def _in_utc_range(moment: datetime) -> datetime:
    """`moment`, once it is known to stay within years 1-9999 in UTC (`00010101000000+1400` is in
    year 0: OverflowError, which callers turn into BadDate); downstream compares in UTC."""
    moment.astimezone(UTC)
    return moment
