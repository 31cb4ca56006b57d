"""Backup schedules as arithmetic: the times a policy's schedule gives, without ticking through them.

A schedule is a ``Pattern``: tick ``k`` falls at ``base + (k // n) * period + offsets[k % n]`` (``n`` offsets,
sorted, each in ``[0, period)``). FrequencyBased is one offset every Interval counted from the moment the
schedule was armed; TimeBased Daily repeats the RunTimes every day, Weekly the RunDays x RunTimes every week
(times of day in UTC, as the server stores them). Finding the ticks in a time range is a division and a bisection,
so advancing a 40,000-partition cluster by a week costs the same whatever the interval.
"""

from __future__ import annotations

import json
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sfdeclare.emulator.durations import parse_duration

DAY = 86_400
WEEK = 7 * DAY
# 1970-01-04 was a Sunday: weekly patterns count from a Sunday midnight (UTC), as .NET's DayOfWeek does.
FIRST_SUNDAY = 3 * DAY
DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


@dataclass(frozen=True)
class Pattern:
    base: int
    period: int
    offsets: tuple[int, ...]

    def at(self, k: int) -> int:
        """The time of tick ``k``."""
        q, r = divmod(k, len(self.offsets))
        return self.base + q * self.period + self.offsets[r]

    def first_after(self, t: int) -> int:
        """The index of the first tick strictly after ``t``."""
        q, r = divmod(t - self.base, self.period)
        return q * len(self.offsets) + bisect_right(self.offsets, r)

    def first_at_or_after(self, t: int) -> int:
        q, r = divmod(t - self.base, self.period)
        return q * len(self.offsets) + bisect_left(self.offsets, r)

    def to_json(self) -> str:
        return json.dumps([self.base, self.period, list(self.offsets)], separators=(",", ":"))

    @staticmethod
    def from_json(text: str) -> Pattern:
        return _parse(text)


@lru_cache(maxsize=4096)
def _parse(text: str) -> Pattern:
    base, period, offsets = json.loads(text)
    return Pattern(int(base), int(period), tuple(int(o) for o in offsets))


def single(at: int) -> Pattern:
    """The pattern of a backup that is not periodic (an on-demand backup): tick 0 at ``at``."""
    return Pattern(at, 1, (0,))


def _time_of_day(run_time: str) -> int:
    """``0001-01-01THH:MM:SSZ`` (the stored form) -> seconds after midnight."""
    clock = run_time.split("T", 1)[1].rstrip("Z")
    hours, minutes, seconds = (int(float(part)) for part in clock.split(":"))
    return hours * 3600 + minutes * 60 + seconds


def pattern_for(schedule: dict[str, Any], armed_at: int) -> Pattern | None:
    """The pattern of a stored (normalised) schedule armed at ``armed_at``; None when it gives no time at all."""
    if schedule["ScheduleKind"] == "FrequencyBased":
        interval = int(parse_duration(schedule["Interval"]).total_seconds())
        return Pattern(armed_at, interval, (0,)) if interval > 0 else None
    times = sorted({_time_of_day(t) for t in schedule.get("RunTimes") or []})
    if not times:
        return None
    if schedule.get("ScheduleFrequencyType") == "Daily":
        return Pattern(0, DAY, tuple(times))
    days = sorted({DAYS.index(d) for d in schedule.get("RunDays") or [] if d in DAYS})
    if not days:
        return None
    return Pattern(FIRST_SUNDAY, WEEK, tuple(d * DAY + t for d in days for t in times))
