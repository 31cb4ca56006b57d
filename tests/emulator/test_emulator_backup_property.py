"""Property: over any generated schedule and sequence of clock advances, the backups the emulator lists are
exactly those an independent minute-by-minute walk of the schedule finds, with Full and Incremental backups in
chains of MaxIncrementalBackups + 1. A slow, obvious model against the arithmetic one."""

from __future__ import annotations

import os
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
from emulator_support import CALC_PARTITIONS, CALC_TOPOLOGY, NO_CA, Api, advance, backups, policy, start_clock
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfdeclare.emulator.state import init_state
from sfdeclare.emulator.transport import EmulatorTransport

START = datetime(2024, 1, 1, tzinfo=timezone.utc)  # a Monday
DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
minutes_of_day = st.integers(min_value=0, max_value=24 * 60 - 1)
schedules = st.one_of(
    st.builds(lambda m: {"ScheduleKind": "FrequencyBased", "Interval": f"PT{m}M"}, st.integers(5, 600)),
    st.builds(
        lambda times: {"ScheduleKind": "TimeBased", "ScheduleFrequencyType": "Daily", "RunTimes": times},
        st.lists(
            minutes_of_day.map(lambda m: f"2020-06-01T{m // 60:02d}:{m % 60:02d}:00Z"), min_size=1, max_size=3
        ),
    ),
    st.builds(
        lambda days, times: {
            "ScheduleKind": "TimeBased",
            "ScheduleFrequencyType": "Weekly",
            "RunDays": days,
            "RunTimes": times,
        },
        st.lists(st.sampled_from(DAYS), min_size=1, max_size=3),
        st.lists(
            minutes_of_day.map(lambda m: f"2020-06-01T{m // 60:02d}:{m % 60:02d}:00Z"), min_size=1, max_size=2
        ),
    ),
)


def due(schedule: dict[str, Any], armed: datetime, end: datetime) -> list[datetime]:
    """Every minute in (armed, end] at which the schedule asks for a backup, found by walking minute by minute."""
    out = []
    moment = armed.replace(second=0) + timedelta(minutes=1)
    if schedule["ScheduleKind"] == "FrequencyBased":
        step = int(schedule["Interval"][2:-1])
        while moment <= end:
            if (moment - armed) % timedelta(minutes=step) == timedelta(0):
                out.append(moment)
            moment += timedelta(minutes=1)
        return out
    times = {t[11:16] for t in schedule["RunTimes"]}
    days = (
        set(schedule.get("RunDays") or DAYS) if schedule["ScheduleFrequencyType"] == "Weekly" else set(DAYS)
    )
    while moment <= end:
        if moment.strftime("%H:%M") in times and DAYS[(moment.weekday() + 1) % 7] in days:
            out.append(moment)
        moment += timedelta(minutes=1)
    return out


@settings(
    max_examples=int(os.environ.get("SFDECLARE_PROPERTY_EXAMPLES", "8")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    schedules,
    st.integers(min_value=0, max_value=4),
    st.integers(min_value=0, max_value=2000),
    st.lists(st.integers(min_value=0, max_value=3 * 24 * 60), min_size=1, max_size=4),
)
def test_listed_backups_are_the_schedules_due_times(
    schedule: dict[str, Any], max_incremental: int, armed_after: int, steps: list[int]
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        state = str(Path(tmp) / "s.db")
        init_state(state, str(CALC_TOPOLOGY))
        start_clock(state)
        with httpx.Client(transport=EmulatorTransport(state), base_url="http://e", verify=NO_CA) as client:
            api = Api(client)
            body = policy(MaxIncrementalBackups=max_incremental, Schedule=schedule, RetentionPolicy=None)
            assert api.post("/BackupRestore/BackupPolicies/$/Create", body).status_code == 201
            advance(api, f"PT{armed_after}M")
            api.enable(f"Partitions/{CALC_PARTITIONS[0]}")
            for step in steps:
                advance(api, f"PT{step}M")
            listed = backups(api, f"Partitions/{CALC_PARTITIONS[0]}")
    armed = START + timedelta(minutes=armed_after)
    expected = due(schedule, armed, armed + timedelta(minutes=sum(steps)))
    assert [i["CreationTimeUtc"] for i in listed] == [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in expected]
    chain = max_incremental + 1
    assert [i["BackupType"] for i in listed] == [
        "Full" if n % chain == 0 else "Incremental" for n in range(len(listed))
    ]
