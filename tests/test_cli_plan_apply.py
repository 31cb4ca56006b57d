"""plan, apply and explain end to end through the CLI against the in-process emulator (``emulator:PATH``)."""

from __future__ import annotations

import io
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sfdeclare import schemas
from sfdeclare.cli import main
from sfdeclare.commands.session import connect
from sfdeclare.emulator.state import init_state
from sfdeclare.model.addresses import EntityRef

CANARY = "DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=CANARY-c2VjcmV0LXZhbHVl"

TOPOLOGY = """
applications:
  - name: fabric:/CalcApp
    services:
      - name: fabric:/CalcApp/CalcService
        kind: Stateful
        partitions: 3
      - name: fabric:/CalcApp/Reporting
        kind: Stateful
        partitions: 2
      - name: fabric:/CalcApp/Web
        kind: Stateless
        partitions: 1
  - name: fabric:/Other
    services:
      - name: fabric:/Other/Store
        kind: Stateful
        partitions: 1
"""

CONFIG = """
version: 1
policies:
  Daily:
    MaxIncrementalBackups: 3
    Schedule: {ScheduleKind: FrequencyBased, Interval: PT24H}
    Storage:
      StorageKind: AzureBlobStore
      ConnectionString: ${env:BACKUP_STORE}
      ContainerName: backups
    RetentionPolicy: {RetentionPolicyType: Basic, RetentionDuration: P30D, MinimumNumberOfBackups: 5}
  Hourly:
    MaxIncrementalBackups: 3
    Schedule: {ScheduleKind: FrequencyBased, Interval: PT60M}
    Storage:
      StorageKind: AzureBlobStore
      ConnectionString: ${env:BACKUP_STORE}
      ContainerName: hourly
applications:
  CalcApp:
    policy: Daily
    services:
      CalcService:
        policy: Hourly
      Reporting:
        suspended: true
        partitions:
          - low_key: LOWKEY
            policy: Hourly
"""


class Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    @property
    def all(self) -> str:
        return self.out + self.err


@pytest.fixture()
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    topo = tmp_path / "topology.yaml"
    topo.write_text(TOPOLOGY)
    state = tmp_path / "cluster.state"
    init_state(str(state), str(topo))
    monkeypatch.setenv("BACKUP_STORE", CANARY)
    monkeypatch.delenv("SFDECLARE_ENDPOINT", raising=False)
    monkeypatch.chdir(tmp_path)
    endpoint = f"emulator:{state}"
    with connect(endpoint) as client:
        low = min(
            p.low_key or 0
            for p in client.list_partitions("fabric:/CalcApp/Reporting")
            if p.low_key is not None
        )
    cfg = tmp_path / "sfdeclare.yaml"
    cfg.write_text(CONFIG.replace("LOWKEY", str(low)))
    return {"endpoint": endpoint, "config": str(cfg), "state": str(state), "dir": tmp_path}


def sfd(*args: str, stdin: str = "") -> Run:
    out, err = io.StringIO(), io.StringIO()
    stream = io.StringIO(stdin)
    original = sys.stdin
    sys.stdin = stream  # the apply command reads its confirmation from sys.stdin
    try:
        code = main(list(args), out=out, err=err)
    finally:
        sys.stdin = original
    run = Run(code, out.getvalue(), err.getvalue())
    assert CANARY not in run.all and "CANARY" not in run.all
    assert "Traceback" not in run.all
    return run


def live_mappings(endpoint: str) -> dict[EntityRef, str]:
    from sfdeclare.cluster.read import read_state
    from sfdeclare.model.declaration import ApplicationDecl, Declaration
    from sfdeclare.model.scope import read_scope

    with connect(endpoint) as client:
        d = Declaration(applications={"fabric:/CalcApp": ApplicationDecl("fabric:/CalcApp")})
        return dict(read_state(client, read_scope(d)).mappings)


def test_plan_on_an_empty_cluster_then_apply_then_plan_is_empty(cluster: dict[str, Any]) -> None:
    ep, cfg = cluster["endpoint"], cluster["config"]
    first = sfd("plan", cfg, "--endpoint", ep)
    assert first.code == 0
    assert "+ policy[Daily] will be created" in first.out
    assert "|| service[fabric:/CalcApp/Reporting] backup will be suspended" in first.out
    assert first.out.rstrip().splitlines()[-1].startswith("Plan: 2 policies to create")
    assert sfd("plan", cfg, "--endpoint", ep, "--detailed-exitcode").code == 2

    applied = sfd("apply", cfg, "--endpoint", ep, "--auto-approve")
    assert applied.code == 0, applied.all
    assert "Apply complete: 6 applied, 0 failed, 0 skipped." in applied.out

    again = sfd("plan", cfg, "--endpoint", ep, "--detailed-exitcode")
    assert again.code == 0
    assert again.out.strip() == "No changes. The cluster matches the configuration."

    with connect(ep) as client:
        for p in client.list_partitions("fabric:/CalcApp/CalcService"):
            (info,) = client.configuration_info(
                EntityRef("fabric:/CalcApp", "fabric:/CalcApp/CalcService", p.id)
            )
            assert (info.policy, info.policy_inherited_from) == ("Hourly", "Service")
        stored = client.get_policy("Hourly")
        assert stored is not None and stored["Storage"]["ConnectionString"] == "****"


def test_plan_json_validates_and_markdown_leads_with_the_summary(cluster: dict[str, Any]) -> None:
    ep, cfg = cluster["endpoint"], cluster["config"]
    run = sfd("plan", cfg, "--endpoint", ep, "--format", "json", "--out", "plan.json")
    data = json.loads(run.out)
    jsonschema.Draft202012Validator(schemas.load("plan")).validate(data)
    assert data == json.loads(Path("plan.json").read_text())
    assert [a["phase"] for a in data["actions"]] == sorted(a["phase"] for a in data["actions"])
    assert "${env:BACKUP_STORE}" in json.dumps(data)
    md = sfd("plan", cfg, "--endpoint", ep, "--format", "markdown").out
    assert md.startswith("### sfdeclare plan")
    assert "**Plan: 2 policies to create" in md and "<details>" in md


def test_apply_without_a_terminal_refuses_and_changes_nothing(cluster: dict[str, Any]) -> None:
    run = sfd("apply", cluster["config"], "--endpoint", cluster["endpoint"])
    assert run.code == 1
    assert "needs a terminal" in run.err and "--auto-approve" in run.err
    assert live_mappings(cluster["endpoint"]) == {}


def test_a_missing_secret_stops_apply_before_any_change(
    cluster: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BACKUP_STORE")
    plan = sfd("plan", cluster["config"], "--endpoint", cluster["endpoint"])
    assert plan.code == 0  # plan needs no secret values
    run = sfd("apply", cluster["config"], "--endpoint", cluster["endpoint"], "--auto-approve")
    assert run.code == 1
    assert "BACKUP_STORE is not set" in run.err and "nothing was changed" in run.err
    with connect(cluster["endpoint"]) as client:
        assert client.list_policies() == {}


def test_apply_of_a_reviewed_plan_file_and_its_refusals(cluster: dict[str, Any]) -> None:
    ep, cfg = cluster["endpoint"], cluster["config"]
    assert sfd("plan", cfg, "--endpoint", ep, "--out", "plan.json").code == 0

    tampered = json.loads(Path("plan.json").read_text())
    tampered["actions"][0]["request"]["body"]["MaxIncrementalBackups"] = 200
    Path("tampered.json").write_text(json.dumps(tampered))
    run = sfd("apply", "--plan", "tampered.json")
    assert run.code == 1 and "altered" in run.err

    Path("garbage.json").write_text("{not json")
    assert "not a plan file" in sfd("apply", "--plan", "garbage.json").err

    other = cluster["dir"] / "other.state"
    init_state(str(other), None)
    run = sfd("apply", "--plan", "plan.json", "--endpoint", f"emulator:{other}")
    assert run.code == 1 and "was made for" in run.err

    # somebody creates, after the review, a policy the plan creates (another team's policy would not matter:
    # under scope: declared it is not part of the live digest, tests/test_edges_live.py)
    first = json.loads(Path("plan.json").read_text())["actions"][0]
    sneaky = first["address"].removeprefix("policy[").removesuffix("]")
    with connect(ep) as client:
        client.create_policy(
            sneaky,
            {**first["request"]["body"], "Storage": {"StorageKind": "FileShare", "Path": "\\\\s\\x"}},
        )
    run = sfd("apply", "--plan", "plan.json")
    assert run.code == 1 and "the cluster changed since this plan was made" in run.err
    assert live_mappings(ep) == {}

    with connect(ep) as client:
        client.delete_policy(sneaky)
    run = sfd("apply", "--plan", "plan.json", cfg)
    assert run.code == 0, run.all
    assert "Apply complete: 6 applied" in run.out
    assert sfd("plan", cfg, "--endpoint", ep, "--detailed-exitcode").code == 0


def test_destructive_actions_need_allow_destructive(cluster: dict[str, Any]) -> None:
    ep, cfg = cluster["endpoint"], cluster["config"]
    assert sfd("apply", cfg, "--endpoint", ep, "--auto-approve").code == 0
    text = (
        Path(cfg)
        .read_text()
        .replace(
            "      CalcService:\n        policy: Hourly\n", "      CalcService:\n        clean_backup: true\n"
        )
    )
    Path(cfg).write_text(text)
    plan = sfd("plan", cfg, "--endpoint", ep)
    assert (
        "!! service[fabric:/CalcApp/CalcService] backup policy Hourly -> (none), stored backups deleted"
        in plan.out
    )
    run = sfd("apply", cfg, "--endpoint", ep, "--auto-approve")
    assert run.code == 1 and "--allow-destructive" in run.err
    assert live_mappings(ep)[EntityRef("fabric:/CalcApp", "fabric:/CalcApp/CalcService")] == "Hourly"
    run = sfd(
        "apply",
        cfg,
        "--endpoint",
        ep,
        "--auto-approve",
        "--allow-destructive",
        "--report",
        "r.xml",
        "--report-format",
        "junit",
    )
    assert run.code == 0, run.all
    root = ET.parse("r.xml").getroot()
    assert root.tag == "testsuites" and root[0].get("failures") == "0"
    assert EntityRef("fabric:/CalcApp", "fabric:/CalcApp/CalcService") not in live_mappings(ep)


def test_apply_reports_in_json_and_markdown(cluster: dict[str, Any]) -> None:
    ep, cfg = cluster["endpoint"], cluster["config"]
    run = sfd("apply", cfg, "--endpoint", ep, "--auto-approve", "--report", "r.json")
    assert run.code == 0
    report = json.loads(Path("r.json").read_text())
    jsonschema.Draft202012Validator(schemas.load("report")).validate(report)
    assert report["summary"]["applied"] == 6 and report["summary"]["converged"] is True
    assert CANARY not in Path("r.json").read_text()


def test_target_limits_the_plan(cluster: dict[str, Any]) -> None:
    run = sfd(
        "plan",
        cluster["config"],
        "--endpoint",
        cluster["endpoint"],
        "--target",
        "service[fabric:/CalcApp/CalcService]",
    )
    assert "policy[Hourly]" in run.out and "service[fabric:/CalcApp/CalcService]" in run.out
    assert "application[fabric:/CalcApp] backup" not in run.out


def test_a_target_that_is_not_an_address_is_refused_in_one_line(cluster: dict[str, Any]) -> None:
    run = sfd("plan", cluster["config"], "--endpoint", cluster["endpoint"], "--target", "CalcService")
    assert run.code == 1 and "Traceback" not in run.err
    assert "--target 'CalcService' is not an address: write policy[Name], application[fabric:/App]" in run.err


def test_explain_says_which_line_decides(cluster: dict[str, Any]) -> None:
    ep, cfg = cluster["endpoint"], cluster["config"]
    with connect(ep) as client:
        pid = client.list_partitions("fabric:/CalcApp/CalcService")[0].id
    run = sfd("explain", cfg, f"partition[fabric:/CalcApp/CalcService/{pid}]", "--endpoint", ep)
    assert run.code == 0, run.all
    assert "now:   no backup" in run.out
    assert "after: Hourly (from service)" in run.out
    assert f"inherited from service[fabric:/CalcApp/CalcService], decided by {cfg}:" in run.out
    # what that means for this partition, and for its application's partitions the plan changes
    assert "  backups per partition now:   none (no backup policy)\n" in run.out
    assert (
        "  backups per partition after: 24 backups a day (6 full, 18 incremental; every PT60M: 24 a day)"
        in run.out
    )
    assert "  in fabric:/CalcApp: " in run.out and "backups per day 0 -> " in run.out
    bad = sfd("explain", cfg, "nonsense", "--endpoint", ep)
    assert bad.code == 1 and "is not an address" in bad.err


def test_plan_errors_only_the_cluster_can_show_exit_1_with_the_line(cluster: dict[str, Any]) -> None:
    cfg = Path(cluster["config"])
    cfg.write_text(cfg.read_text() + "  Missing:\n    policy: Daily\n      \n")
    run = sfd("plan", str(cfg), "--endpoint", cluster["endpoint"])
    assert run.code == 1
    assert (
        "sfdeclare.yaml:" in run.err
        and "application fabric:/Missing does not exist on the cluster" in run.err
    )


def test_no_endpoint_is_a_clear_error(cluster: dict[str, Any]) -> None:
    run = sfd("plan", cluster["config"])
    assert run.code == 1 and "endpoint" in run.err


def _reseal(data: dict[str, Any]) -> dict[str, Any]:
    import hashlib

    from sfdeclare.engine.planfile import canonical_json

    rest = {k: v for k, v in data.items() if k != "checksum"}
    return {**rest, "checksum": "sha256:" + hashlib.sha256(canonical_json(rest).encode()).hexdigest()}


@pytest.mark.parametrize(
    "forge",
    [
        lambda a: a["request"].update(path="/Applications/CalcApp/$/Delete"),
        lambda a: a["request"]["query"].update({"api-version": "9.9"}),
        lambda a: a.update(action="delete_policy", destructive=False),
    ],
)
def test_a_resealed_plan_cannot_smuggle_a_request_its_action_does_not_send(
    cluster: dict[str, Any], forge: Any
) -> None:
    assert sfd("plan", cluster["config"], "--endpoint", cluster["endpoint"], "--out", "plan.json").code == 0
    data = json.loads(Path("plan.json").read_text())
    enable = next(a for a in data["actions"] if a["action"] == "enable_backup")
    forge(enable)
    Path("forged.json").write_text(json.dumps(_reseal(data)))
    run = sfd("apply", "--plan", "forged.json")
    assert run.code == 1 and "refusing the whole plan (nothing was changed)" in run.err
    with connect(cluster["endpoint"]) as client:
        assert client.list_policies() == {}


def test_a_pruning_plan_file_applies_alone_and_deletes_the_unused_policy(cluster: dict[str, Any]) -> None:
    ep, cfg = cluster["endpoint"], cluster["config"]
    assert sfd("apply", cfg, "--endpoint", ep, "--auto-approve").code == 0
    with connect(ep) as client:
        client.create_policy(
            "Old",
            {
                **(client.get_policy("Hourly") or {}),
                "Storage": {"StorageKind": "FileShare", "Path": "\\\\s\\o"},
            },
        )
    Path(cfg).write_text("prune_policies: true\n" + Path(cfg).read_text())
    assert sfd("plan", cfg, "--endpoint", ep, "--out", "prune.json").code == 0
    refused = sfd("apply", "--plan", "prune.json")
    assert refused.code == 1 and "--allow-destructive" in refused.err
    run = sfd("apply", "--plan", "prune.json", "--allow-destructive")
    assert run.code == 0, run.all
    assert "applied: delete_policy policy[Old]" in run.out
    with connect(ep) as client:
        assert "Old" not in client.list_policies()


def test_debug_says_how_many_requests_reading_the_cluster_took(cluster: dict[str, Any]) -> None:
    run = sfd("plan", cluster["config"], "--endpoint", cluster["endpoint"], "--debug")
    assert run.code == 0
    assert "debug: read emulator:" in run.err and " in 5 requests (parallelism 10)" in run.err
    assert "debug:" not in sfd("plan", cluster["config"], "--endpoint", cluster["endpoint"]).err
