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
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sfdeclare.servicefabric.backup_schedule import DAY, schedule_of


@dataclass(frozen=True)
class Cadence:
    """The two figures of one schedule; ``None`` where the schedule never runs (no run times or no days)."""

    most_per_day: int
    longest_gap: datetime.timedelta | None


def cadence(schedule: Mapping[str, Any]) -> Cadence:
    """The cadence of a Schedule mapping (REST shape). Raises ValueError for one the server would refuse."""
    pattern = schedule_of({"Schedule": schedule})
    if pattern.period <= DAY:  # FrequencyBased up to a day, or Daily: every UTC day alike
        most = max(1, math.ceil(DAY / pattern.period)) * len(pattern.offsets)
    else:  # a longer interval, or Weekly: the busiest UTC day of the period
        most = max(Counter(offset // DAY for offset in pattern.offsets).values(), default=0)
    return Cadence(most, _longest_gap(list(pattern.offsets), pattern.period))


def _longest_gap(runs: list[int], period: int) -> datetime.timedelta | None:
    if not runs:
        return None
    gaps = [later - earlier for earlier, later in itertools.pairwise(runs)]
    gaps.append(runs[0] + period - runs[-1])
    return datetime.timedelta(seconds=max(gaps))
