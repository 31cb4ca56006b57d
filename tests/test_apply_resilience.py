"""apply against a served emulator that misbehaves: transient faults, permanent rejections, a killed process,
an interrupted one, and two applies at once. Whatever happens, running apply again converges."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from sfdeclare.cli import main
from sfdeclare.emulator.server import EmulatorServer
from sfdeclare.emulator.state import init_state

APPS = 8
SECRET = "UseDevelopmentStorage=true;AccountKey=RESILIENCE-CANARY"


def topology() -> dict[str, object]:
    return {
        "applications": [
            {
                "name": f"fabric:/App{a}",
                "services": [
                    {"name": f"fabric:/App{a}/Store", "kind": "Stateful", "partitions": 2},
                    {"name": f"fabric:/App{a}/Cache", "kind": "Stateful", "partitions": 1},
                ],
            }
            for a in range(APPS)
        ]
    }


def policy(interval: str, **storage: str) -> dict[str, object]:
    return {
        "MaxIncrementalBackups": 4,
        "Schedule": {"ScheduleKind": "FrequencyBased", "Interval": interval},
        "Storage": storage
        or {"StorageKind": "AzureBlobStore", "ConnectionString": "${env:STORE}", "ContainerName": "backups"},
    }


def config(extra_policy: dict[str, object] | None = None) -> dict[str, object]:
    apps: dict[str, object] = {}
    for a in range(APPS):
        apps[f"App{a}"] = {
            "policy": "Daily",
            "services": {"Store": {"policy": "Hourly", "suspended": a % 3 == 0}},
        }
    policies: dict[str, object] = {"Daily": policy("P1D"), "Hourly": policy("PT1H")}
    if extra_policy:
        policies.update(extra_policy)
    return {"version": 1, "policies": policies, "applications": apps}


@pytest.fixture()
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "topology.yaml").write_text(yaml.safe_dump(topology()))
    init_state(str(tmp_path / "state"), str(tmp_path / "topology.yaml"))
    (tmp_path / "sfdeclare.yaml").write_text(yaml.safe_dump(config()))
    monkeypatch.setenv("STORE", SECRET)
    monkeypatch.delenv("SFDECLARE_ENDPOINT", raising=False)
    yield tmp_path


def cli(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    text = out.getvalue() + err.getvalue()
    assert "RESILIENCE-CANARY" not in text and "Traceback" not in text
    return code, text


def converged(folder: Path, endpoint: str) -> bool:
    code, _ = cli("plan", str(folder / "sfdeclare.yaml"), "--endpoint", endpoint, "--detailed-exitcode")
    return code == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_apply_converges_under_thirty_percent_transient_faults(setup: Path, seed: int) -> None:
    with EmulatorServer(
        str(setup / "state"), fault_rate=0.3, seed=seed, fault_codes="503,429,504,reset"
    ) as faulty:
        code, text = cli(
            "apply",
            str(setup / "sfdeclare.yaml"),
            "--endpoint",
            faulty.url,
            "--auto-approve",
            "--parallelism",
            "1",
        )
        assert code == 0, text
        assert "0 failed, 0 skipped" in text
        stats = httpx.get(faulty.url + "/$/Emulator/Stats").json()
    assert stats
    with EmulatorServer(str(setup / "state")) as calm:
        assert converged(setup, calm.url)


def test_a_rejected_policy_fails_its_dependants_only_and_a_rerun_converges_once_fixed(
    setup: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The cluster checks storage before it accepts a policy (ValidateConnection, sent by default on 10.1): a
    # policy whose key the storage account refuses fails its create, and only the mapping that waits for it.
    shape = topology()
    shape["storage"] = {
        "blob_accounts": [{"name": "acct", "keys": ["GOOD-KEY-CANARY"], "containers": ["backups"]}]
    }
    (setup / "topology.yaml").write_text(yaml.safe_dump(shape))
    init_state(str(setup / "state"), str(setup / "topology.yaml"))
    monkeypatch.setenv("STORE", "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=GOOD-KEY-CANARY")
    monkeypatch.setenv(
        "WRONG", "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=RESILIENCE-CANARY"
    )
    wrong = {"StorageKind": "AzureBlobStore", "ConnectionString": "${env:WRONG}", "ContainerName": "backups"}
    cfg = config({"Refused": policy("PT2H", **wrong)})
    cfg["applications"]["App1"]["services"]["Cache"] = {"policy": "Refused"}  # type: ignore[index]
    (setup / "sfdeclare.yaml").write_text(yaml.safe_dump(cfg))
    with EmulatorServer(str(setup / "state")) as server:
        code, text = cli("apply", str(setup / "sfdeclare.yaml"), "--endpoint", server.url, "--auto-approve")
        assert code == 1
        failed = [
            line for line in text.splitlines() if line.startswith("failed: create_policy policy[Refused]")
        ]
        assert failed and all("storage account 'acct' refused the AccountKey" in line for line in failed)
        assert "GOOD-KEY-CANARY" not in text  # nor the wrong one (cli() checks RESILIENCE-CANARY)
        assert (
            "skipped: enable_backup service[fabric:/App1/Cache] -- waited for create_policy:policy[Refused]"
            in text
        )
        assert "Apply complete: " in text and " 1 failed, 1 skipped." in text
        monkeypatch.setenv(
            "WRONG", "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=GOOD-KEY-CANARY"
        )
        code, text = cli("apply", str(setup / "sfdeclare.yaml"), "--endpoint", server.url, "--auto-approve")
        assert code == 0, text
        assert converged(setup, server.url)


def spawn_apply(folder: Path, url: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sfdeclare.cli",
            "apply",
            str(folder / "sfdeclare.yaml"),
            "--endpoint",
            url,
            "--auto-approve",
            "--parallelism",
            "2",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "STORE": SECRET},
    )


def wait_for_writes(url: str, writes: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        stats = httpx.get(url + "/$/Emulator/Stats").json()
        posts = sum(n for route, n in stats["Routes"].items() if route.startswith("POST"))
        if posts >= writes:
            return
        time.sleep(0.02)
    raise AssertionError("apply never got going")


def test_sigkill_in_the_middle_then_apply_again_converges(setup: Path) -> None:
    with EmulatorServer(str(setup / "state"), latency_ms=40) as server:
        proc = spawn_apply(setup, server.url)
        try:
            wait_for_writes(server.url, 6)
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        code, text = cli("apply", str(setup / "sfdeclare.yaml"), "--endpoint", server.url, "--auto-approve")
        assert code == 0, text
        assert converged(setup, server.url)


def test_ctrl_c_finishes_running_actions_reports_and_exits_130(setup: Path) -> None:
    with EmulatorServer(str(setup / "state"), latency_ms=40) as server:
        proc = spawn_apply(setup, server.url)
        wait_for_writes(server.url, 6)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "Apply interrupted:" in out and "not started." in out
        assert "Traceback" not in err
        code, text = cli("apply", str(setup / "sfdeclare.yaml"), "--endpoint", server.url, "--auto-approve")
        assert code == 0, text
        assert converged(setup, server.url)


def test_two_applies_at_once_both_end_and_the_cluster_matches(setup: Path) -> None:
    with EmulatorServer(str(setup / "state"), latency_ms=5) as server:
        first, second = spawn_apply(setup, server.url), spawn_apply(setup, server.url)
        results = [p.communicate(timeout=120) for p in (first, second)]
        for proc, (out, err) in zip((first, second), results, strict=True):
            assert proc.returncode in (0, 1), err
            assert "Traceback" not in err and "RESILIENCE-CANARY" not in out + err
        assert converged(setup, server.url)
