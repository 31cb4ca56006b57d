"""Schedule RunTimes read the way the server reads them: ``DateTime.Parse(text, InvariantCulture)``, then
``ToUniversalTime().TimeOfDay`` (6.4 source, JsonConverter/RunTimesConverter.cs), stored and read back as
``0001-01-01THH:MM:SSZ``.

Accepted, as .NET's invariant culture accepts them: a bare time (``19:00``, ``19:00:00``, ``19:00:00.5``,
``9:00 AM``, ``9 PM``, with or without a ``Z`` or ``+02:00`` offset, the REST spec's own ``"19:00:00"``), an ISO
date-time (``T`` or a space between date and time), a bare date (midnight), the invariant culture's
``MM/dd/yyyy [time]`` and RFC 1123 (``Tue, 01 Jan 2019 09:00:00 GMT``). A value without an offset is the
server's local time; the emulator's local time is UTC (Azure's hosts run in UTC), so it is kept as written.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from email.utils import parsedate_to_datetime

_OFFSET = r"(?P<offset>[Zz]|[+-]\d{1,2}(?::?\d{2})?)?"
_TIME = (
    r"(?P<hour>\d{1,2})(?::(?P<minute>\d{1,2})(?::(?P<second>\d{1,2})(?:\.(?P<fraction>\d{1,7}))?)?)?"
    r"(?:\s*(?P<ampm>[AaPp][Mm]))?\s*" + _OFFSET
)
_BARE_TIME = re.compile(rf"^{_TIME}$")
_ISO_DATE = re.compile(r"^(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})(?:(?:[Tt]|\s+)(?P<time>.+))?$")
_US_DATE = re.compile(r"^(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>\d{4})(?:\s+(?P<time>.+))?$")


def parse_run_time(text: str) -> str:
    """A RunTimes entry -> its UTC time of day as ``0001-01-01THH:MM:SSZ``; ValueError when the server's
    ``DateTime.Parse`` would not read it."""
    moment = _parse(text.strip())
    if moment is None:
        raise ValueError(f"'{text}' is not a valid date-time")
    return f"0001-01-01T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"


def _parse(text: str) -> time | None:
    if not text:
        return None
    match = _ISO_DATE.match(text) or _US_DATE.match(text)
    if match is not None:
        if not _valid_date(int(match["year"]), int(match["month"]), int(match["day"])):
            return None
        clock = match["time"]
        return time(0, 0) if clock is None else _time_of_day(clock.strip())
    if "," in text:  # RFC 1123, the other form the invariant culture reads
        try:
            return parsedate_to_datetime(text).astimezone(timezone.utc).time().replace(tzinfo=None)
        except (TypeError, ValueError, IndexError):
            return None
    return _time_of_day(text)


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _time_of_day(text: str) -> time | None:
    match = _BARE_TIME.match(text)
    if match is None:
        return None
    hour, ampm = int(match["hour"]), match["ampm"]
    minute, second = int(match["minute"] or 0), int(match["second"] or 0)
    # A lone number is not a time for DateTime.Parse ("9" fails) unless it carries AM/PM ("9 PM").
    if match["minute"] is None and ampm is None:
        return None
    if ampm is not None:
        if not 1 <= hour <= 12 and hour != 0:
            return None
        hour = hour % 12 + (12 if ampm.lower() == "pm" else 0)
    if hour > 23 or minute > 59 or second > 59:
        return None
    offset = _offset(match["offset"])
    if offset is False:
        return None
    moment = datetime(2001, 1, 1, hour, minute, second)
    if isinstance(offset, timedelta):
        moment -= offset
    return moment.time()


def _offset(text: str | None) -> timedelta | bool | None:
    """The offset as a timedelta, None when absent or ``Z`` (both UTC here), False when out of range."""
    if text is None or text in ("Z", "z"):
        return None
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    hours, minutes = (int(digits[:-2]), int(digits[-2:])) if len(digits) > 2 else (int(digits), 0)
    if hours > 14 or minutes > 59:
        return False
    return sign * timedelta(hours=hours, minutes=minutes)
