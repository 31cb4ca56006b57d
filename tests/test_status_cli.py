"""`sfdeclare status` end to end through the CLI against the emulator: every class produced by the scenario that
causes it on a real cluster (a broken storage, a partition that silently stops, a suspension, a never-enabled
stateful service, a first period not yet over, a first period long over with --since), the exit code, the JSON
against schemas/status.schema.json, the cluster's clock from the Date header, bad input, and the request
budget."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sfdeclare import schemas
from sfdeclare.cli import main
from sfdeclare.emulator.server import EmulatorServer
from sfdeclare.emulator.topology import derived_partition_id

TOPOLOGY = """\
applications:
  - name: fabric:/Shop
    services:
      - {name: fabric:/Shop/Orders, partitions: 2}
      - {name: fabric:/Shop/Payments, partitions: 1}
      - {name: fabric:/Shop/Audit, partitions: 1}
      - {name: fabric:/Shop/Ledger, partitions: 1}
      - {name: fabric:/Shop/Search, partitions: 1}
      - {name: fabric:/Shop/Cache, has_persisted_state: false}
      - {name: fabric:/Shop/Web, kind: Stateless}
  - name: fabric:/Reports
    services:
      - {name: fabric:/Reports/Weekly, partitions: 1}
"""

CONFIG = """\
version: 1
policies:
  Hourly:
    MaxIncrementalBackups: 2
    Schedule: {ScheduleKind: FrequencyBased, Interval: PT1H}
    Storage: {StorageKind: FileShare, Path: '\\\\\\\\server\\\\orders'}
  Fragile:
    MaxIncrementalBackups: 2
    Schedule: {ScheduleKind: FrequencyBased, Interval: PT1H}
    Storage: {StorageKind: FileShare, Path: '\\\\\\\\server\\\\payments'}
  Weekly:
    MaxIncrementalBackups: 0
    Schedule: {ScheduleKind: TimeBased, ScheduleFrequencyType: Weekly, RunDays: [Monday], RunTimes: ['09:00']}
    Storage: {StorageKind: FileShare, Path: '\\\\\\\\server\\\\reports'}
applications:
  Shop:
    services:
      Orders: {policy: Hourly}
      Payments: {policy: Fragile}
      Audit: {policy: Hourly, suspended: true}
      Ledger: {policy: none}
  Reports:
    policy: Weekly
"""

ORDERS = [derived_partition_id("fabric:/Shop/Orders", i) for i in range(2)]
PAYMENTS = derived_partition_id("fabric:/Shop/Payments", 0)
WEEKLY = derived_partition_id("fabric:/Reports/Weekly", 0)
START = "2024-01-01T00:00:00Z"  # a Monday


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def shop(tmp_path: Path) -> tuple[str, str]:
    """(config, state): the configuration applied at START on an emulator whose clock stands at START."""
    topology = tmp_path / "topology.yaml"
    topology.write_text(TOPOLOGY)
    config = tmp_path / "backup.yaml"
    config.write_text(CONFIG)
    state = str(tmp_path / "state.db")
    assert (
        run("emulator", "init", "--state", state, "--topology", str(topology), "--clock-start", START)[0] == 0
    )
    code, out, err = run("apply", str(config), "--endpoint", f"emulator:{state}", "--auto-approve")
    assert code == 0, out + err
    return str(config), state


def status(config: str, state: str, *extra: str) -> tuple[int, dict[str, Any]]:
    code, out, err = run("status", config, "--endpoint", f"emulator:{state}", "--format", "json", *extra)
    assert code in (0, 2), err
    report = json.loads(out)
    jsonschema.validate(report, schemas.load("status"))
    return code, report


def classes(report: dict[str, Any]) -> dict[str, tuple[str, bool]]:
    return {
        p["partition_id"]: (p["status"], p["problem"])
        for app in report["applications"]
        for p in app["partitions"]
    }


def by_service(report: dict[str, Any], service: str) -> list[dict[str, Any]]:
    return [p for app in report["applications"] for p in app["partitions"] if p["service"] == service]


def test_every_class_from_the_scenario_that_causes_it(shop: tuple[str, str]) -> None:
    config, state = shop
    # Right after apply nothing is late: no backup yet (listed), the suspension, the never-enabled service
    code, report = status(config, state)
    assert code == 2  # Ledger: named in the configuration, stateful, persisted, and no policy applies
    assert report["now"] == START and report["now_source"] == "cluster"
    assert {p["status"] for p in by_service(report, "fabric:/Shop/Orders")} == {"no_backup_yet"}
    assert by_service(report, "fabric:/Shop/Audit")[0]["status"] == "suspended"
    assert by_service(report, "fabric:/Shop/Audit")[0]["suspended_from"] == "Service"
    assert (
        by_service(report, "fabric:/Shop/Ledger")[0]["status"],
        by_service(report, "fabric:/Shop/Ledger")[0]["problem"],
    ) == (
        "unprotected",
        True,
    )
    search = by_service(report, "fabric:/Shop/Search")[0]  # not named, nothing inherited: listed only
    assert (search["status"], search["problem"], search["required"]) == ("unprotected", False, False)
    assert not by_service(report, "fabric:/Shop/Cache") and not by_service(report, "fabric:/Shop/Web")

    # The storage of Payments breaks, one Orders partition silently stops; six hours pass
    assert run("emulator", "break-storage", "--state", state, "Fragile")[0] == 0
    assert run("emulator", "stop-backups", "--state", state, ORDERS[1])[0] == 0
    assert run("emulator", "advance", "--state", state, "PT6H")[0] == 0
    code, report = status(config, state)
    got = classes(report)
    assert got[ORDERS[0]] == ("ok", False)
    assert got[ORDERS[1]] == ("no_backup_yet", False)  # stopped before its first backup: no --since, listed
    assert got[PAYMENTS] == ("failing", True)
    payments = by_service(report, "fabric:/Shop/Payments")[0]
    assert payments["health"].startswith("Failed to take periodic backup for this partition")
    # The weekly report's first run (Monday 09:00) is still ahead: a first period not yet over
    assert got[WEEKLY] == ("no_backup_yet", False)
    assert by_service(report, "fabric:/Reports/Weekly")[0]["next_run"] == "2024-01-01T09:00:00Z"
    assert code == 2

    # With --since the stopped partition's first period is long over: a problem
    code, report = status(config, state, "--since", START)
    got = classes(report)
    assert got[ORDERS[1]] == ("no_backup_yet", True)
    assert by_service(report, "fabric:/Shop/Orders")[1]["missed_run"] == "2024-01-01T01:00:00Z"
    assert got[WEEKLY] == ("no_backup_yet", False)  # 09:00 has not come

    # The stopped partition starts again; Orders' other partition stops after backups: late
    run("emulator", "start-backups", "--state", state, ORDERS[1])
    run("emulator", "stop-backups", "--state", state, ORDERS[0])
    run("emulator", "advance", "--state", state, "PT4H")
    code, report = status(config, state)
    got = classes(report)
    assert got[ORDERS[0]] == ("late", True)
    late = by_service(report, "fabric:/Shop/Orders")[0]
    assert (late["latest_backup"], late["missed_run"]) == ("2024-01-01T06:00:00Z", "2024-01-01T07:00:00Z")
    assert got[ORDERS[1]] == ("ok", False)
    assert got[WEEKLY] == ("ok", False)  # Monday 09:00 was taken
    assert code == 2


def test_ok_exits_0_and_text_is_grouped_by_application(shop: tuple[str, str], tmp_path: Path) -> None:
    state = shop[1]
    healthy = tmp_path / "healthy.yaml"
    healthy.write_text(CONFIG.replace("      Ledger: {policy: none}\n", ""))
    run("emulator", "advance", "--state", state, "P1D")
    code, out, err = run("status", str(healthy), "--endpoint", f"emulator:{state}")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"Backup status at 2024-01-02T00:00:00Z (the cluster's clock) on emulator:{state}"
    assert lines.index("fabric:/Shop") < lines.index("fabric:/Reports")
    assert any(line.startswith("    suspended     fabric:/Shop/Audit ") for line in lines)
    assert lines[-1] == "7 partitions: 2 unprotected, 1 suspended, 4 ok; no problems"


def test_markdown_lists_problems_first(shop: tuple[str, str]) -> None:
    config, state = shop
    run("emulator", "break-storage", "--state", state, "Fragile")
    run("emulator", "advance", "--state", state, "PT3H")
    code, out, _ = run("status", config, "--endpoint", f"emulator:{state}", "--format", "markdown")
    assert code == 2
    assert out.startswith(
        "### sfdeclare status\n\n**7 partitions: 1 failing, 1 no backup yet, 2 unprotected, 1 suspended, 2 ok; 2 problems**"
    )
    assert out.index("<summary>Problems (2)</summary>") < out.index("<summary>Listed, not problems (3)")
    assert "Failed to take periodic backup" in out


def test_grace_and_now_override(shop: tuple[str, str]) -> None:
    config, state = shop
    run("emulator", "advance", "--state", state, "PT2H")
    # judged at 04:00 with the backup of 02:00 the latest: the 03:00 run is 1 h old, more than the default
    # grace (half an hour, at least 30 minutes), so late; with --grace PT2H it is not
    _, report = status(config, state, "--now", "2024-01-01T04:00:00Z")
    assert report["now_source"] == "option"
    assert classes(report)[ORDERS[0]] == ("late", True)
    _, report = status(config, state, "--now", "2024-01-01T04:00:00Z", "--grace", "PT2H")
    assert classes(report)[ORDERS[0]] == ("ok", False)
    assert report["grace_seconds"] == 7200


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--since", "yesterday"], "not a date-time: 'yesterday'"),
        (["--grace", "2 hours"], "not an ISO 8601 duration: '2 hours'"),
        (["--grace=-PT1H"], "must not be negative"),
        (["--format", "yaml"], "invalid choice: 'yaml'"),
    ],
)
def test_bad_options_are_one_line_exit_1(
    shop: tuple[str, str], argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    config, state = shop
    code, out, _ = run("status", config, "--endpoint", f"emulator:{state}", *argv)
    err = capsys.readouterr().err  # argparse writes its usage errors to sys.stderr
    assert code == 1 and out == ""
    assert err.splitlines()[-1].startswith("sfdeclare status: error: ")
    assert message in err and "Traceback" not in err


def test_errors_are_one_line_exit_1(shop: tuple[str, str], tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.yaml")
    code, out, err = run("status", missing, "--endpoint", f"emulator:{shop[1]}")
    assert (code, out, err) == (1, "", f"error: {missing}: no such file or directory\n1 error, 0 warnings\n")


def test_schema_command_prints_the_status_schema() -> None:
    code, out, _ = run("schema", "status")
    assert code == 0 and json.loads(out)["title"] == "sfdeclare backup status report"


@pytest.fixture
def served(shop: tuple[str, str]) -> Iterator[tuple[str, EmulatorServer]]:
    run("emulator", "advance", "--state", shop[1], "PT3H")
    with EmulatorServer(shop[1]) as server:
        yield shop[0], server


def _stats(server: EmulatorServer) -> dict[str, int]:
    import httpx

    routes: dict[str, int] = httpx.get(f"{server.url}/$/Emulator/Stats").json()["Routes"]
    httpx.post(f"{server.url}/$/Emulator/Stats/$/Reset")
    return routes


def test_request_budget_and_the_served_date_header(served: tuple[str, EmulatorServer]) -> None:
    """On top of what a plan reads: one GetBackups per declared application with a mapping, the partitions of
    the backup-eligible services the plan did not list, and the health only of partitions that are not ok."""
    config, server = served
    run("emulator", "break-storage", "--state", server.state_path, "Fragile")
    _stats(server)
    code, out, err = run("plan", config, "--endpoint", server.url)
    assert code == 0, err
    plan_routes = _stats(server)
    code, out, err = run("status", config, "--endpoint", server.url, "--format", "json")
    assert code == 2, err
    status_routes = _stats(server)
    report = json.loads(out)
    assert report["now"] == "2024-01-01T03:00:00Z" and report["now_source"] == "cluster"
    extra = dict(status_routes)
    for route, count in plan_routes.items():
        assert extra.get(route, 0) >= count, route
        extra[route] = extra.get(route, 0) - count
    extra = {route: count for route, count in extra.items() if count}
    not_ok = sum(
        1
        for app in report["applications"]
        for p in app["partitions"]
        if p["status"] in ("late", "failing", "no_backup_yet")
    )
    assert not_ok == 1  # Payments: its storage is broken
    assert extra == {
        "GET /Applications/{id}/$/GetBackups": 2,  # Shop and Reports
        "GET /Services/{id}/$/GetPartitions": 6,  # the six backup-eligible services; the plan listed none
        "GET /Partitions/{id}/$/GetHealth": not_ok,
    }
