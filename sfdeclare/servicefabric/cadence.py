"""How often a backup schedule runs, as the guardrails judge it: the most backups it can take in one UTC day and
the longest time it can leave between two backups. Pure.

Durations count as the server stores them (SF-BACKUP-API.md §3, ``server_interval``), run times as UTC times of
day. FrequencyBased: the first backup's time of day depends on when backup was enabled, so a day can hold
``ceil(24 hours / Interval)`` backups, and the gap is the Interval. TimeBased Daily: its distinct run times a
day; the gap is the longest between consecutive run times, across midnight. TimeBased Weekly: its run times on
each day it runs; the gap is the longest between consecutive runs across the week (RunDays Monday only: 7 days).
"""

from __future__ import annotations

import datetime
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sfdeclare.servicefabric.durations import parse_duration, parse_run_time, server_interval

DAY = 86400
WEEK = 7 * DAY
DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


@dataclass(frozen=True)
class Cadence:
    """The two figures of one schedule; ``None`` where the schedule never runs (no run times or no days)."""

    most_per_day: int
    longest_gap: datetime.timedelta | None


def cadence(schedule: Mapping[str, Any]) -> Cadence:
    """The cadence of a Schedule mapping (REST shape). Raises ValueError for one the server would refuse."""
    kind = schedule.get("ScheduleKind")
    if kind == "FrequencyBased":
        interval = int(server_interval(parse_duration(str(schedule.get("Interval")))).total_seconds())
        return Cadence(max(1, math.ceil(DAY / interval)), datetime.timedelta(seconds=interval))
    if kind != "TimeBased":
        raise ValueError(f"unknown ScheduleKind {kind!r}")
    times = sorted({_seconds(parse_run_time(str(t))) for t in schedule.get("RunTimes") or ()})
    frequency = schedule.get("ScheduleFrequencyType")
    if frequency == "Daily":
        return Cadence(len(times), _longest_gap(times, DAY))
    if frequency == "Weekly":
        days = sorted({DAYS.index(str(d)) for d in schedule.get("RunDays") or () if str(d) in DAYS})
        runs = [d * DAY + t for d in days for t in times]
        return Cadence(len(times) if days else 0, _longest_gap(runs, WEEK))
    raise ValueError(f"unknown ScheduleFrequencyType {frequency!r}")


def _seconds(t: datetime.time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second


def _longest_gap(runs: list[int], period: int) -> datetime.timedelta | None:
    if not runs:
        return None
    gaps = [later - earlier for earlier, later in itertools.pairwise(runs)]
    gaps.append(runs[0] + period - runs[-1])
    return datetime.timedelta(seconds=max(gaps))
