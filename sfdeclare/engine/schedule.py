"""When a backup policy's schedule runs, as pure arithmetic in UTC seconds since the epoch.

A schedule is read from a policy body as the cluster reads it back (SF-BACKUP-API.md §3): FrequencyBased with an
ISO 8601 ``Interval``; TimeBased ``Daily`` or ``Weekly`` with ``RunTimes`` (the server keeps only the UTC time of
day: ``0001-01-01THH:MM:SSZ``) and, for Weekly, ``RunDays`` (Sunday..Saturday).

A FrequencyBased schedule has no fixed phase: the backup service arms a partition's timer one Interval after its
last backup (or after the mapping, for a partition without one: 6.4 source, BackupRestoreManager's BackupTimer),
so its runs are counted from an ``anchor`` the caller gives (the latest backup, or the time the configuration
was applied). TimeBased runs are fixed times and need none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sfdeclare.servicefabric.durations import parse_duration, parse_run_time

DAY = 86_400
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_EPOCH_WEEKDAY = 3  # 1970-01-01 was a Thursday (Monday = 0)

Kind = Literal["FrequencyBased", "Daily", "Weekly"]


class ScheduleError(ValueError):
    """A policy's Schedule cannot be read (a cluster would have refused it)."""


@dataclass(frozen=True)
class Schedule:
    kind: Kind
    interval: int = 0  # seconds (FrequencyBased)
    run_times: tuple[int, ...] = ()  # seconds after UTC midnight, sorted, distinct (TimeBased)
    run_days: frozenset[int] = frozenset()  # weekdays, Monday = 0 (Weekly)

    def describe(self) -> str:
        if self.kind == "FrequencyBased":
            return f"every {_span(self.interval)}"
        times = ", ".join(f"{t // 3600:02d}:{t // 60 % 60:02d}" for t in self.run_times) or "no run time"
        if self.kind == "Daily":
            return f"daily at {times} UTC"
        days = ", ".join(WEEKDAYS[d] for d in sorted(self.run_days))
        return f"weekly on {days} at {times} UTC"

    @property
    def runs(self) -> bool:
        """Whether the schedule runs at all (a TimeBased one with no RunTimes never does)."""
        return self.kind == "FrequencyBased" or bool(self.run_times)

    def next_run(self, after: int, anchor: int | None = None) -> int | None:
        """The first run strictly after ``after`` (FrequencyBased: ``anchor`` + k x Interval, the anchor
        defaulting to ``after``); None when the schedule never runs."""
        if self.kind == "FrequencyBased":
            base = after if anchor is None else anchor
            return base + ((after - base) // self.interval + 1) * self.interval
        if not self.run_times:
            return None
        day = after // DAY
        for d in range(day, day + 9):
            if not self._runs_on(d):
                continue
            for t in self.run_times:
                if d * DAY + t > after:
                    return d * DAY + t
        return None

    def previous_run(self, before: int, anchor: int | None = None) -> int | None:
        """The last run strictly before ``before`` (FrequencyBased: on the anchor's grid, the anchor defaulting
        to ``before``); None when the schedule never runs."""
        if self.kind == "FrequencyBased":
            base = before if anchor is None else anchor
            return base + (-((base - before) // self.interval) - 1) * self.interval
        if not self.run_times:
            return None
        day = before // DAY
        for d in range(day, day - 9, -1):
            if not self._runs_on(d):
                continue
            for t in reversed(self.run_times):
                if d * DAY + t < before:
                    return d * DAY + t
        return None

    def last_run(self, at_or_before: int, anchor: int | None = None) -> int | None:
        """The last run at or before a time."""
        return self.previous_run(at_or_before + 1, anchor)

    def gap_before(self, run: int) -> int:
        """How long before ``run`` the previous run was (FrequencyBased: the Interval)."""
        if self.kind == "FrequencyBased":
            return self.interval
        previous = self.previous_run(run)
        return run - previous if previous is not None else 7 * DAY

    def _runs_on(self, day: int) -> bool:
        return self.kind == "Daily" or (day + _EPOCH_WEEKDAY) % 7 in self.run_days


def parse_schedule(body: Mapping[str, Any]) -> Schedule:
    """The Schedule of a policy body; ScheduleError naming what is wrong."""
    schedule = body.get("Schedule")
    if not isinstance(schedule, Mapping):
        raise ScheduleError("the policy has no Schedule")
    kind = schedule.get("ScheduleKind")
    if kind == "FrequencyBased":
        raw = schedule.get("Interval")
        try:
            seconds = int(parse_duration(str(raw)).total_seconds()) if raw is not None else 0
        except ValueError:
            raise ScheduleError(f"the schedule's Interval {raw!r} is not a duration") from None
        if seconds < 60:
            raise ScheduleError(f"the schedule's Interval {raw!r} is shorter than a minute")
        return Schedule("FrequencyBased", interval=seconds)
    if kind != "TimeBased":
        raise ScheduleError(f"unknown ScheduleKind {kind!r}")
    frequency = schedule.get("ScheduleFrequencyType")
    if frequency not in ("Daily", "Weekly"):
        raise ScheduleError(f"unknown ScheduleFrequencyType {frequency!r}")
    times: set[int] = set()
    for text in schedule.get("RunTimes") or ():
        try:
            t = parse_run_time(text)
        except ValueError as exc:
            raise ScheduleError(f"the schedule's run time: {exc}") from None
        times.add(t.hour * 3600 + t.minute * 60 + t.second)
    days: set[int] = set()
    if frequency == "Weekly":
        for name in schedule.get("RunDays") or ():
            if name not in WEEKDAYS:
                raise ScheduleError(f"the schedule's run day {name!r} is not a day of the week")
            days.add(WEEKDAYS.index(name))
        if not days:
            raise ScheduleError("a Weekly schedule without RunDays")
    return Schedule(frequency, run_times=tuple(sorted(times)), run_days=frozenset(days))


def _span(seconds: int) -> str:
    if seconds % DAY == 0:
        return f"{seconds // DAY} day{'s' if seconds != DAY else ''}"
    if seconds % 3600 == 0:
        return f"{seconds // 3600} hour{'s' if seconds != 3600 else ''}"
    if seconds % 60 == 0:
        return f"{seconds // 60} minutes"
    return f"{seconds} seconds"


def span(seconds: int) -> str:
    """A duration as a person reads it: ``1 day``, ``12 hours``, ``90 minutes``, ``1 day 6 hours``."""
    if seconds < 0:
        return "-" + span(-seconds)
    days, rest = divmod(seconds, DAY)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    parts = [f"{days}d"] if days else []
    if hours:
        parts.append(f"{hours}h")
    if minutes or not parts:
        parts.append(f"{minutes}m")
    return " ".join(parts)
