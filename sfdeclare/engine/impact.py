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
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sfdeclare.engine.plan import Action, Change, state_after
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


@dataclass(frozen=True)
class Totals:
    """Sums over a set of partitions: how many, how many take backups (``protected``), are ``suspended``, use a
    policy whose body is not known (``unpriced``) or keep backups for ever (``unbounded``, left out of
    ``restore_points``, which is (fewest, most) summed)."""

    partitions: int = 0
    protected: int = 0
    suspended: int = 0
    unpriced: int = 0
    unbounded: int = 0
    backups_per_day: Fraction = Fraction(0)
    full_per_day: Fraction = Fraction(0)
    incremental_per_day: Fraction = Fraction(0)
    restore_points: tuple[int, int] = (0, 0)

    def plus(self, other: Totals) -> Totals:
        return Totals(
            self.partitions + other.partitions,
            self.protected + other.protected,
            self.suspended + other.suspended,
            self.unpriced + other.unpriced,
            self.unbounded + other.unbounded,
            self.backups_per_day + other.backups_per_day,
            self.full_per_day + other.full_per_day,
            self.incremental_per_day + other.incremental_per_day,
            (
                self.restore_points[0] + other.restore_points[0],
                self.restore_points[1] + other.restore_points[1],
            ),
        )


def priced(setting: Effective, impact: PolicyImpact | None, count: int = 1) -> Totals:
    """``count`` partitions with ``setting``, priced with their policy's ``impact`` (None: body unknown)."""
    if setting.policy is None:
        return Totals(partitions=count)
    if setting.suspended:
        return Totals(partitions=count, suspended=count)
    if impact is None:
        return Totals(partitions=count, unpriced=count)
    points = impact.restore_points
    return Totals(
        partitions=count,
        protected=count,
        unbounded=count if points is None else 0,
        backups_per_day=impact.backups_per_day * count,
        full_per_day=impact.full_per_day * count,
        incremental_per_day=impact.incremental_per_day * count,
        restore_points=(0, 0) if points is None else (points[0] * count, points[1] * count),
    )


@dataclass(frozen=True)
class ApplicationImpact:
    """One application's partitions whose backups the plan changes, priced before and after."""

    application: str
    before: Totals = Totals()
    after: Totals = Totals()
    services_gaining: int = 0  # services that take no backups now (none, or suspended) and will
    services_losing: int = 0  # services that take backups now and will not
    unknown_services: int = 0  # services the plan changes whose partition count is not known


@dataclass(frozen=True)
class PlanImpact:
    """The impact of a plan: per-partition figures of every policy before and after, and the totals over the
    partitions whose backups change (the others cost the same before and after), per application and overall."""

    policies_before: Mapping[str, PolicyImpact]
    policies_after: Mapping[str, PolicyImpact]
    applications: tuple[ApplicationImpact, ...]
    before: Totals
    after: Totals

    @property
    def unknown_services(self) -> int:
        return sum(a.unknown_services for a in self.applications)

    @property
    def services_gaining(self) -> int:
        return sum(a.services_gaining for a in self.applications)

    @property
    def services_losing(self) -> int:
        return sum(a.services_losing for a in self.applications)

    def application(self, name: str) -> ApplicationImpact | None:
        return next((a for a in self.applications if a.application == name), None)


def _impacts(bodies: Mapping[str, Mapping[str, Any]]) -> dict[str, PolicyImpact]:
    out: dict[str, PolicyImpact] = {}
    for name, body in bodies.items():
        try:
            out[name] = policy_impact(body)
        except (ValueError, TypeError, KeyError):
            continue  # priced as unknown: a body the server would not hold
    return out


def policies_after(changes: Sequence[Change], live: LiveState) -> dict[str, Mapping[str, Any]]:
    """Every policy body once ``changes`` are applied: live bodies, replaced by what they create or update,
    without what they delete."""
    bodies: dict[str, Mapping[str, Any]] = dict(live.policies)
    for change in changes:
        if not change.address.startswith("policy["):
            continue
        name = change.address[len("policy[") : -1]
        if change.action in (Action.CREATE_POLICY, Action.UPDATE_POLICY) and isinstance(
            change.after, Mapping
        ):
            bodies[name] = change.after
        elif change.action is Action.DELETE_POLICY:
            bodies.pop(name, None)
    return bodies


def _is_backing_up(e: Effective) -> bool:
    return e.policy is not None and not e.suspended


class _Walk:
    """Resolves every backup-eligible partition of the read applications before and after the changes."""

    def __init__(self, changes: Sequence[Change], live: LiveState) -> None:
        self.live = live
        self.before_policies = _impacts(live.policies)
        self.after_policies = _impacts(policies_after(changes, live))
        self.after_mappings, self.after_suspensions = state_after(live, changes)
        self.explicit: dict[
            str, set[str]
        ] = {}  # service -> partitions with a mapping or suspension of their own
        for ref in (*live.mappings, *self.after_mappings, *live.suspensions, *self.after_suspensions):
            if ref.partition is not None and ref.service is not None:
                self.explicit.setdefault(ref.service, set()).add(ref.partition)

    def prices(self, before: Effective, after: Effective) -> tuple[Totals, Totals] | None:
        """The two prices of one partition, or None when its backups do not change."""
        old = priced(before, self.before_policies.get(before.policy or ""))
        new = priced(after, self.after_policies.get(after.policy or ""))
        if before == after and old == new:
            return None
        return old, new

    def services(self, app: LiveApplication) -> Iterator[tuple[str, Effective, Effective]]:
        app_ref = EntityRef(app.name)
        app_before = inherit(NOTHING, app_ref, self.live.mappings, self.live.suspensions)
        app_after = inherit(NOTHING, app_ref, self.after_mappings, self.after_suspensions)
        for svc in app.services or ():
            if svc.backup_eligible:
                ref = EntityRef(app.name, svc.name)
                yield (
                    svc.name,
                    inherit(app_before, ref, self.live.mappings, self.live.suspensions),
                    inherit(app_after, ref, self.after_mappings, self.after_suspensions),
                )

    def partition(
        self, app: str, svc: str, pid: str, before: Effective, after: Effective
    ) -> tuple[Effective, Effective]:
        ref = EntityRef(app, svc, pid)
        return (
            inherit(before, ref, self.live.mappings, self.live.suspensions),
            inherit(after, ref, self.after_mappings, self.after_suspensions),
        )

    def changed(self, app: LiveApplication, svc_name: str, before: Effective, after: Effective) -> bool:
        """Whether any partition of a service whose partitions were not read can change."""
        if self.prices(before, after) is not None:
            return True
        return any(
            self.prices(*self.partition(app.name, svc_name, pid, before, after)) is not None
            for pid in self.explicit.get(svc_name, ())
        )


def services_to_count(changes: Sequence[Change], live: LiveState) -> tuple[str, ...]:
    """The services whose partitions ``live`` does not hold and whose backups ``changes`` change: the ones whose
    partitions must be counted for :func:`plan_impact` to total them."""
    walk = _Walk(changes, live)
    out: list[str] = []
    for name in sorted(live.configured_applications):
        app = live.applications.get(name)
        if app is None:
            continue
        for svc_name, before, after in walk.services(app):
            svc = app.service(svc_name)
            if svc is not None and svc.partitions is None and walk.changed(app, svc_name, before, after):
                out.append(svc_name)
    return tuple(out)


def plan_impact(
    changes: Sequence[Change], live: LiveState, partition_counts: Mapping[str, int] | None = None
) -> PlanImpact:
    """Backups per day and restore points before and after ``changes`` (a plan's actions), per application and
    overall, over the partitions whose backups change.

    ``partition_counts`` gives, for services whose partitions ``live`` does not hold (service name -> count),
    how many partitions they have (see :func:`services_to_count`); a changed service in neither is counted in
    ``unknown_services``.
    """
    counts = partition_counts or {}
    walk = _Walk(changes, live)
    apps: list[ApplicationImpact] = []
    overall_before = overall_after = Totals()
    for name in sorted(live.configured_applications):
        app = live.applications.get(name)
        if app is None:
            continue
        before_total = after_total = Totals()
        gaining = losing = unknown = 0
        for svc_name, svc_before, svc_after in walk.services(app):
            if _is_backing_up(svc_after) and not _is_backing_up(svc_before):
                gaining += 1
            elif _is_backing_up(svc_before) and not _is_backing_up(svc_after):
                losing += 1
            uncounted = False
            for pair, count in _partition_groups(walk, app, svc_name, svc_before, svc_after, counts):
                prices = walk.prices(*pair)
                if prices is None:
                    continue
                if count is None:
                    uncounted = True
                    continue
                before_total = before_total.plus(_times(prices[0], count))
                after_total = after_total.plus(_times(prices[1], count))
            unknown += uncounted
        if before_total == after_total == Totals() and not (gaining or losing or unknown):
            continue
        apps.append(ApplicationImpact(name, before_total, after_total, gaining, losing, unknown))
        overall_before = overall_before.plus(before_total)
        overall_after = overall_after.plus(after_total)
    return PlanImpact(walk.before_policies, walk.after_policies, tuple(apps), overall_before, overall_after)


def _times(totals: Totals, count: int) -> Totals:
    if count == 1:
        return totals
    return Totals(
        totals.partitions * count,
        totals.protected * count,
        totals.suspended * count,
        totals.unpriced * count,
        totals.unbounded * count,
        totals.backups_per_day * count,
        totals.full_per_day * count,
        totals.incremental_per_day * count,
        (totals.restore_points[0] * count, totals.restore_points[1] * count),
    )


def _partition_groups(
    walk: _Walk,
    app: LiveApplication,
    svc_name: str,
    before: Effective,
    after: Effective,
    counts: Mapping[str, int],
) -> Iterator[tuple[tuple[Effective, Effective], int | None]]:
    """(before, after) settings of a service's partitions, with how many share them (None: not known)."""
    svc = app.service(svc_name)
    if svc is not None and svc.partitions is not None:
        for p in svc.partitions:
            yield walk.partition(app.name, svc_name, p.id, before, after), 1
        return
    total = counts.get(svc_name)
    own = sorted(walk.explicit.get(svc_name, ()))
    if total is None:
        yield (before, after), None
        for pid in own:
            yield walk.partition(app.name, svc_name, pid, before, after), None
        return
    own = own[:total]
    if total > len(own):
        yield (before, after), total - len(own)
    for pid in own:
        yield walk.partition(app.name, svc_name, pid, before, after), 1
