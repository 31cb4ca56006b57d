"""ISO 8601 durations the way the server's .NET code reads and writes them.

The server parses durations with ``XmlConvert.ToTimeSpan`` (a year counts 365 days, a month 30) and echoes them
with ``XmlConvert.ToString(TimeSpan)`` (``P1DT2H30M``); run times are in ``run_times``. Independent of
``sfdeclare.servicefabric.durations`` on purpose.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal, InvalidOperation

_DURATION = re.compile(
    r"^(?P<sign>-)?P(?!$)(?:(?P<years>\d+)Y)?(?:(?P<months>\d+)M)?(?:(?P<days>\d+)D)?"
    r"(?:T(?!$)(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d+)?)S)?)?$"
)

_MICROSECONDS_PER_SECOND = 1_000_000
# TimeSpan.MaxValue is about 10.7 million days; larger values fail to convert on the server.
_MAX_SECONDS = Decimal(922_337_203_685)


def parse_duration(text: str) -> timedelta:
    """Parse an xsd:duration; raise ValueError with a short reason when it is not one."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise ValueError(f"'{text}' is not a valid ISO 8601 duration")
    parts = match.groupdict()
    try:
        seconds = Decimal(parts["seconds"] or 0)
    except InvalidOperation as exc:  # the pattern already guarantees digits; kept for safety of Decimal
        raise ValueError(f"'{text}' is not a valid ISO 8601 duration") from exc
    total = (
        (int(parts["years"] or 0) * 365 + int(parts["months"] or 0) * 30 + int(parts["days"] or 0)) * 86400
        + int(parts["hours"] or 0) * 3600
        + int(parts["minutes"] or 0) * 60
    ) + seconds
    if total > _MAX_SECONDS:
        raise ValueError(f"'{text}' is too large a duration")
    micros = int((total * _MICROSECONDS_PER_SECOND).to_integral_value(rounding="ROUND_DOWN"))
    delta = timedelta(microseconds=micros)
    return -delta if parts["sign"] else delta


def format_duration(value: timedelta) -> str:
    """XmlConvert.ToString(TimeSpan): ``PT0S`` for zero, days folded out of hours, zero parts left out."""
    micros = (value.days * 86400 + value.seconds) * _MICROSECONDS_PER_SECOND + value.microseconds
    sign = "-" if micros < 0 else ""
    micros = abs(micros)
    if micros == 0:
        return "PT0S"
    days, rest = divmod(micros, 86400 * _MICROSECONDS_PER_SECOND)
    hours, rest = divmod(rest, 3600 * _MICROSECONDS_PER_SECOND)
    minutes, rest = divmod(rest, 60 * _MICROSECONDS_PER_SECOND)
    seconds, fraction = divmod(rest, _MICROSECONDS_PER_SECOND)
    out = f"{sign}P"
    if days:
        out += f"{days}D"
    if hours or minutes or seconds or fraction:
        out += "T"
        if hours:
            out += f"{hours}H"
        if minutes:
            out += f"{minutes}M"
        if seconds or fraction:
            out += f"{seconds}" + (f".{fraction:06d}".rstrip("0") if fraction else "") + "S"
    return out


def total_minutes(value: timedelta) -> int:
    """Whole minutes, truncated toward zero like ``(int)TimeSpan.TotalMinutes``."""
    seconds = value.total_seconds()
    return int(seconds / 60)


def total_hours(value: timedelta) -> int:
    """Whole hours, truncated toward zero like ``(int)TimeSpan.TotalHours``."""
    return int(value.total_seconds() / 3600)


def minutes_component(value: timedelta) -> int:
    """``TimeSpan.Minutes``: the minutes part (0..59) of the absolute value, with the value's sign."""
    seconds = int(abs(value.total_seconds()))
    part = (seconds // 60) % 60
    return -part if value < timedelta(0) else part
