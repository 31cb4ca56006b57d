"""ISO-8601 durations and backup run times, as the Service Fabric backup server reads and writes them.

The server parses durations with .NET ``XmlConvert.ToTimeSpan`` (a year is 365 days, a month 30 days), truncates
them silently (SF-BACKUP-API.md §3) and echoes them in ``XmlConvert.ToString`` form (``PT24H`` comes back as
``P1D``). Run times are date-times of which only the UTC time of day is kept, read back as
``0001-01-01THH:MM:SSZ``. These functions give the client the same view, so values compare by meaning.
"""

from __future__ import annotations

import datetime
import re

_DURATION = re.compile(
    r"(?P<sign>-)?P"
    r"(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?"
)

# .NET TimeSpan.MaxValue is about 10.7 million days
_MAX_SECONDS = 10_675_199 * 86400
MAX_INTERVAL = datetime.timedelta(days=15)
_HOUR = datetime.timedelta(hours=1)
_MINUTE = datetime.timedelta(minutes=1)

INTERVAL_TOO_LONG = "Allowed maximum time interval between consecutive backups is 15 days."
INTERVAL_TOO_SHORT = "Minimum time interval supported is 1 minute and precision in seconds is not supported."
RETENTION_TOO_SHORT = "RetentionDuration must be at least 1 hour."


def parse_duration(text: str) -> datetime.timedelta:
    """Parse an ISO-8601 duration (``PnYnMnDTnHnMnS``, fractional seconds, optional leading ``-``)."""
    if not isinstance(text, str):
        raise ValueError(f"a duration must be a string such as PT1H or P1D, not {type(text).__name__}")
    match = _DURATION.fullmatch(text.strip())
    parts = match.groupdict() if match else {}
    has_component = any(parts.get(k) for k in ("years", "months", "days", "hours", "minutes", "seconds"))
    if match is None or not has_component or text.strip().endswith("T"):
        raise ValueError(
            f"{text!r} is not an ISO-8601 duration (write e.g. PT30M, PT1H, P1D or P1DT12H; "
            "Y = 365 days, M before T = 30 days)"
        )
    whole, _, fraction = (parts["seconds"] or "0").partition(".")
    seconds = (
        (int(parts["years"] or 0) * 365 + int(parts["months"] or 0) * 30 + int(parts["days"] or 0)) * 86400
        + int(parts["hours"] or 0) * 3600
        + int(parts["minutes"] or 0) * 60
        + int(whole)
    )
    if seconds > _MAX_SECONDS:
        raise ValueError(f"duration {text!r} is too large")
    value = datetime.timedelta(seconds=seconds, microseconds=int((fraction + "000000")[:6]))
    return -value if parts["sign"] else value


def format_duration(td: datetime.timedelta) -> str:
    """The ``XmlConvert.ToString(TimeSpan)`` form the server echoes: ``P1D``, ``PT1H30M``, ``PT0S``."""
    if td < datetime.timedelta(0):
        return "-" + format_duration(-td)
    days = td.days
    hours, rest = divmod(td.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    date_part = f"{days}D" if days else ""
    time_part = ""
    if hours:
        time_part += f"{hours}H"
    if minutes:
        time_part += f"{minutes}M"
    if seconds or td.microseconds:
        fraction = f".{td.microseconds:06d}".rstrip("0") if td.microseconds else ""
        time_part += f"{seconds}{fraction}S"
    if not date_part and not time_part:
        return "PT0S"
    return "P" + date_part + ("T" + time_part if time_part else "")


def _truncate(td: datetime.timedelta, unit: datetime.timedelta) -> datetime.timedelta:
    # .NET truncates TimeSpan totals toward zero
    count = int(td / unit)
    return unit * count


def server_interval(td: datetime.timedelta) -> datetime.timedelta:
    """What the server stores for a FrequencyBased Interval: whole minutes when the minutes component is not
    zero, else whole hours. Raises ValueError (with the server's message) over 15 days or when it becomes zero."""
    if td > MAX_INTERVAL:
        raise ValueError(INTERVAL_TOO_LONG)
    if td < datetime.timedelta(0):
        raise ValueError("an Interval must not be negative.")
    minutes_component = (td.seconds // 60) % 60
    stored = _truncate(td, _MINUTE) if minutes_component != 0 else _truncate(td, _HOUR)
    if stored == datetime.timedelta(0):
        raise ValueError(INTERVAL_TOO_SHORT)
    return stored


def server_retention(td: datetime.timedelta) -> datetime.timedelta:
    """What the server stores for a RetentionDuration: whole hours, at least one."""
    stored = _truncate(td, _HOUR)
    if stored < _HOUR:
        raise ValueError(RETENTION_TOO_SHORT)
    return stored


_TIME_OF_DAY = re.compile(r"(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?")
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ](?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:\.\d+)?)?"
    r"(?P<tz>[Zz]|[+-]\d{2}(?::?\d{2})?)?"
)


def parse_run_time(text: str) -> datetime.time:
    """A RunTimes entry as the UTC time of day the server keeps (whole seconds).

    Accepts a full ISO date-time (an offset is converted to UTC; none means UTC) or ``HH:MM[:SS]`` (UTC).
    """
    if not isinstance(text, str):
        raise ValueError(f"a run time must be a string such as 02:00 or 2024-01-01T02:00:00Z, not {text!r}")
    value = text.strip()
    match = _TIME_OF_DAY.fullmatch(value) or _DATE_TIME.fullmatch(value)
    if match is None:
        raise ValueError(f"{text!r} is not a time (write HH:MM, HH:MM:SS or a full ISO date-time)")
    hour, minute, second = int(match["h"]), int(match["m"]), int(match["s"] or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"{text!r} is not a valid time of day")
    if match.re is _DATE_TIME:
        date_text = value[:10]
        try:
            datetime.date.fromisoformat(date_text)
        except ValueError:
            raise ValueError(f"{text!r} has an invalid date") from None
    offset = 0
    tz = match.groupdict().get("tz")
    if tz and tz not in ("Z", "z"):
        digits = tz[1:].replace(":", "")
        offset_hours, offset_minutes = int(digits[:2]), int(digits[2:] or 0)
        if offset_hours > 23 or offset_minutes > 59:
            raise ValueError(f"{text!r} has an invalid UTC offset")
        offset = (offset_hours * 3600 + offset_minutes * 60) * (-1 if tz[0] == "-" else 1)
    seconds = (hour * 3600 + minute * 60 + second - offset) % 86400
    return datetime.time(seconds // 3600, (seconds // 60) % 60, seconds % 60)


def format_run_time(t: datetime.time) -> str:
    """A run time as the server reads it back: ``0001-01-01THH:MM:SSZ``."""
    return f"0001-01-01T{t.hour:02d}:{t.minute:02d}:{t.second:02d}Z"
