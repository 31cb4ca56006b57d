"""Soak: a larger configuration applied under 30% transient faults (503, 429, 504, resets) with parallel
actions, across 20 seeds (4 in `make test`, all 20 in `make slow`). Retries are bounded, so an apply may give
up on a request; running it again (as the README tells users to) always ends with the cluster holding exactly
the declaration."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import yaml

from sfdeclare.cli import main
from sfdeclare.emulator.server import EmulatorServer
from sfdeclare.emulator.state import init_state

APPS = 20
SECRET = "UseDevelopmentStorage=true;AccountKey=SOAK-CANARY"


def write_inputs(folder: Path) -> None:
    topology = {
        "applications": [
            {
                "name": f"fabric:/Soak{a}",
                "services": [
                    {"name": f"fabric:/Soak{a}/Orders", "kind": "Stateful", "partitions": 2},
                    {"name": f"fabric:/Soak{a}/Ledger", "kind": "Stateful", "partitions": 1},
                    {"name": f"fabric:/Soak{a}/Web", "kind": "Stateless", "partitions": 1},
                ],
            }
            for a in range(APPS)
        ]
    }
    storage = {
        "StorageKind": "AzureBlobStore",
        "ConnectionString": "${env:SOAK_STORE}",
        "ContainerName": "soak",
    }
    policies = {
        name: {
            "MaxIncrementalBackups": n,
            "Schedule": {"ScheduleKind": "FrequencyBased", "Interval": interval},
            "Storage": storage,
        }
        for n, (name, interval) in enumerate([("Daily", "P1D"), ("Hourly", "PT1H"), ("Often", "PT15M")])
    }
    applications = {
        f"Soak{a}": {
            "policy": "Daily",
            "services": {
                "Orders": {"policy": "Hourly" if a % 2 else "Often", "suspended": a % 5 == 0},
                **({"Ledger": {"suspended": True}} if a % 3 == 0 else {}),
            },
        }
        for a in range(APPS)
    }
    config = {"version": 1, "policies": policies, "applications": applications}
    (folder / "topology.yaml").write_text(yaml.safe_dump(topology))
    (folder / "sfdeclare.yaml").write_text(yaml.safe_dump(config))


def cli(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    text = out.getvalue() + err.getvalue()
    assert "SOAK-CANARY" not in text and "Traceback" not in text and "internal error" not in text
    return code, text


@pytest.mark.timeout(120)
@pytest.mark.usefixtures("fast_retries")
@pytest.mark.parametrize(
    "seed", [*range(4), *(pytest.param(seed, marks=pytest.mark.slow) for seed in range(4, 20))]
)
def test_apply_under_thirty_percent_faults_converges(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    monkeypatch.setenv("SOAK_STORE", SECRET)
    monkeypatch.delenv("SFDECLARE_ENDPOINT", raising=False)
    write_inputs(tmp_path)
    state = str(tmp_path / "state")
    init_state(state, str(tmp_path / "topology.yaml"))
    config = str(tmp_path / "sfdeclare.yaml")
    with EmulatorServer(state, fault_rate=0.3, seed=seed, fault_codes="503,429,504,reset") as faulty:
        for _ in range(4):
            code, text = cli(
                "apply", config, "--endpoint", faulty.url, "--auto-approve", "--parallelism", "8"
            )
            assert code in (0, 1), text
            if code == 0:
                break
        assert code == 0, text
    with EmulatorServer(state) as calm:
        code, text = cli("plan", config, "--endpoint", calm.url, "--detailed-exitcode")
        assert code == 0, text
