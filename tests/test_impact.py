"""Impact of backup policies and plans: hand-computed tables, and the retention figures against a brute-force
simulation of Service Fabric's retention rule (6.4 RetentionManager) over simulated weeks."""

from __future__ import annotations

import bisect
import json
import random
from dataclasses import replace
from fractions import Fraction
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfdeclare import schemas
from sfdeclare.engine import planfile
from sfdeclare.engine.impact import plan_impact, services_to_count
from sfdeclare.engine.impact_figures import impact_json
from sfdeclare.engine.planner import PlanOptions, plan
from sfdeclare.model.addresses import EntityRef
from sfdeclare.model.declaration import ApplicationDecl, Declaration, LevelSettings, PolicyDecl, ServiceDecl
from sfdeclare.model.live import LiveApplication, LivePartition, LiveService, LiveState
from sfdeclare.render import impact as render_impact
from sfdeclare.servicefabric.backup_schedule import policy_impact

APP = "fabric:/Shop"
DAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")


def policy(
    schedule: dict[str, Any], incremental: int | str = 0, retention: str | None = None, minimum: int = 0
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "AutoRestoreOnDataLoss": False,
        "MaxIncrementalBackups": incremental,
        "Schedule": schedule,
        "Storage": {"StorageKind": "FileShare", "Path": r"\\share\b", "FriendlyName": ""},
    }
    if retention is not None:
        body["RetentionPolicy"] = {
            "RetentionPolicyType": "Basic",
            "RetentionDuration": retention,
            "MinimumNumberOfBackups": minimum,
        }
    return body


def every(interval: str) -> dict[str, Any]:
    return {"ScheduleKind": "FrequencyBased", "Interval": interval}


def timed(frequency: str, times: list[str], days: list[str] | None = None) -> dict[str, Any]:
    return {
        "ScheduleKind": "TimeBased",
        "ScheduleFrequencyType": frequency,
        "RunTimes": times,
        "RunDays": days or [],
    }


# --- one policy, by hand --------------------------------------------------------------------------------------

# (body, backups a day, full a day, (fewest, most) restore points right after a retention pass, or None)
CASES = [
    # hourly, all full, kept a day: the 24 backups of the last day and the newest expired (full) one
    (policy(every("PT1H"), 0, "P1D"), 24, 24, (25, 25)),
    # chains of 1 full + 3 incremental: the newest expired backup keeps 0..3 older ones of its chain
    (policy(every("PT1H"), 3, "P1D"), 24, 6, (25, 28)),
    # the same interval written as the server reads it back; a string MaxIncrementalBackups as in the docs
    (policy(every("PT60M"), "3", "PT24H"), 24, 6, (25, 28)),
    # daily, kept 7 days: 7 recent and the newest expired
    (policy(every("P1D"), 0, "P7D"), 1, 1, (8, 8)),
    (policy(every("PT24H"), 0, "P7D"), 1, 1, (8, 8)),
    # whole minutes are kept when the minutes component is not zero: PT1H30M15S is stored as 90 minutes
    (policy(every("PT1H30M15S"), 0, "P1D"), 16, 16, (17, 17)),
    # otherwise whole hours: PT2H59S is stored as two hours
    (policy(every("PT2H0M59S"), 1, "P1D"), 12, 6, (13, 14)),
    # the retention duration is cut to whole hours: PT90M keeps one hour of 15-minute backups
    (policy(every("PT15M"), 0, "PT90M"), 96, 96, (5, 5)),
    # an interval longer than the retention: 0 or 1 recent backup plus the newest expired one's chain
    (policy(every("PT2H"), 1, "PT1H"), 12, 6, (1, 3)),
    # never fewer than MinimumNumberOfBackups
    (policy(every("P1D"), 0, "P7D", minimum=30), 1, 1, (30, 30)),
    (policy(every("PT1H"), 3, "P1D", minimum=26), 24, 6, (26, 28)),
    # no retention policy: kept for ever
    (policy(every("PT1H"), 3), 24, 6, None),
    # daily at two times (a repeated one counts once; an offset is converted to UTC)
    (
        policy(
            timed("Daily", ["02:00", "14:00", "0001-01-01T02:00:00Z", "2024-05-01T16:00:00+02:00"]), 0, "P2D"
        ),
        2,
        2,
        (5, 5),
    ),
    # weekly: 2 times on 3 days is 6 backups a week, 6/7 a day on average
    (
        policy(timed("Weekly", ["02:00", "14:00"], ["Monday", "Friday", "Sunday", "Monday"]), 2, "P7D"),
        Fraction(6, 7),
        Fraction(2, 7),
        (7, 9),
    ),
    # RunDays are ignored by a Daily schedule
    (policy(timed("Daily", ["03:00"], ["Monday"]), 0, "P1D"), 1, 1, (2, 2)),
    # an empty RunTimes list is accepted by the server and takes no backups
    (policy(timed("Daily", []), 0, "P1D"), 0, 0, (0, 0)),
]


@pytest.mark.parametrize(("body", "per_day", "full", "points"), CASES)
def test_policy_impact_by_hand(
    body: dict[str, Any], per_day: Fraction | int, full: Fraction | int, points: tuple[int, int] | None
) -> None:
    impact = policy_impact(body)
    assert impact.backups_per_day == per_day
    assert impact.full_per_day == full
    assert impact.incremental_per_day == Fraction(per_day) - Fraction(full)
    assert impact.restore_points == points
    assert impact.unbounded is (points is None)


def test_schedule_rule_is_stated_in_words() -> None:
    assert policy_impact(policy(every("PT1H"))).schedule == "every PT1H: 24 a day"
    weekly = policy_impact(policy(timed("Weekly", ["02:00", "14:00"], ["Monday", "Friday", "Sunday"])))
    assert weekly.schedule == "weekly, 2 run times on 3 days: 0.86 a day on average"
    assert policy_impact(policy(timed("Daily", ["02:00"]))).schedule == "daily at 1 run time"


@pytest.mark.parametrize(
    "body",
    [
        policy(every("P16D")),  # over the server's 15 days
        policy(every("PT0M")),
        policy({"ScheduleKind": "Hourly"}),
        policy(timed("Monthly", ["02:00"])),
        policy(every("PT1H"), 0, "PT30M"),  # retention under an hour
        policy(every("PT1H"), "many"),
        {"MaxIncrementalBackups": 0},
    ],
)
def test_a_body_the_server_would_refuse_is_not_priced(body: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        policy_impact(body)


# --- a whole plan ---------------------------------------------------------------------------------------------

DAILY = policy(every("P1D"), 0, "P7D")
HOURLY = policy(every("PT1H"), 0, "P1D")


def topology(partitions_read: bool, services: int = 2, partitions: int = 2) -> dict[str, LiveApplication]:
    return {
        APP: LiveApplication(
            APP,
            services=(
                *tuple(
                    LiveService(
                        f"{APP}/S{s}",
                        "Stateful",
                        True,
                        tuple(LivePartition(f"p{s}-{i}", "Singleton") for i in range(partitions))
                        if partitions_read
                        else None,
                    )
                    for s in range(services)
                ),
                LiveService(f"{APP}/Web", "Stateless"),
            ),
        )
    }


def declaration(
    app_policy: str | None, policies: dict[str, dict[str, Any]], suspended: bool | None = None
) -> Declaration:
    return Declaration(
        files=("c.yaml",),
        policies={n: PolicyDecl(n, b) for n, b in policies.items()},
        applications={APP: ApplicationDecl(APP, LevelSettings(policy=app_policy, suspended=suspended))},
        digest="sha256:" + "0" * 64,
    )


def live_state(
    applications: dict[str, LiveApplication],
    mappings: dict[EntityRef, str],
    suspensions: frozenset[EntityRef] = frozenset(),
) -> LiveState:
    return LiveState(
        policies={"Daily": DAILY, "Hourly": HOURLY},
        applications=applications,
        mappings=mappings,
        suspensions=suspensions,
        configured_applications=frozenset(applications),
    )


def test_daily_to_hourly_on_4000_partitions_is_92000_more_backups_a_day() -> None:
    live = live_state(topology(partitions_read=False, services=4), {EntityRef(APP): "Daily"})
    p = plan(declaration("Hourly", {"Daily": DAILY, "Hourly": HOURLY}), live)
    counts = {f"{APP}/S{s}": 1000 for s in range(4)}
    impact = plan_impact(p.changes, live, counts)
    assert impact.before.backups_per_day == 4000
    assert impact.after.backups_per_day == 96_000
    assert impact.after.backups_per_day - impact.before.backups_per_day == 92_000
    # restore points: 8 per partition kept 7 days daily, 25 per partition kept a day hourly
    assert impact.before.restore_points == (32_000, 32_000)
    assert impact.after.restore_points == (100_000, 100_000)
    (app,) = impact.applications
    assert app.before.protected == app.after.protected == app.after.partitions == 4000
    assert (app.services_gaining, app.services_losing, app.unknown_services) == (0, 0, 0)


def test_partitions_read_by_the_plan_are_counted_one_by_one() -> None:
    live = live_state(topology(partitions_read=True), {EntityRef(APP): "Daily"})
    p = plan(declaration("Hourly", {"Daily": DAILY, "Hourly": HOURLY}), live)
    assert services_to_count(p.changes, live) == ()
    impact = plan_impact(p.changes, live)
    before, after = impact.before, impact.after
    assert (before.partitions, before.backups_per_day, after.backups_per_day) == (
        4,
        Fraction(4),
        Fraction(96),
    )


def test_partitions_whose_backups_do_not_change_are_neither_counted_nor_read() -> None:
    apps = topology(partitions_read=False, services=2)
    live = live_state(apps, {EntityRef(APP, f"{APP}/S0"): "Daily", EntityRef(APP, f"{APP}/S1"): "Daily"})
    svc0 = ServiceDecl(f"{APP}/S0", LevelSettings(policy="Hourly"))
    svc1 = ServiceDecl(f"{APP}/S1", LevelSettings(policy="Daily"))
    d = declaration(None, {"Daily": DAILY, "Hourly": HOURLY})
    d = replace(d, applications={APP: ApplicationDecl(APP, LevelSettings(), (svc0, svc1))})
    p = plan(d, live)
    assert services_to_count(p.changes, live) == (f"{APP}/S0",)
    impact = plan_impact(p.changes, live, {f"{APP}/S0": 10})
    before, after = impact.before, impact.after
    assert (before.partitions, before.backups_per_day, after.backups_per_day) == (
        10,
        Fraction(10),
        Fraction(240),
    )
    assert impact.unknown_services == 0


def test_a_partition_override_keeps_its_own_policy() -> None:
    live = live_state(
        topology(partitions_read=True),
        {EntityRef(APP): "Daily", EntityRef(APP, f"{APP}/S0", "p0-0"): "Daily"},
    )
    p = plan(declaration("Hourly", {"Daily": DAILY, "Hourly": HOURLY}), live)
    # the partition-level mapping is not declared, so the plan disables it: all four move to Hourly
    impact = plan_impact(p.changes, live)
    assert impact.after.backups_per_day == 96
    # without that action the override stays daily: only the three other partitions change
    kept = plan_impact(tuple(c for c in p.changes if "p0-0" not in c.address), live)
    assert (kept.before.partitions, kept.before.backups_per_day, kept.after.backups_per_day) == (
        3,
        Fraction(3),
        Fraction(72),
    )


def test_unknown_partition_counts_are_reported_not_guessed() -> None:
    live = live_state(topology(partitions_read=False, services=3), {EntityRef(APP): "Daily"})
    p = plan(declaration("Hourly", {"Daily": DAILY, "Hourly": HOURLY}), live)
    assert services_to_count(p.changes, live) == (f"{APP}/S0", f"{APP}/S1", f"{APP}/S2")
    # the commands total it once, with the partitions counted: the planner then leaves it out
    assert p.impact is not None and p.impact.unknown_services == 3
    assert (
        plan(
            declaration("Hourly", {"Daily": DAILY, "Hourly": HOURLY}), live, PlanOptions(impact=False)
        ).impact
        is None
    )
    impact = plan_impact(p.changes, live, {f"{APP}/S0": 5})
    assert impact.unknown_services == 2
    assert (impact.before.backups_per_day, impact.after.backups_per_day) == (Fraction(5), Fraction(120))


def test_a_policy_update_reprices_every_partition_under_it() -> None:
    live = live_state(topology(partitions_read=True), {EntityRef(APP): "Daily"})
    twice = policy(every("PT12H"), 1, "P7D")
    p = plan(declaration("Daily", {"Daily": twice}), live)
    assert [c.action.value for c in p.changes] == ["update_policy"]
    assert p.effective_changes == ()
    impact = plan_impact(p.changes, live)
    assert (impact.before.backups_per_day, impact.after.backups_per_day) == (Fraction(4), Fraction(8))
    assert (impact.before.full_per_day, impact.after.full_per_day) == (Fraction(4), Fraction(4))
    (app,) = impact.applications
    assert app.after.partitions == 4 and (app.services_gaining, app.services_losing) == (0, 0)


def test_enabling_and_disabling_count_services_gaining_and_losing_backup() -> None:
    live = live_state(topology(partitions_read=True), {})
    p = plan(declaration("Hourly", {"Hourly": HOURLY}), live)
    (app,) = plan_impact(p.changes, live).applications
    assert (app.services_gaining, app.services_losing) == (2, 0)
    assert (app.before.protected, app.after.protected) == (0, 4)

    live = live_state(topology(partitions_read=True), {EntityRef(APP): "Hourly"})
    p = plan(declaration(None, {"Hourly": HOURLY}), live)
    (app,) = plan_impact(p.changes, live).applications
    assert (app.services_gaining, app.services_losing) == (0, 2)
    assert (app.before.backups_per_day, app.after.backups_per_day) == (Fraction(96), Fraction(0))


def test_suspended_partitions_take_no_backups() -> None:
    live = live_state(topology(partitions_read=True), {EntityRef(APP): "Hourly"})
    p = plan(declaration("Hourly", {"Hourly": HOURLY}, suspended=True), live)
    impact = plan_impact(p.changes, live)
    assert (impact.after.backups_per_day, impact.after.suspended, impact.after.protected) == (
        Fraction(0),
        4,
        0,
    )
    assert impact.after.restore_points == (0, 0)
    (app,) = impact.applications
    assert app.services_losing == 2 and app.after.partitions == 4


def test_no_retention_is_unbounded_not_a_number() -> None:
    forever = policy(every("PT1H"), 3)
    live = live_state(topology(partitions_read=True), {EntityRef(APP): "Daily"})
    p = plan(declaration("Forever", {"Daily": DAILY, "Forever": forever}), live)
    impact = plan_impact(p.changes, live)
    assert impact.policies_after["Forever"].restore_points is None
    assert (impact.before.unbounded, impact.after.unbounded) == (0, 4)
    assert impact.after.restore_points == (0, 0)  # nothing bounded is left to count


# --- retention against a brute-force simulation ---------------------------------------------------------------

MINUTE, HOUR, DAY, WEEK = 60, 3600, 86400, 7 * 86400
GRID = 15 * MINUTE  # every schedule time and retention in these tests is a multiple of it


def simulate(
    times: list[int], incremental: int, retention: int, minimum: int, passes: list[int]
) -> list[int]:
    """Take the backups at ``times`` (a full one, then up to ``incremental`` incremental ones, again and again),
    run the retention pass exactly as the 6.4 server does at each of ``passes``, and return the count right
    after each pass."""
    held: list[tuple[int, bool]] = []  # (creation time, full), oldest first
    since_full = incremental  # so the first backup is full
    counts = []
    taken = 0
    for at in passes:
        while taken < len(times) and times[taken] < at:
            full = since_full == incremental
            since_full = 0 if full else since_full + 1
            held.append((times[taken], full))
            taken += 1
        count = len(held)
        if count > minimum:
            end = at - retention
            expired = [b for b in held if b[0] < end]
            expired.reverse()  # newest first
            found = False
            doomed = set()
            for backup in expired:
                if not found:
                    found = backup[1]
                    continue
                if count <= minimum:
                    break
                doomed.add(backup)
                count -= 1
            held = [b for b in held if b not in doomed]
        counts.append(len(held))
    return counts


@st.composite
def schedules(draw: st.DrawFn) -> tuple[dict[str, Any], int, list[int]]:
    """A policy schedule, its period, and the backup offsets into a period (independently of the code)."""
    kind = draw(st.sampled_from(["every", "daily", "weekly"]))
    if kind == "every":
        minutes = draw(st.sampled_from([15, 30, 45, 60, 90, 120, 180, 240, 360, 480, 720, 1440]))
        return every(f"PT{minutes}M"), minutes * MINUTE, [0]
    slots = st.integers(0, 24 * 4 - 1)
    times = sorted(draw(st.sets(slots, min_size=1, max_size=3)))
    text = [f"{t // 4:02d}:{t % 4 * 15:02d}" for t in times]
    if kind == "daily":
        return timed("Daily", text), DAY, [t * GRID for t in times]
    days = sorted(draw(st.sets(st.integers(0, 6), min_size=1, max_size=3)))
    offsets = [d * DAY + t * GRID for d in days for t in times]
    return timed("Weekly", text, [DAY_NAMES[d] for d in days]), WEEK, offsets


@settings(max_examples=100, deadline=None)
@given(
    schedules(),
    st.integers(0, 3),
    st.integers(1, 96),
    st.integers(0, 12),
    st.integers(0, 10**6),
)
def test_restore_points_match_a_simulation_of_the_retention_rule(
    schedule: tuple[dict[str, Any], int, list[int]], incremental: int, hours: int, minimum: int, seed: int
) -> None:
    body_schedule, period, offsets = schedule
    retention = hours * HOUR
    impact = policy_impact(policy(body_schedule, incremental, f"PT{hours}H", minimum))
    assert impact.restore_points is not None
    fewest, most = impact.restore_points

    # steady state: longer than the retention, than a whole cycle of chains and than it takes to hold `minimum`
    chain = incremental + 1
    warm = retention + period * (chain + minimum + 2)
    horizon = warm + period * chain
    times = [cycle * period + o for cycle in range(horizon // period + 2) for o in offsets]
    times = times[: bisect.bisect_left(times, horizon)]

    # a pass in the middle of every grid step reaches every distinct count
    grid = [t + GRID // 2 for t in range(0, horizon, GRID)]
    seen = simulate(times, incremental, retention, minimum, grid)[warm // GRID :]
    assert (min(seen), max(seen)) == (fewest, most)

    # the server's own timer: one pass a day (a retention of a day or more) or an hour, at a phase of its own
    every_ = DAY if retention >= DAY else HOUR
    phase = random.Random(seed).randrange(every_)
    timer = list(range(phase, horizon, every_))
    counts = simulate(times, incremental, retention, minimum, timer)
    steady = [c for at, c in zip(timer, counts, strict=True) if at >= warm]
    assert all(fewest <= c <= most for c in steady)


# --- the plan file's "impact" -----------------------------------------------------------------------------------


def test_impact_round_trips_through_the_plan_file_and_its_schema() -> None:
    forever = policy(every("PT1H"), 3)
    weekly = policy(timed("Weekly", ["02:00", "14:00"], ["Monday", "Friday", "Sunday"]), 2, "P7D")
    live = live_state(topology(partitions_read=True), {EntityRef(APP): "Daily"})
    d = declaration("Weekly", {"Daily": DAILY, "Weekly": weekly, "Forever": forever})
    p = plan(d, live)
    document = planfile.to_json(p, "summary")
    jsonschema.Draft202012Validator(schemas.load("plan")).validate(document)
    impact = document["impact"]
    assert impact["policies"]["after"]["Weekly"] == {
        "schedule": "weekly, 2 run times on 3 days: 0.86 a day on average",
        "backups_per_day": 0.86,
        "full_per_day": 0.29,
        "incremental_per_day": 0.57,
        "restore_points": {"fewest": 7, "most": 9},
    }
    assert impact["policies"]["before"]["Daily"]["restore_points"] == {"fewest": 8, "most": 8}
    again = planfile.load(json.dumps(document))
    assert again.impact is not None and p.impact is not None
    # what every view reads back is what it showed when the plan was made
    assert render_impact.text_lines(again.impact) == render_impact.text_lines(p.impact)
    assert impact_json(again.impact) == impact
    # version 2 requires it (null when not computed), version 1 did not have it
    without = {k: v for k, v in document.items() if k != "impact"}
    assert list(jsonschema.Draft202012Validator(schemas.load("plan")).iter_errors(without))
    jsonschema.Draft202012Validator(schemas.load("plan")).validate({**without, "format_version": 1})
