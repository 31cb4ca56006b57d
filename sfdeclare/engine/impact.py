"""What a backup policy costs and protects, per partition, and what a plan changes in total. Pure; no I/O.

Per policy body (the REST shape, read back or declared; durations compared by value as the server stores them,
SF-BACKUP-API.md §3):

- **Backups per day** (per partition). FrequencyBased: one day divided by the stored Interval (whole minutes or
  whole hours, ``server_interval``). TimeBased Daily: the number of distinct run times (UTC time of day).
  TimeBased Weekly: run times x run days, averaged over the 7 days of a week (so 2 times on 3 days = 6/7 a day).
- **Full and incremental.** A backup chain is one full backup followed by up to MaxIncrementalBackups
  incremental ones, so a fraction 1/(M+1) of the backups are full (steady state; a primary change or a restore,
  which also force a full backup, are not modelled).
- **Restore points kept** under Service Fabric's retention (6.4 ``RetentionManager.DeleteFilesForPartition``,
  SF-BACKUP-API.md 2026-12 audit): a pass at time t treats backups created before t - RetentionDuration as expired;
  among them it keeps the newest expired full backup and everything after it, deletes the older ones, and never
  goes below MinimumNumberOfBackups. Passes run on a timer (every day when the RetentionDuration is a day or more,
  else every hour, ``RetentionTimer.GetDueTimeForNextRetentionSchedule``) at a phase nobody chooses, so the count
  right after a pass is given as a range, (fewest, most), over every moment a pass can run in steady state.
  Between passes up to one pass period of new backups is added on top. No RetentionPolicy: backups are kept for
  ever, reported as ``None`` ("unbounded"), never as a number.

Across a plan (:func:`plan_impact`): every partition of every application whose configuration the plan read is
resolved before and after the plan (the live mappings and suspensions, then the plan's mapping actions applied,
``state_after``), and priced with the policy body it has before (live) and after (the body the plan creates or
updates). Partitions whose effective policy changes move between policies; a policy update re-prices every
partition under it; suspended partitions take no backups (their restore points are not counted: retention keeps
ageing them out down to the last chain). Services whose partitions the plan did not read are counted with the
partition counts the caller supplies, else reported as ``unknown_services``.
"""

from __future__ import annotations

import bisect
import datetime
import functools
import itertools
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from sfdeclare.engine.plan import Action, Plan, state_after
from sfdeclare.model.addresses import EntityRef
from sfdeclare.model.inheritance import NOTHING, Effective, inherit
from sfdeclare.model.live import LiveApplication, LiveState
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


# --- a plan's impact -----------------------------------------------------------------------------------------


@dataclass
class Totals:
    """Sums over a set of partitions. ``restore_points`` is (fewest, most) summed; ``unbounded`` partitions keep
    backups for ever and are left out of it. ``unpriced`` partitions use a policy whose body is not known."""

    partitions: int = 0
    protected: int = 0
    suspended: int = 0
    unpriced: int = 0
    unbounded: int = 0
    backups_per_day: Fraction = Fraction(0)
    full_per_day: Fraction = Fraction(0)
    incremental_per_day: Fraction = Fraction(0)
    restore_points: tuple[int, int] = (0, 0)

    def add(self, setting: Effective, impact: PolicyImpact | None, count: int) -> None:
        self.partitions += count
        if setting.policy is None:
            return
        if setting.suspended:
            self.suspended += count
            return
        if impact is None:
            self.unpriced += count
            return
        self.protected += count
        self.backups_per_day += impact.backups_per_day * count
        self.full_per_day += impact.full_per_day * count
        self.incremental_per_day += impact.incremental_per_day * count
        if impact.restore_points is None:
            self.unbounded += count
        else:
            low, high = impact.restore_points
            self.restore_points = (
                self.restore_points[0] + low * count,
                self.restore_points[1] + high * count,
            )


@dataclass
class ApplicationImpact:
    application: str
    before: Totals = field(default_factory=Totals)
    after: Totals = field(default_factory=Totals)
    services_gaining: int = 0  # a service with no backup (or suspended) that takes backups after the plan
    services_losing: int = 0  # the opposite
    partitions_moving: int = 0  # partitions whose effective policy or suspension changes
    unknown_services: int = 0  # services whose partitions the plan did not read nor was told how many

    @property
    def changed(self) -> bool:
        return self.before != self.after or bool(self.services_gaining or self.services_losing)


@dataclass(frozen=True)
class PlanImpact:
    policies_before: Mapping[str, PolicyImpact]
    policies_after: Mapping[str, PolicyImpact]
    applications: tuple[ApplicationImpact, ...]
    before: Totals
    after: Totals

    @property
    def unknown_services(self) -> int:
        return sum(a.unknown_services for a in self.applications)


def _impacts(bodies: Mapping[str, Mapping[str, Any]]) -> dict[str, PolicyImpact]:
    out: dict[str, PolicyImpact] = {}
    for name, body in bodies.items():
        try:
            out[name] = policy_impact(body)
        except (ValueError, TypeError, KeyError):
            continue  # priced as unknown: a body the server would not hold
    return out


def policies_after(plan: Plan, live: LiveState) -> dict[str, Mapping[str, Any]]:
    """Every policy body once the plan is applied: live bodies, replaced by what the plan creates or updates,
    without what it deletes."""
    bodies: dict[str, Mapping[str, Any]] = dict(live.policies)
    for change in plan.changes:
        name = change.address[len("policy[") : -1] if change.address.startswith("policy[") else None
        if name is None:
            continue
        if change.action in (Action.CREATE_POLICY, Action.UPDATE_POLICY) and isinstance(
            change.after, Mapping
        ):
            bodies[name] = change.after
        elif change.action is Action.DELETE_POLICY:
            bodies.pop(name, None)
    return bodies


def _is_backing_up(e: Effective) -> bool:
    return e.policy is not None and not e.suspended


def plan_impact(plan: Plan, live: LiveState, partition_counts: Mapping[str, int] | None = None) -> PlanImpact:
    """Backups per day and restore points before and after ``plan``, per application and overall.

    ``partition_counts`` gives, for services whose partitions ``live`` does not hold (service name -> count),
    how many partitions they have; services in neither are reported as ``unknown_services``.
    """
    counts = partition_counts or {}
    before_policies = _impacts(live.policies)
    after_policies = _impacts(policies_after(plan, live))
    after_mappings, after_suspensions = state_after(live, plan.changes)
    apps: list[ApplicationImpact] = []
    overall_before, overall_after = Totals(), Totals()
    for name in sorted(live.configured_applications):
        app = live.applications.get(name)
        if app is None:
            continue
        result = ApplicationImpact(name)
        for ref_pair, count in _partitions(app, live, counts, result, after_mappings, after_suspensions):
            before, after = ref_pair
            for totals, setting, priced in (
                (result.before, before, before_policies),
                (result.after, after, after_policies),
            ):
                totals.add(setting, priced.get(setting.policy or ""), count)
            if before != after:
                result.partitions_moving += count
        apps.append(result)
        for total, part in ((overall_before, result.before), (overall_after, result.after)):
            _merge(total, part)
    return PlanImpact(before_policies, after_policies, tuple(apps), overall_before, overall_after)


def _merge(total: Totals, part: Totals) -> None:
    total.partitions += part.partitions
    total.protected += part.protected
    total.suspended += part.suspended
    total.unpriced += part.unpriced
    total.unbounded += part.unbounded
    total.backups_per_day += part.backups_per_day
    total.full_per_day += part.full_per_day
    total.incremental_per_day += part.incremental_per_day
    total.restore_points = (
        total.restore_points[0] + part.restore_points[0],
        total.restore_points[1] + part.restore_points[1],
    )


def _partitions(
    app: LiveApplication,
    live: LiveState,
    counts: Mapping[str, int],
    result: ApplicationImpact,
    after_mappings: Mapping[EntityRef, str],
    after_suspensions: frozenset[EntityRef],
) -> Iterable[tuple[tuple[Effective, Effective], int]]:
    """(before, after) settings of the application's partitions, with how many partitions share them."""
    app_ref = EntityRef(app.name)
    app_before = inherit(NOTHING, app_ref, live.mappings, live.suspensions)
    app_after = inherit(NOTHING, app_ref, after_mappings, after_suspensions)
    explicit: dict[str, set[str]] = {}
    for ref in (*live.mappings, *after_mappings, *live.suspensions, *after_suspensions):
        if ref.application == app.name and ref.partition is not None and ref.service is not None:
            explicit.setdefault(ref.service, set()).add(ref.partition)
    for svc in app.services or ():
        if not svc.backup_eligible:
            continue
        svc_ref = EntityRef(app.name, svc.name)
        svc_before = inherit(app_before, svc_ref, live.mappings, live.suspensions)
        svc_after = inherit(app_after, svc_ref, after_mappings, after_suspensions)
        if _is_backing_up(svc_after) and not _is_backing_up(svc_before):
            result.services_gaining += 1
        elif _is_backing_up(svc_before) and not _is_backing_up(svc_after):
            result.services_losing += 1
        if svc.partitions is not None:
            ids = [p.id for p in svc.partitions]
        else:
            total = counts.get(svc.name)
            if total is None:
                result.unknown_services += 1
                continue
            ids = sorted(explicit.get(svc.name, set()))[:total]
            inheriting = total - len(ids)
            if inheriting:
                yield (svc_before, svc_after), inheriting
        for pid in ids:
            ref = EntityRef(app.name, svc.name, pid)
            yield (
                (
                    inherit(svc_before, ref, live.mappings, live.suspensions),
                    inherit(svc_after, ref, after_mappings, after_suspensions),
                ),
                1,
            )
