"""Backup status: is every partition the configuration covers backed up as its schedule says? Pure:
(declaration, live state, latest backups, health, now) -> StatusReport.

Covered partitions: every partition of every backup-eligible service (Stateful with persisted state) of every
declared application that exists. Each is exactly one of (issue #17):

- ``unprotected``: no effective policy (partition > service > application). A problem only where the
  configuration requires backup: the service (or the partition) is named in the configuration, or its
  application declares a policy; otherwise listed.
- ``suspended``: its effective suspension is set (``suspended_from`` says at which level). Listed, not a problem
  (a suspension nothing declares is drift, which ``sfdeclare drift`` reports).
- ``failing``: the backup service's health report on it is a Warning (or Error): "Failed to take periodic
  backup". Only partitions that are not ``ok`` by their backups are asked (``health_wanted``).
- ``late``: a run of its schedule after its latest backup is older than the grace.
- ``no_backup_yet``: nothing listed. Service Fabric keeps no time a mapping was made, so this is a problem only
  when ``since`` (when the configuration was applied) says its first run is past its grace.
- ``ok``: otherwise.

The grace of a run is ``grace`` when given, else half the gap before that run, at least 30 minutes. The next run
after a backup is the schedule's next run time (TimeBased) or one Interval after it (FrequencyBased, whose
timer the backup service arms from the last backup); a partition is late when any run after its latest backup
and at or before now is more than its grace old. Times are whole UTC seconds since the epoch.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from sfdeclare.engine.schedule import Schedule, ScheduleError, parse_schedule
from sfdeclare.model.addresses import EntityRef, application_name, service_name
from sfdeclare.model.declaration import Declaration
from sfdeclare.model.inheritance import NOTHING, Effective, inherit
from sfdeclare.model.live import LivePartition, LiveState
from sfdeclare.servicefabric.backups import BackupHealth, BackupPoint

StatusClass = Literal["ok", "late", "failing", "no_backup_yet", "suspended", "unprotected"]
CLASSES: tuple[StatusClass, ...] = ("failing", "late", "no_backup_yet", "unprotected", "suspended", "ok")
NowSource = Literal["cluster", "local", "option"]
MIN_GRACE = 30 * 60


@dataclass(frozen=True)
class StatusOptions:
    now: int
    now_source: NowSource = "cluster"
    since: int | None = None
    grace: int | None = None  # seconds; None: half the gap before each run, at least MIN_GRACE
    endpoint: str = ""


@dataclass(frozen=True)
class PartitionStatus:
    """One covered partition's verdict and the facts it rests on."""

    application: str
    service: str
    partition: LivePartition
    status: StatusClass
    problem: bool
    policy: str | None = None
    policy_from: str | None = None
    suspended_from: str | None = None
    schedule: Schedule | None = None
    latest_backup: int | None = None
    latest_type: str | None = None
    missed_run: int | None = None  # the first run after the latest backup (or after since) past its grace
    grace: int | None = None  # of missed_run, or of the next run
    next_run: int | None = None  # the next run after the latest backup (or after since)
    health: str | None = None  # the backup health report's description, when unhealthy
    required: bool = False  # the configuration requires backup here
    schedule_error: str | None = None

    @property
    def address(self) -> str:
        return EntityRef(self.application, self.service, self.partition.id).address


@dataclass(frozen=True)
class StatusReport:
    partitions: tuple[PartitionStatus, ...]
    options: StatusOptions
    missing_applications: tuple[str, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)
    files: tuple[str, ...] = ()  # the configuration files (where SARIF points a partition's finding)

    @property
    def has_problems(self) -> bool:
        return any(p.problem for p in self.partitions)

    def counts(self) -> dict[str, int]:
        counts: dict[str, int] = {c: 0 for c in CLASSES}
        for p in self.partitions:
            counts[p.status] += 1
        return counts

    def problems(self) -> int:
        return sum(1 for p in self.partitions if p.problem)

    def by_application(self) -> dict[str, list[PartitionStatus]]:
        grouped: dict[str, list[PartitionStatus]] = {}
        for p in self.partitions:
            grouped.setdefault(p.application, []).append(p)
        return grouped


def latest_by_partition(points: Iterable[BackupPoint]) -> dict[tuple[str, str], BackupPoint]:
    """The newest listed backup of each (service, partition id): a partition appears once per storage."""
    latest: dict[tuple[str, str], BackupPoint] = {}
    for point in points:
        key = (point.service, point.partition)
        known = latest.get(key)
        if known is None or point.created > known.created:
            latest[key] = point
    return latest


def grace_of(schedule: Schedule, run: int, grace: int | None) -> int:
    return grace if grace is not None else max(schedule.gap_before(run) // 2, MIN_GRACE)


def first_missed(
    schedule: Schedule, after: int, now: int, grace: int | None
) -> tuple[int | None, int | None]:
    """The first run strictly after ``after`` (anchored there for FrequencyBased) that is more than its grace
    older than ``now``, or None; and the first run after ``after`` (the next one expected)."""
    anchor = after if schedule.kind == "FrequencyBased" else None
    first = run = schedule.next_run(after, anchor)
    # Runs differ in grace only by the gap before each (TimeBased, default grace): a later run can be overdue
    # while an earlier one is not. With one grace for all, the first run is the most overdue.
    same_grace = grace is not None or schedule.kind == "FrequencyBased"
    youngest_overdue = now - (grace if grace is not None else MIN_GRACE)
    while run is not None and run < youngest_overdue:
        if run + grace_of(schedule, run, grace) < now:
            return run, first
        if same_grace:
            break
        run = schedule.next_run(run)
    return None, first


def status(
    declaration: Declaration,
    live: LiveState,
    backups: Iterable[BackupPoint],
    health: Mapping[str, BackupHealth],
    options: StatusOptions,
) -> StatusReport:
    """Classify every covered partition. ``health`` holds the partitions asked (see ``health_wanted``)."""
    latest = latest_by_partition(backups)
    schedules: dict[str, Schedule | str] = {}
    for name, body in live.policies.items():
        try:
            schedules[name] = parse_schedule(body)
        except ScheduleError as exc:
            schedules[name] = str(exc)
    out: list[PartitionStatus] = []
    missing: list[str] = []
    for app_decl in declaration.applications.values():
        app = application_name(app_decl.name)
        live_app = live.applications.get(app)
        if live_app is None:
            missing.append(app)
            continue
        named = {service_name(app, s.name) for s in app_decl.services}
        app_requires = app_decl.settings.policy is not None
        app_ref = EntityRef(app)
        app_eff = inherit(NOTHING, app_ref, live.mappings, live.suspensions)
        for svc in sorted(live_app.services or (), key=lambda s: s.name):
            if not svc.backup_eligible:
                continue
            svc_ref = EntityRef(app, svc.name)
            svc_eff = inherit(app_eff, svc_ref, live.mappings, live.suspensions)
            required = app_requires or svc.name in named
            for part in svc.partitions or ():
                eff = inherit(svc_eff, EntityRef(app, svc.name, part.id), live.mappings, live.suspensions)
                out.append(
                    _classify(
                        app, svc.name, part, eff, required, latest, schedules, health.get(part.id), options
                    )
                )
    return StatusReport(tuple(out), options, tuple(missing), files=declaration.files)


def _classify(
    app: str,
    service: str,
    part: LivePartition,
    eff: Effective,
    required: bool,
    latest: Mapping[tuple[str, str], BackupPoint],
    schedules: Mapping[str, Schedule | str],
    health: BackupHealth | None,
    options: StatusOptions,
) -> PartitionStatus:
    point = latest.get((service, part.id))
    base = PartitionStatus(
        app,
        service,
        part,
        "ok",
        False,
        policy=eff.policy,
        policy_from=eff.policy_from,
        suspended_from=eff.suspended_from if eff.suspended else None,
        latest_backup=point.created if point else None,
        latest_type=point.backup_type if point else None,
        required=required,
    )
    if eff.policy is None:
        return _with(base, status="unprotected", problem=required)
    if eff.suspended:
        return _with(base, status="suspended")
    schedule = schedules.get(eff.policy)
    if not isinstance(schedule, Schedule):
        # the mapped policy is gone or unreadable: nothing says when backups are due; the health still can
        error = schedule if isinstance(schedule, str) else f"policy {eff.policy} is not on the cluster"
        base = _with(base, schedule_error=error)
        if health is not None and health.unhealthy:
            return _with(base, status="failing", problem=True, health=health.description)
        return base if point else _with(base, status="no_backup_yet")
    base = _with(base, schedule=schedule)
    now = options.now
    if point is not None:
        missed, upcoming = first_missed(schedule, point.created, now, options.grace)
        verdict: StatusClass = "late" if missed is not None else "ok"
        problem = missed is not None
    elif options.since is not None:
        missed, upcoming = first_missed(schedule, options.since, now, options.grace)
        verdict, problem = "no_backup_yet", missed is not None
    else:
        # a FrequencyBased timer starts at the mapping, which the cluster does not tell: no next run known
        missed = None
        upcoming = schedule.next_run(now) if schedule.kind != "FrequencyBased" else None
        verdict, problem = "no_backup_yet", False
    run = missed if missed is not None else upcoming
    grace = grace_of(schedule, run, options.grace) if run is not None else None
    base = _with(base, status=verdict, problem=problem, missed_run=missed, next_run=upcoming, grace=grace)
    if verdict != "ok" and health is not None and health.unhealthy:
        return _with(base, status="failing", problem=True, health=health.description)
    return base


def _with(p: PartitionStatus, **changes: Any) -> PartitionStatus:
    return replace(p, **changes)


def health_wanted(report: StatusReport) -> list[str]:
    """The partitions whose backup health decides their class: those with a policy, not suspended, not ok."""
    return [p.partition.id for p in report.partitions if p.status in ("late", "no_backup_yet")]
