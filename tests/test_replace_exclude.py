"""--replace and --exclude through the CLI against the in-process emulator: what each adds or leaves out, the
refusals (matching nothing; a policy only referenced, whose secrets read back masked), and apply sending them."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from sfdeclare.cli import main
from sfdeclare.commands.session import connect
from sfdeclare.emulator.state import init_state
from sfdeclare.model.addresses import EntityRef

TOPOLOGY = """
applications:
  - name: fabric:/CalcApp
    services:
      - name: fabric:/CalcApp/CalcService
        kind: Stateful
        partitions: 1
      - name: fabric:/CalcApp/Reporting
        kind: Stateful
        partitions: 1
"""

CONFIG = """\
version: 1
policies:
  Daily:
    MaxIncrementalBackups: 3
    Schedule: {ScheduleKind: FrequencyBased, Interval: PT24H}
    Storage: {StorageKind: AzureBlobStore, ConnectionString: "${env:BACKUP_STORE}", ContainerName: backups}
    RetentionPolicy: {RetentionPolicyType: Basic, RetentionDuration: P30D, MinimumNumberOfBackups: 5}
applications:
  CalcApp:
    policy: Daily
    services:
      Reporting:
        policy: Shared
"""

SHARED = {
    "AutoRestoreOnDataLoss": False,
    "MaxIncrementalBackups": 1,
    "Schedule": {"ScheduleKind": "FrequencyBased", "Interval": "PT12H"},
    "Storage": {"StorageKind": "FileShare", "Path": "\\\\share\\shared"},
}


def sfd(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    assert "Traceback" not in out.getvalue() + err.getvalue()
    return code, out.getvalue(), err.getvalue()


@pytest.fixture()
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BACKUP_STORE", "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k")
    monkeypatch.delenv("SFDECLARE_ENDPOINT", raising=False)
    monkeypatch.delenv("SFDECLARE_GUARDRAILS", raising=False)
    (tmp_path / "topology.yaml").write_text(TOPOLOGY)
    init_state(str(tmp_path / "cluster.state"), str(tmp_path / "topology.yaml"))
    endpoint = f"emulator:{tmp_path / 'cluster.state'}"
    with connect(endpoint) as client:
        client.create_policy("Shared", SHARED)
    (tmp_path / "backup.yaml").write_text(CONFIG)
    return {"endpoint": endpoint, "config": str(tmp_path / "backup.yaml")}


def actions(cluster: dict[str, str], *extra: str) -> list[tuple[str, str, str]]:
    code, out, err = sfd(
        "plan", cluster["config"], "--endpoint", cluster["endpoint"], "--format", "json", *extra
    )
    assert code == 0, err
    return [(a["action"], a["address"], a["reason"]) for a in json.loads(out)["actions"]]


def applied(cluster: dict[str, str]) -> None:
    code, _, err = sfd("apply", cluster["config"], "--endpoint", cluster["endpoint"], "--auto-approve")
    assert code == 0, err


def test_replace_resends_a_declared_policy_and_a_declared_mapping_unchanged(cluster: dict[str, str]) -> None:
    applied(cluster)
    assert actions(cluster) == []
    config = cluster["config"]
    planned = actions(
        cluster,
        "--replace",
        "policy[Daily]",
        "--replace",
        "application[fabric:/CalcApp]",
        "--replace",
        "policy[Daily]",
    )
    assert planned == [
        (
            "update_policy",
            "policy[Daily]",
            f"--replace policy[Daily]: re-send the policy declared ({config}:3:3) unchanged",
        ),
        (
            "enable_backup",
            "application[fabric:/CalcApp]",
            f"--replace application[fabric:/CalcApp]: re-send the mapping declared ({config}:10:5) unchanged",
        ),
    ]
    code, out, _ = sfd(
        "apply", config, "--endpoint", cluster["endpoint"], "--auto-approve", "--replace", "policy[Daily]"
    )
    assert code == 0
    assert "Apply complete: 1 applied, 0 failed, 0 skipped." in out


def test_replace_is_refused_when_it_matches_nothing_or_only_a_reference(cluster: dict[str, str]) -> None:
    code, out, err = sfd(
        "plan", cluster["config"], "--endpoint", cluster["endpoint"], "--replace", "policy[Shared]"
    )
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == (
        "error: --replace policy[Shared]: policy Shared is only referenced, not declared: the cluster reads its "
        "secrets back masked (****), so its body cannot be re-sent; declare it to re-send it"
    )
    code, _, err = sfd(
        "plan",
        cluster["config"],
        "--endpoint",
        cluster["endpoint"],
        "--replace",
        "policy[Nope]",
        "--replace",
        "service[fabric:/CalcApp/CalcService]",
        "--replace",
        "bogus",
    )
    assert code == 1
    lines = err.splitlines()
    assert lines[0].startswith("error: --replace 'bogus' is not an address")
    code, _, err = sfd(
        "plan",
        cluster["config"],
        "--endpoint",
        cluster["endpoint"],
        "--replace",
        "policy[Nope]",
        "--replace",
        "service[fabric:/CalcApp/CalcService]",
    )
    assert err.splitlines()[:2] == [
        "error: --replace policy[Nope] matches nothing: no declared policy Nope",
        "error: --replace service[fabric:/CalcApp/CalcService] matches nothing: the configuration declares no policy "
        "at exactly service[fabric:/CalcApp/CalcService] (--replace re-sends a declared policy or the mapping "
        "declared at that level)",
    ]


def test_exclude_leaves_out_what_is_inside_and_what_waits_for_it(cluster: dict[str, str]) -> None:
    everything = actions(cluster)
    assert [(a, addr) for a, addr, _ in everything] == [
        ("create_policy", "policy[Daily]"),
        ("enable_backup", "application[fabric:/CalcApp]"),
        ("enable_backup", "service[fabric:/CalcApp/Reporting]"),
    ]
    code, out, err = sfd(
        "plan",
        cluster["config"],
        "--endpoint",
        cluster["endpoint"],
        "--format",
        "json",
        "--exclude",
        "policy[Daily]",
    )
    assert code == 0
    assert [(a["action"], a["address"]) for a in json.loads(out)["actions"]] == [
        ("enable_backup", "service[fabric:/CalcApp/Reporting]")
    ]
    assert (
        "warning: --exclude: enable_backup application[fabric:/CalcApp] is left out too: it waits for "
        "create_policy policy[Daily]"
    ) in err
    # an application holds its services: excluding it leaves out both mappings, nothing else
    assert [(a, addr) for a, addr, _ in actions(cluster, "--exclude", "application[fabric:/CalcApp]")] == [
        ("create_policy", "policy[Daily]")
    ]


def test_exclude_is_refused_when_it_matches_nothing(cluster: dict[str, str]) -> None:
    code, out, err = sfd(
        "plan",
        cluster["config"],
        "--endpoint",
        cluster["endpoint"],
        "--exclude",
        "application[fabric:/Elsewhere]",
    )
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == (
        "error: --exclude application[fabric:/Elsewhere] matches nothing: no policy, application, service or "
        "partition of the configuration or the cluster is at or inside that address"
    )


def test_apply_with_exclude_converges_on_what_it_kept(cluster: dict[str, str]) -> None:
    code, out, err = sfd(
        "apply",
        cluster["config"],
        "--endpoint",
        cluster["endpoint"],
        "--auto-approve",
        "--exclude",
        "service[fabric:/CalcApp/Reporting]",
    )
    assert code == 0, err
    assert "Apply complete: 2 applied, 0 failed, 0 skipped." in out
    with connect(cluster["endpoint"]) as client:
        items: Any = client.configuration_info(EntityRef("fabric:/CalcApp", "fabric:/CalcApp/Reporting"))
    assert {i.policy for i in items} == {"Daily"}  # inherited: its own mapping was left out
