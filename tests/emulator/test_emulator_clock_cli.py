"""The clock and failure controls from the command line, the clock options of init and serve, and state files
of the previous format."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import httpx
from emulator_support import CALC_PARTITIONS, CALC_TOPOLOGY, NO_CA, Api, advance, backups, http_client

from sfdeclare.cli import main
from sfdeclare.emulator.server import EmulatorServer
from sfdeclare.emulator.state import init_state
from sfdeclare.emulator.transport import EmulatorTransport


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_cli_drives_clock_and_failures(tmp_path: Path) -> None:
    state = str(tmp_path / "s.db")
    code, _, _ = run(
        "emulator",
        "init",
        "--state",
        state,
        "--topology",
        str(CALC_TOPOLOGY),
        "--clock-start",
        "2024-01-01T00:00:00Z",
    )
    assert code == 0
    assert run("emulator", "clock", "--state", state)[1] == "emulator clock: 2024-01-01T00:00:00Z\n"
    api = Api(httpx.Client(transport=EmulatorTransport(state), base_url="http://e", verify=NO_CA))
    api.create(RetentionPolicy=None)
    api.enable(f"Partitions/{CALC_PARTITIONS[0]}")
    assert run("emulator", "advance", "--state", state, "PT2H") == (
        0,
        "emulator clock: 2024-01-01T02:00:00Z\n",
        "",
    )
    assert run("emulator", "break-storage", "--state", state, "p1")[0] == 0
    assert run("emulator", "stop-backups", "--state", state, CALC_PARTITIONS[0])[0] == 0
    run("emulator", "advance", "--state", state, "PT2H")
    assert len(backups(api, f"Partitions/{CALC_PARTITIONS[0]}")) == 2
    assert api.get(f"/Partitions/{CALC_PARTITIONS[0]}/$/GetHealth").json()["AggregatedHealthState"] == "Ok"
    run("emulator", "start-backups", "--state", state, CALC_PARTITIONS[0])
    run("emulator", "advance", "--state", state, "PT1H")
    assert (
        api.get(f"/Partitions/{CALC_PARTITIONS[0]}/$/GetHealth").json()["AggregatedHealthState"] == "Warning"
    )
    run("emulator", "repair-storage", "--state", state, "p1")
    run("emulator", "advance", "--state", state, "PT1H")
    assert len(backups(api, f"Partitions/{CALC_PARTITIONS[0]}")) == 3


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    state = str(tmp_path / "s.db")
    assert run("emulator", "advance", "--state", state, "PT1H") == (
        1,
        "",
        f"error: {state}: no such emulator state file (create one with: sfdeclare emulator init)\n",
    )
    init_state(state, None)
    assert run("emulator", "advance", "--state", state, "soon")[2].startswith(
        "error: advance: Invalid Duration"
    )
    assert run("emulator", "break-storage", "--state", state, "p9")[2] == (
        "error: break-storage: Fabric Backup Policy doesn't exist\n"
    )
    assert run("emulator", "init", "--state", state, "--clock-start", "noon")[0] == 1
    assert run(
        "emulator", "init", "--state", state, "--clock", "real", "--clock-start", "2024-01-01T00:00:00Z"
    ) == (
        1,
        "",
        "error: --clock-start needs a virtual clock\n",
    )


def test_real_clock_refuses_advance_and_follows_the_host(tmp_path: Path) -> None:
    state = str(tmp_path / "s.db")
    assert (
        run("emulator", "init", "--state", state, "--topology", str(CALC_TOPOLOGY), "--clock", "real")[0] == 0
    )
    with EmulatorServer(state) as server, http_client(server.url) as client:
        api = Api(client)
        assert api.client.get("/$/Emulator/Clock").json()["Mode"] == "real"
        refused = advance(api, "PT1H")
        assert refused.status_code == 400
        assert "real" in refused.json()["Error"]["Message"]
    assert run("emulator", "advance", "--state", state, "PT1H")[0] == 1


def test_serve_can_set_the_clock(tmp_path: Path) -> None:
    state = str(tmp_path / "s.db")
    init_state(state, str(CALC_TOPOLOGY))
    with EmulatorServer(state, clock="real") as server, http_client(server.url) as client:
        assert client.get("/$/Emulator/Clock").json()["Mode"] == "real"


def test_a_version_1_state_file_is_migrated_in_place(tmp_path: Path) -> None:
    state = str(tmp_path / "s.db")
    init_state(state, str(CALC_TOPOLOGY))
    api = Api(httpx.Client(transport=EmulatorTransport(state), base_url="http://e", verify=NO_CA))
    api.create(RetentionPolicy=None)
    api.enable("Services/CalcApp/CalcService")
    api.client.close()
    with sqlite3.connect(state) as conn:  # what a state file of the previous format holds
        for table in ("backup_tracks", "backup_runs", "backup_dirty", "broken_policies", "backup_operations"):
            conn.execute(f"DROP TABLE {table}")
        conn.execute("DELETE FROM meta WHERE key LIKE 'clock_%'")
        conn.execute("UPDATE meta SET value = '1' WHERE key = 'version'")
    api = Api(httpx.Client(transport=EmulatorTransport(state), base_url="http://e", verify=NO_CA))
    assert api.get("/BackupRestore/BackupPolicies/p1").status_code == 200
    advance(api, "PT2H")
    assert len(backups(api, f"Partitions/{CALC_PARTITIONS[0]}")) == 2
    with sqlite3.connect(state) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'version'").fetchone() == ("2",)


def test_an_unknown_version_is_refused_naming_init(tmp_path: Path) -> None:
    state = str(tmp_path / "s.db")
    init_state(state, None)
    with sqlite3.connect(state) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'version'")
    code, _, err = run("emulator", "advance", "--state", state, "PT1H")
    assert code == 1
    assert err.splitlines()[0] == (
        f"error: {state}: unsupported emulator state version 99; create a new state file with: sfdeclare emulator init"
    )
