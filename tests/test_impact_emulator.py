"""The plan's impact figures against an independent count: the backups the emulator takes and keeps for the same
schedules over simulated weeks (its backup clock, GetBackups), after applying exactly the reviewed plan."""

from __future__ import annotations

import io
import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from sfdeclare.cli import main
from sfdeclare.emulator.transport import EmulatorTransport

APP = "fabric:/Shop"
TOPOLOGY = """\
applications:
  - name: fabric:/Shop
    services:
      - name: fabric:/Shop/Orders
        kind: Stateful
        has_persisted_state: true
        partitions: 2
      - name: fabric:/Shop/Ledger
        kind: Stateful
        has_persisted_state: true
        partitions: 1
"""
CONFIG = """\
version: 1
policies:
  Hourly:
    MaxIncrementalBackups: 3
    Schedule: {ScheduleKind: FrequencyBased, Interval: PT1H}
    Storage: {StorageKind: FileShare, Path: '\\\\\\\\nas\\\\hourly'}
    RetentionPolicy: {RetentionPolicyType: Basic, RetentionDuration: P1D}
  TwiceTwiceWeekly:
    MaxIncrementalBackups: 1
    Schedule:
      ScheduleKind: TimeBased
      ScheduleFrequencyType: Weekly
      RunDays: [Monday, Thursday]
      RunTimes: ['02:00', '14:00']
    Storage: {StorageKind: FileShare, Path: '\\\\\\\\nas\\\\weekly'}
    RetentionPolicy: {RetentionPolicyType: Basic, RetentionDuration: P2D, MinimumNumberOfBackups: 3}
applications:
  Shop:
    services:
      Orders: {policy: Hourly}
      Ledger: {policy: TwiceTwiceWeekly}
"""
WEEKLY = "TwiceTwiceWeekly"


def cli(*argv: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    assert code == 0, err.getvalue()
    return out.getvalue()


def partitions(api: httpx.Client, service: str) -> list[str]:
    reply = api.get(f"/Services/{service}/$/GetPartitions", params={"api-version": "6.4"})
    return [p["PartitionInformation"]["Id"] for p in reply.json()["Items"]]


def held(api: httpx.Client, partition: str) -> list[dict[str, Any]]:
    reply = api.get(f"/Partitions/{partition}/$/GetBackups", params={"api-version": "6.4"})
    assert reply.status_code == 200, reply.text
    items: list[dict[str, Any]] = reply.json()["Items"]
    return items


@pytest.mark.parametrize(
    ("days", "policies"),
    [
        (3, ("Hourly",)),  # the hourly policy reaches its steady state in a day and 4 hours
        pytest.param(21, ("Hourly", WEEKLY), marks=pytest.mark.slow),  # the weekly one needs 2 days + a week
    ],
    ids=["hourly-3-days", "both-3-weeks"],
)
def test_impact_matches_the_backups_the_emulator_takes_and_keeps(
    tmp_path: Path, days: int, policies: tuple[str, ...]
) -> None:
    state, topology, config = tmp_path / "s.db", tmp_path / "topology.yaml", tmp_path / "shop.yaml"
    topology.write_text(TOPOLOGY)
    config.write_text(CONFIG)
    endpoint = f"emulator:{state}"
    # the clock starts on a Monday at midnight and stands still until advanced
    cli(
        "emulator",
        "init",
        "--state",
        str(state),
        "--topology",
        str(topology),
        "--clock-start",
        "2024-01-01T00:00:00Z",
    )
    cli("plan", str(config), "--endpoint", endpoint, "--out", str(tmp_path / "plan.json"), "--format", "json")
    impact = json.loads((tmp_path / "plan.json").read_text())["impact"]
    cli("apply", "--plan", str(tmp_path / "plan.json"), str(config), "--endpoint", endpoint)

    api = httpx.Client(transport=EmulatorTransport(str(state)), base_url="http://emulator")
    services = {"Hourly": "Shop/Orders", WEEKLY: "Shop/Ledger"}
    ids = {name: partitions(api, services[name]) for name in policies}
    seen: dict[str, dict[str, str]] = {name: {} for name in ids}  # every backup ever listed: id -> type
    counts: dict[str, list[int]] = {name: [] for name in ids}  # backups held, per partition, after each step
    # the command first, then the served route (the same clock), an hour at a time; each move runs retention
    cli("emulator", "advance", "--state", str(state), "PT30M")  # between schedule times: no ties with a pass
    for hour in range(days * 24 + 1):
        if hour:
            moved = api.post("/$/Emulator/Clock/$/Advance", params={"Duration": "PT1H"})
            assert moved.status_code == 200, moved.text
        for name, pids in ids.items():
            for pid in pids:
                listed = held(api, pid)
                seen[name].update({b["BackupId"]: b["BackupType"] for b in listed})
                counts[name].append(len(listed))
    api.close()

    for name, pids in ids.items():
        figures = impact["policies"]["after"][name]
        # every backup is listed at least once before retention may delete it (kept for a day or more)
        taken = Counter(seen[name].values())
        assert sum(taken.values()) == round(figures["backups_per_day"] * days * len(pids)), name
        assert taken["Full"] == round(figures["full_per_day"] * days * len(pids)), name
        # once the schedule has run longer than the retention and a cycle of chains, what a partition holds
        # right after retention ranges exactly over the plan's restore points
        warm = 7 * 24 if name == WEEKLY else 2 * 24
        steady = counts[name][len(pids) * warm :]
        assert (min(steady), max(steady)) == (
            figures["restore_points"]["fewest"],
            figures["restore_points"]["most"],
        ), name

    # the totals are the per-partition figures times the partitions, before (nothing) and after
    assert impact["before"]["backups_per_day"] == 0
    assert impact["after"]["partitions"] == 3
    assert impact["after"]["backups_per_day"] == round(2 * 24 + 4 / 7, 2)
    assert impact["after"]["restore_points"] == {
        "fewest": 2 * impact["policies"]["after"]["Hourly"]["restore_points"]["fewest"]
        + impact["policies"]["after"][WEEKLY]["restore_points"]["fewest"],
        "most": 2 * impact["policies"]["after"]["Hourly"]["restore_points"]["most"]
        + impact["policies"]["after"][WEEKLY]["restore_points"]["most"],
    }
