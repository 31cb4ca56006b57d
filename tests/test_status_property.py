"""The law of `sfdeclare status`: over generated schedules, clock advances and a partition that silently stops
(or not), a partition is a problem exactly when the emulator failed to take a backup that was due (a scheduled
run more than the grace before now).

The oracle does not share status's schedule arithmetic: a control partition of the same service, mapped at the
same moment and never stopped, records every run the emulator's schedule made; the subject partition stops
before one of the advances. A run is due when it is more than ``--grace`` before now.
"""

from __future__ import annotations

import io
import json
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sfdeclare.cli import main
from sfdeclare.emulator.topology import derived_partition_id
from sfdeclare.emulator.transport import EmulatorTransport

SERVICE = "fabric:/App/Svc"
CONTROL, SUBJECT = derived_partition_id(SERVICE, 0), derived_partition_id(SERVICE, 1)
DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

frequency = st.sampled_from(["PT15M", "PT1H", "PT90M", "PT6H", "P1D"]).map(
    lambda i: f"{{ScheduleKind: FrequencyBased, Interval: {i}}}"
)
run_times = st.lists(
    st.tuples(st.integers(0, 23), st.sampled_from([0, 15, 30, 45])), min_size=1, max_size=3, unique=True
).map(lambda ts: "[" + ", ".join(f"'{h:02d}:{m:02d}'" for h, m in ts) + "]")
daily = run_times.map(lambda t: f"{{ScheduleKind: TimeBased, ScheduleFrequencyType: Daily, RunTimes: {t}}}")
weekly = st.tuples(st.lists(st.sampled_from(DAYS), min_size=1, max_size=3, unique=True), run_times).map(
    lambda d: (
        "{ScheduleKind: TimeBased, ScheduleFrequencyType: Weekly, "
        f"RunDays: [{', '.join(d[0])}], RunTimes: {d[1]}}}"
    )
)
advances = st.lists(st.integers(0, 4 * 24 * 60), min_size=1, max_size=4)


def _run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    return main(list(argv), out=out, err=err), out.getvalue(), err.getvalue()


def _backup_times(state: str, partition: str) -> list[int]:
    with httpx.Client(transport=EmulatorTransport(state), base_url="http://emulator") as http:
        items = http.get(f"/Partitions/{partition}/$/GetBackups", params={"api-version": "6.4"}).json()[
            "Items"
        ]
    return [
        int(datetime.fromisoformat(i["CreationTimeUtc"].replace("Z", "+00:00")).timestamp()) for i in items
    ]


def check(
    schedule: str, start_minutes: int, steps: list[int], stop_before: int | None, grace_minutes: int
) -> None:
    start = datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=start_minutes)
    with tempfile.TemporaryDirectory() as folder:
        topology = Path(folder, "topology.yaml")
        topology.write_text(
            f"applications:\n  - name: fabric:/App\n    services:\n      - {{name: {SERVICE}, partitions: 2}}\n"
        )
        config = Path(folder, "backup.yaml")
        config.write_text(
            "version: 1\npolicies:\n  P:\n    MaxIncrementalBackups: 3\n"
            f"    Schedule: {schedule}\n"
            "    Storage: {StorageKind: FileShare, Path: '\\\\\\\\server\\\\share'}\n"
            "applications:\n  App:\n    services:\n      Svc: {policy: P}\n"
        )
        state = str(Path(folder, "state.db"))
        since = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert (
            _run("emulator", "init", "--state", state, "--topology", str(topology), "--clock-start", since)[0]
            == 0
        )
        assert _run("apply", str(config), "--endpoint", f"emulator:{state}", "--auto-approve")[0] == 0
        for index, minutes in enumerate(steps):
            if index == stop_before:
                assert _run("emulator", "stop-backups", "--state", state, SUBJECT)[0] == 0
            assert _run("emulator", "advance", "--state", state, f"PT{minutes}M")[0] == 0
        now = int((start + timedelta(minutes=sum(steps))).timestamp())
        code, out, err = _run(
            "status",
            str(config),
            "--endpoint",
            f"emulator:{state}",
            "--format",
            "json",
            "--since",
            since,
            "--grace",
            f"PT{grace_minutes}M",
        )
        assert code in (0, 2), err
        report = json.loads(out)
        verdict = {p["partition_id"]: p for p in report["applications"][0]["partitions"]}
        runs = _backup_times(state, CONTROL)  # every run of the schedule so far
        taken = set(_backup_times(state, SUBJECT))
        due = [s for s in runs if s + grace_minutes * 60 < now]
        every_due_taken = all(s in taken for s in due)
        assert verdict[CONTROL]["problem"] is False, verdict[CONTROL]
        assert verdict[SUBJECT]["problem"] is (not every_due_taken), (verdict[SUBJECT], due, sorted(taken))
        assert code == (0 if every_due_taken else 2)


PARAMETERS = dict(
    schedule=st.one_of(frequency, daily, weekly),
    start_minutes=st.integers(0, 7 * 24 * 60 - 1),
    steps=advances,
    stop_before=st.one_of(st.none(), st.integers(0, 3)),
    grace_minutes=st.sampled_from([30, 45, 120]),
)


HOURLY = "{ScheduleKind: FrequencyBased, Interval: PT1H}"


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**PARAMETERS)
@example(HOURLY, 0, [180], None, 30)  # every backup taken: ok
@example(HOURLY, 0, [180], 0, 30)  # stopped at once: the 01:00 and 02:00 runs are due and missing
@example(HOURLY, 0, [90, 60], 1, 30)  # stopped after the 01:00 backup: 02:00 is 30 min old, not yet due
def test_status_is_ok_exactly_when_every_due_backup_was_taken(
    schedule: str, start_minutes: int, steps: list[int], stop_before: int | None, grace_minutes: int
) -> None:
    check(schedule, start_minutes, steps, stop_before, grace_minutes)


@pytest.mark.slow
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**PARAMETERS)
def test_status_law_deeper(
    schedule: str, start_minutes: int, steps: list[int], stop_before: int | None, grace_minutes: int
) -> None:
    check(schedule, start_minutes, steps, stop_before, grace_minutes)
