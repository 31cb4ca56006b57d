"""Runtimes through the CLI against the emulator: each runtime's errors and warnings for one configuration, the
one GetClusterVersion per run, a cluster upgraded between plan and apply, ValidateConnection, and a policy made
out of band with fields the configuration does not write (plan shows them, apply leaves nothing unannounced,
import then plan is empty)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from sfdeclare.cli import main
from sfdeclare.emulator.server import EmulatorServer

SECRET = "DefaultEndpointsProtocol=https;AccountName=demo;AccountKey=CANARY-KEY-RUNTIMES"
MANAGED = {
    "StorageKind": "ManagedIdentityAzureBlobStore",
    "ManagedIdentityType": "VMSS",
    "BlobServiceUri": "https://demo.blob.core.windows.net",
    "ContainerName": "backups",
}
RETENTION = {"RetentionPolicyType": "Basic", "RetentionDuration": "P30D"}
SCHEDULE = {"ScheduleKind": "FrequencyBased", "Interval": "PT1H"}


def cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    assert "CANARY-KEY" not in out.getvalue() + err.getvalue()
    assert "Traceback" not in err.getvalue()
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STORE", SECRET)
    monkeypatch.delenv("SFDECLARE_ENDPOINT", raising=False)
    (tmp_path / "topology.yaml").write_text("applications: []\n")
    return tmp_path


def init(folder: Path, runtime: str, name: str = "state") -> str:
    state = str(folder / name)
    code, _, err = cli("emulator", "init", "--state", state, "--topology", str(folder / "topology.yaml"))
    assert code == 0, err
    code, _, err = cli("emulator", "init", "--state", state, "--runtime", runtime)
    assert code == 0, err
    return state


class _Plain(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def write(folder: Path, document: dict[str, Any], name: str = "sfdeclare.yaml") -> str:
    path = folder / name
    path.write_text(yaml.dump({"version": 1, **document}, Dumper=_Plain, sort_keys=False))
    return str(path)


MODERN = {
    "policies": {
        "Identity": {
            "MaxIncrementalBackups": 3,
            "Schedule": SCHEDULE,
            "Storage": {**MANAGED, "ManagedIdentityClientId": "5b3e2f11-6f0e-4c3a-9d43-2a8f6f0c1d22"},
            "RetentionPolicy": RETENTION,
            "QuickRecovery": "FromPrimary",
        },
        "Keyed": {
            "AutoRestoreOnDataLoss": True,
            "MaxIncrementalBackups": 3,
            "Schedule": SCHEDULE,
            "Storage": {
                "StorageKind": "AzureBlobStore",
                "ConnectionString": "${env:STORE}",
                "ContainerName": "b",
            },
        },
    }
}


def _lines(err: str) -> list[str]:
    return [
        line.split(": ", 1)[1] for line in err.splitlines() if ": error: " in line or ": warning: " in line
    ]


def test_the_same_configuration_gets_each_runtimes_errors_and_warnings(folder: Path) -> None:
    config = write(folder, MODERN)
    code, out, err = cli("plan", config, "--endpoint", f"emulator:{init(folder, '6.4', 'old')}")
    assert code == 1 and out == ""
    assert [line.split(": ", 1)[1] for line in err.splitlines() if ": error: " in line] == [
        "error: policy Identity: StorageKind ManagedIdentityAzureBlobStore is not accepted by runtime "
        "6.4.670.9590: Service Fabric 8.0 added it ($.policies.Identity.Storage.StorageKind)",
        "error: policy Identity: QuickRecovery is not accepted by runtime 6.4.670.9590: Service Fabric "
        "11.3.365.1 added it ($.policies.Identity.QuickRecovery)",
    ]
    assert "sfdeclare.yaml:9:7: error: policy Identity: StorageKind" in err  # at the line that writes it
    old_warnings = [line for line in err.splitlines() if ": warning: " in line]
    assert len(old_warnings) == 2
    assert "AutoRestoreOnDataLoss: true restores the latest backup" in old_warnings[0]
    assert (
        "policy Keyed: no RetentionPolicy: backups are kept for ever (runtime 6.4.670.9590" in old_warnings[1]
    )

    code, out, err = cli("plan", config, "--endpoint", f"emulator:{init(folder, '11.3', 'new')}")
    assert code == 0, err
    assert "+ policy[Identity] will be created" in out and "+ policy[Keyed] will be created" in out
    assert ": error: " not in err
    warnings = [line for line in err.splitlines() if ": warning: " in line]
    assert len(warnings) == 3
    assert "AutoRestoreOnDataLoss: true" in warnings[0]
    assert (
        "policy Keyed: Storage.ConnectionString: credentials in a backup policy are on the deprecation path "
        "(Service Fabric 9.0 CU5 and 9.1 CU1 put a health warning on them): use ManagedIdentityAzureBlobStore "
        "storage on Azure ($.policies.Keyed.Storage.ConnectionString)"
    ) in warnings[1]
    assert "no RetentionPolicy: backups are kept for ever (runtime 11.3.365.1" in warnings[2]


def test_validate_checks_a_named_runtime_and_otherwise_defers_to_plan(folder: Path) -> None:
    config = write(folder, MODERN)
    code, _, err = cli("validate", config)
    assert code == 0 and ": error: " not in err
    assert "note: cluster.runtime is auto: the checks that depend on the cluster's runtime run at plan" in err
    named = write(folder, {"cluster": {"runtime": "10.1"}, **MODERN}, "named.yaml")
    code, _out, err = cli("validate", named)
    assert code == 1
    assert (
        "named.yaml:19:5: error: policy Identity: QuickRecovery is not accepted by runtime 10.1: Service Fabric "
        "11.3.365.1 added it ($.policies.Identity.QuickRecovery)"
    ) in err
    assert "note:" not in err
    conflict = write(folder, {"cluster": {"runtime": "11.3", "api_version": "6.2-preview"}}, "conflict.yaml")
    code, _, err = cli("validate", conflict)
    assert code == 1
    assert (
        "conflict.yaml:4:16: error: api_version 6.2-preview does not speak to runtime 11.3: that runtime takes "
        "api-version 6.4 (leave api_version out and sfdeclare derives it)"
    ) in err
    client_id = write(
        folder,
        {
            "cluster": {"runtime": "9.1.2000.9590"},
            "policies": {"Identity": {**MODERN["policies"]["Identity"], "QuickRecovery": "Disabled"}},
        },
        "client-id.yaml",
    )
    code, _, err = cli("validate", client_id)
    assert code == 1
    assert (
        "policy Identity: ManagedIdentityClientId is not accepted by runtime 9.1.2000.9590: Service Fabric "
        "9.1.2833.9590, 10.0.2712.9590 and 10.1.2409.9590 added it"
    ) in err


def _stats(url: str) -> dict[str, Any]:
    answer: dict[str, Any] = httpx.get(url + "/$/Emulator/Stats").json()
    return answer


def test_detection_costs_one_request_per_run(folder: Path) -> None:
    config = write(
        folder, {"policies": {"Keyed": {**MODERN["policies"]["Keyed"], "RetentionPolicy": RETENTION}}}
    )
    named = write(
        folder, {"cluster": {"runtime": "10.1"}, **yaml.safe_load(Path(config).read_text())}, "n.yaml"
    )
    with EmulatorServer(init(folder, "10.1")) as server:
        code, _, err = cli("plan", config, "--endpoint", server.url)
        assert code == 0, err
        assert _stats(server.url)["Routes"] == {
            "GET /$/GetClusterVersion": 1,
            "GET /BackupRestore/BackupPolicies": 1,
        }
        httpx.post(server.url + "/$/Emulator/Stats/$/Reset")
        # apply reads the cluster twice (to plan, then to check convergence): the runtime once
        code, _, err = cli("apply", config, "--endpoint", server.url, "--auto-approve")
        assert code == 0, err
        assert _stats(server.url)["Routes"]["GET /$/GetClusterVersion"] == 1
        httpx.post(server.url + "/$/Emulator/Stats/$/Reset")
        code, _, err = cli("plan", named, "--endpoint", server.url, "--detailed-exitcode")
        assert code == 0, err
        assert "GET /$/GetClusterVersion" not in _stats(server.url)["Routes"]  # a named runtime is not read


def test_an_upgrade_between_plan_and_apply_makes_the_plan_stale(folder: Path) -> None:
    config = write(
        folder, {"policies": {"Keyed": {**MODERN["policies"]["Keyed"], "RetentionPolicy": RETENTION}}}
    )
    state = init(folder, "10.1")
    plan_file = str(folder / "plan.json")
    code, _, err = cli("plan", config, "--endpoint", f"emulator:{state}", "--out", plan_file)
    assert code == 0, err
    assert cli("emulator", "init", "--state", state, "--runtime", "11.3")[0] == 0
    code, _, err = cli("apply", "--plan", plan_file)
    assert code == 1
    assert "the cluster changed since this plan was made: plan again (nothing was changed)" in err
    code, _, err = cli("plan", config, "--endpoint", f"emulator:{state}", "--out", plan_file)
    assert code == 0, err
    code, _out, err = cli("apply", "--plan", plan_file)
    assert code == 0, err


def _query(plan_file: str, action: str) -> dict[str, str]:
    plan = json.loads(Path(plan_file).read_text())
    change = next(c for c in plan["actions"] if c["action"] == action)
    query: dict[str, str] = change["request"]["query"]
    return query


def test_validate_connection_is_sent_where_the_runtime_checks_storage(folder: Path) -> None:
    body = {**MODERN["policies"]["Keyed"], "RetentionPolicy": RETENTION}
    config = write(folder, {"policies": {"Keyed": body}})
    off = write(folder, {"cluster": {"validate_storage": False}, "policies": {"Keyed": body}}, "off.yaml")
    plan_file = str(folder / "plan.json")
    assert cli("plan", config, "--endpoint", f"emulator:{init(folder, '10.1')}", "--out", plan_file)[0] == 0
    assert _query(plan_file, "create_policy")["ValidateConnection"] == "true"
    assert cli("plan", off, "--endpoint", f"emulator:{folder / 'state'}", "--out", plan_file)[0] == 0
    assert "ValidateConnection" not in _query(plan_file, "create_policy")
    assert (
        cli("plan", config, "--endpoint", f"emulator:{init(folder, '6.4', 'old')}", "--out", plan_file)[0]
        == 0
    )
    assert "ValidateConnection" not in _query(plan_file, "create_policy")


def test_a_policy_made_out_of_band_shows_every_field_it_changes_and_import_then_plan_is_empty(
    folder: Path,
) -> None:
    state = init(folder, "11.3")
    with EmulatorServer(state) as server:
        # raw HTTP, as the 2025 Service Fabric Explorer wrote it: boolean QuickRecovery, CompressionStrategy
        created = httpx.post(
            server.url + "/BackupRestore/BackupPolicies/$/Create?api-version=6.4",
            json={
                "Name": "Identity",
                "MaxIncrementalBackups": 3,
                "Schedule": SCHEDULE,
                "Storage": {**MANAGED, "ManagedIdentityClientId": "5b3e2f11-6f0e-4c3a-9d43-2a8f6f0c1d22"},
                "RetentionPolicy": RETENTION,
                "QuickRecovery": True,
                "CompressionStrategy": "ZSTANDARD",
            },
        )
        assert created.status_code == 201
        imported = str(folder / "imported.yaml")
        code, _, err = cli("import", "--endpoint", server.url, "--output", imported)
        assert code == 0, err
        written = yaml.safe_load(Path(imported).read_text())["policies"]["Identity"]
        assert written["QuickRecovery"] == "FromPrimary" and written["CompressionType"] == "ZSTANDARD"
        assert written["Storage"]["ManagedIdentityClientId"] == "5b3e2f11-6f0e-4c3a-9d43-2a8f6f0c1d22"
        code, out, err = cli("plan", imported, "--endpoint", server.url, "--detailed-exitcode")
        assert code == 0, out + err

        # the configuration leaves the client id and quick recovery out: each is a shown, planned change
        config = write(
            folder,
            {
                "policies": {
                    "Identity": {
                        "MaxIncrementalBackups": 3,
                        "Schedule": SCHEDULE,
                        "Storage": MANAGED,
                        "RetentionPolicy": RETENTION,
                        "CompressionType": "ZSTANDARD",
                    }
                }
            },
        )
        code, out, err = cli("plan", config, "--endpoint", server.url)
        assert code == 0, err
        assert "~ policy[Identity] will be updated" in out
        assert 'QuickRecovery: "FromPrimary" -> null' in out
        assert 'Storage.ManagedIdentityClientId: "5b3e2f11-6f0e-4c3a-9d43-2a8f6f0c1d22" -> null' in out
        assert "CompressionType" not in out  # the same value under its other name
        code, out, err = cli("apply", config, "--endpoint", server.url, "--auto-approve")
        assert code == 0, out + err
        live = httpx.get(server.url + "/BackupRestore/BackupPolicies/Identity?api-version=6.4").json()
        assert live["QuickRecovery"] == "Disabled" and live["CompressionType"] == "ZSTANDARD"
        assert live["Storage"]["ManagedIdentityClientId"] is None
        assert cli("plan", config, "--endpoint", server.url, "--detailed-exitcode")[0] == 0
