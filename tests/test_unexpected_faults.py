"""500 E_UNEXPECTED (a request that reached a node without the backup service's primary, fidelity audit b.13)
against the served emulator's ``--fault-codes 500``: retried within the bounded budget, a write that met it
reported as possibly carried out, apply converging under it, and a persistent one ending in a one-line error that
names the operation and the code, with no traceback and no secret."""

from __future__ import annotations

import functools
import io
from pathlib import Path

import httpx
import pytest
import yaml

from sfdeclare.cli import main
from sfdeclare.cluster import client as client_module
from sfdeclare.cluster.retry import RetryPolicy
from sfdeclare.commands import session
from sfdeclare.emulator.server import EmulatorServer
from sfdeclare.emulator.state import init_state
from sfdeclare.errors import ClusterRequestError
from sfdeclare.servicefabric import codes

SECRET = "UseDevelopmentStorage=true;AccountKey=UNEXPECTED-CANARY"
ENV = {"STORE": SECRET}
POLICY = {
    "MaxIncrementalBackups": 3,
    "Schedule": {"ScheduleKind": "FrequencyBased", "Interval": "PT24H"},
    "Storage": {
        "StorageKind": "AzureBlobStore",
        "ConnectionString": "${env:STORE}",
        "ContainerName": "backups",
    },
}
TOPOLOGY = {
    "applications": [
        {
            "name": f"fabric:/App{a}",
            "services": [{"name": f"fabric:/App{a}/Store", "kind": "Stateful", "partitions": 2}],
        }
        for a in range(4)
    ]
}
NO_WAIT = functools.partial(RetryPolicy, sleep=lambda s: None)


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "topology.yaml").write_text(yaml.safe_dump(TOPOLOGY))
    init_state(str(tmp_path / "state"), str(tmp_path / "topology.yaml"))
    apps = {f"App{a}": {"policy": "Daily", "services": {"Store": {"suspended": a == 0}}} for a in range(4)}
    declaration = {"version": 1, "policies": {"Daily": POLICY}, "applications": apps}
    (tmp_path / "sfdeclare.yaml").write_text(yaml.safe_dump(declaration))
    monkeypatch.setenv("STORE", SECRET)
    monkeypatch.delenv("SFDECLARE_ENDPOINT", raising=False)
    monkeypatch.setattr(client_module, "RetryPolicy", NO_WAIT)  # the CLI's retries, without the waits
    return tmp_path


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    text = out.getvalue() + err.getvalue()
    assert "UNEXPECTED-CANARY" not in text and "Traceback" not in text
    return code, out.getvalue(), err.getvalue()


def test_codes_retry_it_and_count_a_write_as_possibly_done() -> None:
    assert codes.is_transient(500, "E_UNEXPECTED")
    assert codes.is_ambiguous(500, "E_UNEXPECTED")
    assert not codes.is_transient(500, "E_INVALIDARG")  # other 500s still fail at once
    assert not codes.is_ambiguous(500, "FABRIC_E_RESTORE_SAFE_CHECK_FAILED")
    assert not codes.is_ambiguous(400, "E_UNEXPECTED")


def test_the_client_rides_out_intermittent_500s(folder: Path) -> None:
    with EmulatorServer(str(folder / "state"), fault_rate=0.5, fault_codes="500", seed=3) as server:
        with session.connect(
            server.url, env=ENV, retry=RetryPolicy(max_attempts=12, sleep=lambda s: None)
        ) as c:
            attempts = [c.create_policy(f"p{i}", POLICY).attempts for i in range(6)]
            assert sorted(c.list_policies()) == [f"p{i}" for i in range(6)]
        faults = httpx.get(server.url + "/$/Emulator/Stats").json()["Faults"]
    assert faults.get("500", 0) > 0
    assert max(attempts) > 1


def test_a_persistent_500_on_a_write_is_reported_as_possibly_done(folder: Path) -> None:
    server = EmulatorServer(str(folder / "state"), fault_rate=1.0, fault_codes="500", seed=1)
    with (
        server,
        session.connect(server.url, env=ENV, retry=RetryPolicy(max_attempts=3, sleep=lambda s: None)) as c,
        pytest.raises(ClusterRequestError) as info,
    ):
        c.create_policy("p", POLICY)
    message = str(info.value)
    assert message.startswith("CreateBackupPolicy policy[p]: 500 E_UNEXPECTED:")
    assert message.endswith("(gave up after 3 attempts); it may have been carried out (its answer was lost)")
    assert (info.value.attempts, info.value.transient, info.value.ambiguous) == (3, True, True)
    assert "\n" not in message and SECRET not in message


def test_a_persistent_500_on_a_read_is_not_ambiguous(folder: Path) -> None:
    server = EmulatorServer(str(folder / "state"), fault_rate=1.0, fault_codes="500", seed=1)
    with (
        server,
        session.connect(server.url, env=ENV, retry=RetryPolicy(max_attempts=2, sleep=lambda s: None)) as c,
        pytest.raises(ClusterRequestError) as info,
    ):
        c.list_policies()
    assert str(info.value).startswith("GetBackupPolicyList: 500 E_UNEXPECTED:")
    assert str(info.value).endswith("(gave up after 2 attempts)")
    assert not info.value.ambiguous


@pytest.mark.parametrize("seed", [4, 5])
def test_apply_converges_under_500_faults_and_says_what_it_retried(folder: Path, seed: int) -> None:
    with EmulatorServer(str(folder / "state"), fault_rate=0.3, fault_codes="500", seed=seed) as faulty:
        code, out, err = cli(
            "apply",
            str(folder / "sfdeclare.yaml"),
            "--endpoint",
            faulty.url,
            "--auto-approve",
            "--parallelism",
            "1",
        )
        assert code == 0, out + err
        assert "0 failed, 0 skipped" in out + err
        assert " attempts]" in out + err  # the retried actions say so
    with EmulatorServer(str(folder / "state")) as calm:
        code, out, err = cli(
            "plan", str(folder / "sfdeclare.yaml"), "--endpoint", calm.url, "--detailed-exitcode"
        )
        assert code == 0, out + err


def test_a_persistent_500_fails_apply_with_one_line_errors(folder: Path) -> None:
    with EmulatorServer(str(folder / "state"), fault_rate=1.0, fault_codes="500", seed=1) as broken:
        code, _out, err = cli(
            "apply", str(folder / "sfdeclare.yaml"), "--endpoint", broken.url, "--auto-approve"
        )
    assert code == 1
    # the first request (the runtime's version) already meets the fault: one line, the operation and the code
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("error: GetClusterVersion: 500 E_UNEXPECTED: ")
    assert err.rstrip().endswith("(gave up after 6 attempts)")
