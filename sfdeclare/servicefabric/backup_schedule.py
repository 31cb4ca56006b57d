"""How the Service Fabric backup service takes and keeps periodic backups for one partition under one policy
body, as numbers: backups per day, their full/incremental split, and the restore points retention keeps. Pure.

The body is the REST shape (read back or declared); durations count as the server stores them (SF-BACKUP-API.md
§3: ``server_interval``, ``server_retention``), run times as UTC times of day.

- **Backups per day.** FrequencyBased: one day divided by the stored Interval (whole minutes or whole hours).
  TimeBased Daily: the number of distinct run times. TimeBased Weekly: run times x run days, averaged over the
  7 days of a week (so 2 times on 3 days = 6/7 a day). RunDays are ignored by a Daily schedule.
- **Full and incremental.** A backup chain is one full backup followed by up to MaxIncrementalBackups
  incremental ones, so 1/(M+1) of the backups are full (steady state; a primary change or a restore, which
  force a full backup early, are not modelled).
- **Restore points kept** under the 6.4 retention rule (``RetentionManager.DeleteFilesForPartition``,
  SF-BACKUP-API.md 2026-12 audit): a pass at time t treats backups created before t - RetentionDuration as
  expired; among them it keeps the newest expired full backup and everything after it, deletes the older ones,
  and never goes below MinimumNumberOfBackups. Passes run on a timer (every day when the RetentionDuration is a
  day or more, else every hour, ``RetentionTimer.GetDueTimeForNextRetentionSchedule``) at a phase nobody
  chooses, so the count right after a pass is given as a range, (fewest, most), over every moment a pass can
  run in steady state; between passes up to one pass period of new backups comes on top. No RetentionPolicy:
  backups are kept for ever, reported as ``None`` ("unbounded"), never as a number.
"""

from __future__ import annotations

import bisect
import datetime
import functools
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sfdeclare.servicefabric.durations import (
    parse_duration,
    parse_run_time,
    server_interval,
    server_retention,
)

DAY = 86400
WEEK = 7 * DAY
_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


@dataclass(frozen=True)
class Schedule:
    """A backup schedule as a pattern that repeats: backups at ``offsets`` seconds into every ``period``."""

    period: int
    offsets: tuple[int, ...]

    @property
    def per_day(self) -> Fraction:
        return Fraction(len(self.offsets) * DAY, self.period)

    @functools.cached_property
    def doubled(self) -> tuple[int, ...]:
        return tuple(2 * o for o in self.offsets)


@dataclass(frozen=True)
class PolicyImpact:
    """What one policy means for each partition it applies to."""

    backups_per_day: Fraction
    full_per_day: Fraction
    incremental_per_day: Fraction
    restore_points: tuple[int, int] | None  # (fewest, most) right after a retention pass; None: unbounded
    schedule: str  # the rule that gave backups_per_day, in words

    @property
    def unbounded(self) -> bool:
        return self.restore_points is None


def schedule_of(body: Mapping[str, Any]) -> Schedule:
    """The repeating pattern of a policy's Schedule. Raises ValueError for a schedule the server would refuse."""
    schedule = body.get("Schedule")
    if not isinstance(schedule, Mapping):
        raise ValueError("the policy has no Schedule")
    kind = schedule.get("ScheduleKind")
    if kind == "FrequencyBased":
        interval = server_interval(parse_duration(str(schedule.get("Interval"))))
        return Schedule(int(interval.total_seconds()), (0,))
    if kind == "TimeBased":
        times = sorted({_seconds_of_day(parse_run_time(str(t))) for t in schedule.get("RunTimes") or ()})
        frequency = schedule.get("ScheduleFrequencyType")
        if frequency == "Daily":
            return Schedule(DAY, tuple(times))
        if frequency == "Weekly":
            days = sorted({_DAYS.index(str(d)) for d in schedule.get("RunDays") or () if str(d) in _DAYS})
            return Schedule(WEEK, tuple(d * DAY + t for d in days for t in times))
        raise ValueError(f"unknown ScheduleFrequencyType {frequency!r}")
    raise ValueError(f"unknown ScheduleKind {kind!r}")


def _seconds_of_day(t: datetime.time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def _describe(body: Mapping[str, Any], schedule: Schedule) -> str:
    raw = body["Schedule"]
    if raw.get("ScheduleKind") == "FrequencyBased":
        return f"every {raw.get('Interval')}: {_number(schedule.per_day)} a day"
    times = len(set(schedule.offsets)) if schedule.period == DAY else None
    if times is not None:
        return f"daily at {times} run {'time' if times == 1 else 'times'}"
    days = len({o // DAY for o in schedule.offsets})
    runs = len(schedule.offsets) // days if days else 0
    return f"weekly, {runs} run {'time' if runs == 1 else 'times'} on {days} {'day' if days == 1 else 'days'}: {_number(schedule.per_day)} a day on average"


def _number(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{float(value):.2f}"


def chain_length(body: Mapping[str, Any]) -> int:
    """One full backup and up to MaxIncrementalBackups incremental ones."""
    return int(str(body.get("MaxIncrementalBackups", 0))) + 1


def retention_of(body: Mapping[str, Any]) -> tuple[int, int] | None:
    """(RetentionDuration in seconds as the server stores it, MinimumNumberOfBackups), or None without one."""
    retention = body.get("RetentionPolicy")
    if not isinstance(retention, Mapping):
        return None
    duration = server_retention(parse_duration(str(retention.get("RetentionDuration"))))
    return int(duration.total_seconds()), max(0, int(str(retention.get("MinimumNumberOfBackups", 0))))


def policy_impact(body: Mapping[str, Any]) -> PolicyImpact:
    """Backups per day, their full/incremental split and the restore points kept, for one partition under
    ``body``. Raises ValueError when the body is not a policy the server would hold."""
    schedule = schedule_of(body)
    length = chain_length(body)
    per_day = schedule.per_day
    full = per_day / length
    retention = retention_of(body)
    points: tuple[int, int] | None
    if retention is None:
        points = None if schedule.offsets else (0, 0)
    else:
        points = restore_points(schedule, length, *retention)
    return PolicyImpact(per_day, full, per_day - full, points, _describe(body, schedule))


def restore_points(schedule: Schedule, chain: int, retention: int, minimum: int) -> tuple[int, int]:
    """The fewest and most backups a partition holds right after a retention pass, over every time the pass can
    run once the schedule has run for longer than the retention.

    The count after a pass at t depends on t alone (not on earlier passes): the backups not yet expired, plus the
    newest expired one's position in its chain (its chain's full backup and what followed it are kept), and at
    least ``minimum``. That count is constant between two consecutive "breakpoints" (a backup is taken, or one
    expires), so one value per stretch between breakpoints, over one period of the pattern of backups and chain
    positions, gives every possible count.
    """
    n = len(schedule.offsets)
    if n == 0:
        return (0, 0)
    backups_per_cycle = n * chain // math.gcd(n, chain)
    cycle = schedule.period * (backups_per_cycle // n)
    # Start well past the first expiry so that every backup the formula counts exists; times are doubled so the
    # middle of every stretch is a whole number.
    start = (retention // schedule.period + 2) * schedule.period + cycle
    points: set[int] = set()
    # the backups taken during the cycle, and those that expire during it
    for shift in (0, retention):
        first = _taken_by(schedule, 2 * (start - shift))
        for k in range(first, first + backups_per_cycle):
            edge = _time_of(schedule, k) + shift
            if edge < start + cycle:
                points.add(2 * edge)
    points.add(2 * start)
    points.add(2 * (start + cycle))
    edges = sorted(points)
    counts = []
    for low, high in itertools.pairwise(edges):
        t2 = (low + high) // 2  # doubled time strictly inside the stretch
        counts.append(_kept_at(schedule, chain, retention, minimum, t2))
    return (min(counts), max(counts))


def _time_of(schedule: Schedule, k: int) -> int:
    """When backup number k is taken (k counts every backup; backup 0 is at offsets[0] of period 0)."""
    n = len(schedule.offsets)
    return (k // n) * schedule.period + schedule.offsets[k % n]


def _taken_by(schedule: Schedule, t2: int) -> int:
    """How many backups (from number 0) are taken strictly before the doubled time t2 (never equal: t2 is odd
    or falls between breakpoints)."""
    whole, rest = divmod(t2, 2 * schedule.period)
    return whole * len(schedule.offsets) + bisect.bisect_left(schedule.doubled, rest)


def _kept_at(schedule: Schedule, chain: int, retention: int, minimum: int, t2: int) -> int:
    taken = _taken_by(schedule, t2)
    expired = _taken_by(schedule, t2 - 2 * retention)
    newest_expired = expired - 1  # its number; backup k is full when k is a multiple of the chain length
    kept = taken - expired + (newest_expired % chain) + 1
    return max(kept, minimum)
