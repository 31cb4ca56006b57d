"""Guardrails through the CLI: each rule an error at the line that breaks it, naming the rule and its line;
rules only tighten (a file a pull request adds cannot loosen one); --guardrails and SFDECLARE_GUARDRAILS;
the rules only the live cluster decides (require_backup, policies only referenced) at plan and apply."""

from __future__ import annotations

import datetime
import io
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from sfdeclare.cli import main
from sfdeclare.commands.session import connect
from sfdeclare.emulator.state import init_state
from sfdeclare.model.addresses import EntityRef
from sfdeclare.servicefabric.cadence import cadence

DATA = Path(__file__).parent / "data" / "guardrails"
STRICT = str(DATA / "strict.yaml")
LOOSE = DATA / "loose.yaml"

# Every line number below is asserted: keep them in step with this text.
CONFIG = """\
version: 1
policies:
  Daily:
    AutoRestoreOnDataLoss: true
    MaxIncrementalBackups: 3
    Schedule:
      ScheduleKind: FrequencyBased
      Interval: PT48H
    Storage:
      StorageKind: FileShare
      Path: \\\\\\\\share\\\\backups
    RetentionPolicy:
      RetentionPolicyType: Basic
      RetentionDuration: P7D
      MinimumNumberOfBackups: 2
  Often:
    MaxIncrementalBackups: 3
    Schedule:
      ScheduleKind: TimeBased
      ScheduleFrequencyType: Weekly
      RunDays: [Monday]
      RunTimes: ["01:00", "13:00"]
    Storage:
      StorageKind: AzureBlobStore
      ConnectionString: ${env:BACKUP_STORE}
      ContainerName: backups
  Busy:
    MaxIncrementalBackups: 3
    Schedule:
      ScheduleKind: FrequencyBased
      Interval: PT30M
    Storage:
      StorageKind: ManagedIdentityAzureBlobStore
      FriendlyName: Store
      BlobServiceUri: https://acct.blob.core.windows.net
      ContainerName: backups
      ManagedIdentityType: VMSS
"""


class Run:
    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err


def sfd(*args: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    run = Run(code, out.getvalue(), err.getvalue())
    assert "Traceback" not in run.out + run.err
    return run


@pytest.fixture()
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SFDECLARE_GUARDRAILS", raising=False)
    folder = tmp_path / "backup"
    folder.mkdir()
    (folder / "policies.yaml").write_text(CONFIG)
    return folder


def findings(text: str) -> list[tuple[str, int, str]]:
    """(file, line, 'rule (where it was set)') of every guardrail error, in order."""
    pattern = re.compile(r"^(\S+?):(\d+):\d+: error: policy \w+: guardrail (\w+ \(\S+\))", re.M)
    return [(Path(f).name, int(line), rule) for f, line, rule in pattern.findall(text)]


def test_each_rule_is_an_error_at_the_line_that_breaks_it_naming_the_rule_and_its_line(
    config_dir: Path,
) -> None:
    run = sfd("validate", str(config_dir), "--guardrails", STRICT)
    assert run.code == 1
    assert findings(run.err) == [
        ("policies.yaml", 4, f"no_auto_restore ({STRICT}:8)"),
        ("policies.yaml", 8, f"max_interval ({STRICT}:5)"),
        ("policies.yaml", 10, f"allowed_storage_kinds ({STRICT}:6)"),
        ("policies.yaml", 14, f"min_retention ({STRICT}:4)"),
        ("policies.yaml", 21, f"max_interval ({STRICT}:5)"),
        ("policies.yaml", 31, f"max_backups_per_day ({STRICT}:9)"),
    ]
    assert "RetentionDuration P7D keeps backups for less than the minimum P30D" in run.err
    assert "the schedule leaves up to P6DT12H between backups, more than the maximum PT24H" in run.err
    assert "Interval PT30M takes up to 48 backups a day, more than the maximum 24" in run.err
    assert (
        "StorageKind FileShare is not allowed (allowed: AzureBlobStore, ManagedIdentityAzureBlobStore)"
        in run.err
    )
    assert "\ninvalid: 6 errors, " in run.err


def test_without_guardrails_the_best_practice_is_a_warning_with_the_same_wording(config_dir: Path) -> None:
    run = sfd("validate", str(config_dir))
    assert run.code == 0
    wording = (
        "AutoRestoreOnDataLoss: true restores the latest backup by itself after data loss, losing what was "
        "written since; Microsoft advises against it in production"
    )
    assert f"policies.yaml:4:5: warning: policy Daily: {wording}" in run.err
    strict = sfd("validate", str(config_dir), "--guardrails", STRICT)
    assert (
        f"policies.yaml:4:5: error: policy Daily: guardrail no_auto_restore ({STRICT}:8): {wording}"
        in strict.err
    )


def test_credentials_are_refused_at_their_line_when_a_file_forbids_them(config_dir: Path) -> None:
    strict = str(DATA / "strict-credentials.yaml")
    run = sfd("validate", str(config_dir), "--guardrails", STRICT, "--guardrails", strict)
    assert ("policies.yaml", 25, f"no_credentials ({strict}:3)") in findings(run.err)
    # the strictest list of storage kinds wins: the second file allows only managed identity
    assert ("policies.yaml", 24, f"allowed_storage_kinds ({strict}:4)") in findings(run.err)


def test_a_pull_request_adding_a_looser_file_changes_nothing(config_dir: Path) -> None:
    before = sfd("validate", str(config_dir), "--guardrails", STRICT)
    shutil.copy(LOOSE, config_dir / "zz-relax.yaml")
    after = sfd("validate", str(config_dir), "--guardrails", STRICT)
    assert after.code == before.code == 1
    assert findings(after.err) == findings(before.err)
    # the same holds when the strict rules live in the configuration folder itself
    shutil.copy(STRICT, config_dir / "00-guardrails.yaml")
    inside = sfd("validate", str(config_dir))
    assert [(f, line) for f, line, _ in findings(inside.err)] == [
        (f, line) for f, line, _ in findings(before.err)
    ]
    assert all("00-guardrails.yaml" in rule for _, _, rule in findings(inside.err))


def test_the_environment_names_a_guardrails_file_too(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SFDECLARE_GUARDRAILS", STRICT)
    run = sfd("validate", str(config_dir))
    assert run.code == 1
    assert len(findings(run.err)) == 6


def test_a_broken_guardrails_file_is_refused_with_every_line(config_dir: Path) -> None:
    broken = str(DATA / "broken.yaml")
    run = sfd("validate", str(config_dir), "--guardrails", broken)
    assert run.code == 1
    lines = run.err.splitlines()
    assert any(line.startswith(f"{broken}:3:") and "min_retention" in line for line in lines)
    assert any(line.startswith(f"{broken}:4:") and "at least 1" in line for line in lines)
    assert any(line.startswith(f"{broken}:5:") and "did you mean 'no_credentials'" in line for line in lines)
    missing = sfd("validate", str(config_dir), "--guardrails", "nowhere.yaml")
    assert missing.code == 1
    assert missing.err.splitlines()[0] == "error: nowhere.yaml: no such guardrails file"


@pytest.mark.parametrize(
    ("schedule", "per_day", "gap"),
    [
        ({"ScheduleKind": "FrequencyBased", "Interval": "PT7H"}, 4, datetime.timedelta(hours=7)),
        ({"ScheduleKind": "FrequencyBased", "Interval": "P2D"}, 1, datetime.timedelta(days=2)),
        (
            {"ScheduleKind": "TimeBased", "ScheduleFrequencyType": "Daily", "RunTimes": ["02:00", "08:00"]},
            2,
            datetime.timedelta(hours=18),
        ),
        (
            {
                "ScheduleKind": "TimeBased",
                "ScheduleFrequencyType": "Weekly",
                "RunDays": ["Friday", "Monday"],
                "RunTimes": ["23:00"],
            },
            1,
            datetime.timedelta(days=4),
        ),
    ],
)
def test_the_cadence_a_schedule_has(schedule: dict[str, Any], per_day: int, gap: datetime.timedelta) -> None:
    figures = cadence(schedule)
    assert (figures.most_per_day, figures.longest_gap) == (per_day, gap)


# --- against the live cluster ----------------------------------------------------------------------------------

TOPOLOGY = """
applications:
  - name: fabric:/CalcApp
    services:
      - name: fabric:/CalcApp/CalcService
        kind: Stateful
        partitions: 2
      - name: fabric:/CalcApp/Reporting
        kind: Stateful
        partitions: 1
      - name: fabric:/CalcApp/Web
        kind: Stateless
        partitions: 1
  - name: fabric:/ProdOrders
    services:
      - name: fabric:/ProdOrders/Store
        kind: Stateful
        partitions: 1
  - name: fabric:/Sandbox
    services:
      - name: fabric:/Sandbox/Scratch
        kind: Stateful
        partitions: 1
"""

LIVE_CONFIG = """\
version: 1
policies:
  Daily:
    MaxIncrementalBackups: 3
    Schedule: {ScheduleKind: FrequencyBased, Interval: PT24H}
    Storage: {StorageKind: AzureBlobStore, ConnectionString: "${env:BACKUP_STORE}", ContainerName: backups}
    RetentionPolicy: {RetentionPolicyType: Basic, RetentionDuration: P30D, MinimumNumberOfBackups: 5}
applications:
  CalcApp:
    services:
      CalcService:
        policy: Daily
      Reporting:
        policy: Legacy
"""

RULES = """\
version: 1
guardrails:
  require_backup:
    applications: ["fabric:/Calc*", "Prod*"]
  min_retention: P14D
"""


@pytest.fixture()
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BACKUP_STORE", "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k")
    monkeypatch.delenv("SFDECLARE_ENDPOINT", raising=False)
    monkeypatch.delenv("SFDECLARE_GUARDRAILS", raising=False)
    (tmp_path / "topology.yaml").write_text(TOPOLOGY)
    state = tmp_path / "cluster.state"
    init_state(str(state), str(tmp_path / "topology.yaml"))
    endpoint = f"emulator:{state}"
    with connect(endpoint) as client:  # a live policy the configuration only references, kept 7 days
        client.create_policy(
            "Legacy",
            {
                "AutoRestoreOnDataLoss": False,
                "MaxIncrementalBackups": 1,
                "Schedule": {"ScheduleKind": "FrequencyBased", "Interval": "PT12H"},
                "Storage": {"StorageKind": "FileShare", "Path": "\\\\share\\legacy"},
                "RetentionPolicy": {
                    "RetentionPolicyType": "Basic",
                    "RetentionDuration": "P7D",
                    "MinimumNumberOfBackups": 1,
                },
            },
        )
    (tmp_path / "sfdeclare.yaml").write_text(LIVE_CONFIG)
    (tmp_path / "guardrails.yaml").write_text(RULES)
    return {"endpoint": endpoint, "config": str(tmp_path / "sfdeclare.yaml"), "rules": "guardrails.yaml"}


def test_plan_refuses_what_only_the_cluster_shows_at_the_lines_that_cause_it(cluster: dict[str, str]) -> None:
    run = sfd("plan", cluster["config"], "--endpoint", cluster["endpoint"], "--guardrails", cluster["rules"])
    assert run.code == 1
    errors = [line for line in run.err.splitlines() if ": error:" in line]
    config = cluster["config"]
    assert errors == [
        f"{config}:14:9: error: policy Legacy: guardrail min_retention (guardrails.yaml:5): RetentionDuration P7D "
        "keeps backups for less than the minimum P14D ($.applications.CalcApp.services.Reporting.policy)",
        "guardrails.yaml:3:3: error: guardrail require_backup (guardrails.yaml:3): service fabric:/ProdOrders/Store "
        "is stateful with persisted state and has no backup policy after this plan (application fabric:/ProdOrders "
        "is not declared) ($.guardrails.require_backup)",
    ]
    # fabric:/Sandbox matches no pattern; CalcApp's stateless Web needs no backup; nothing was changed
    assert "Sandbox" not in run.err and "Web" not in run.err


def test_a_service_left_without_a_policy_is_an_error_at_its_application(cluster: dict[str, str]) -> None:
    config = Path(cluster["config"])
    config.write_text(LIVE_CONFIG.replace("      Reporting:\n        policy: Legacy\n", ""))
    with connect(cluster["endpoint"]) as client:
        client.enable_backup(EntityRef("fabric:/ProdOrders"), "Legacy")
    rules = Path(cluster["rules"])
    rules.write_text(RULES.replace("  min_retention: P14D\n", ""))
    run = sfd("plan", str(config), "--endpoint", cluster["endpoint"], "--guardrails", str(rules))
    assert run.code == 1
    assert [line for line in run.err.splitlines() if ": error:" in line] == [
        f"{config}:9:3: error: guardrail require_backup (guardrails.yaml:3): service fabric:/CalcApp/Reporting is "
        "stateful with persisted state and has no backup policy after this plan ($.applications.CalcApp)"
    ]
    applied = sfd(
        "apply", str(config), "--endpoint", cluster["endpoint"], "--guardrails", str(rules), "--auto-approve"
    )
    assert applied.code == 1 and "Apply complete" not in applied.out
    # mapped at the application level, every stateful service is covered: the plan passes
    config.write_text(config.read_text().replace("  CalcApp:\n", "  CalcApp:\n    policy: Daily\n"))
    ok = sfd("plan", str(config), "--endpoint", cluster["endpoint"], "--guardrails", str(rules), "--debug")
    assert ok.code == 0, ok.err


def test_the_reads_require_backup_costs(cluster: dict[str, str]) -> None:
    config = cluster["config"]
    with connect(cluster["endpoint"]) as client:  # both covered, so that the plan passes
        client.enable_backup(EntityRef("fabric:/ProdOrders"), "Legacy")
        client.enable_backup(EntityRef("fabric:/Sandbox"), "Legacy")
    plain = sfd("plan", config, "--endpoint", cluster["endpoint"], "--debug")
    Path(cluster["rules"]).write_text(
        'version: 1\nguardrails:\n  require_backup:\n    applications: ["Prod*", "Sandbox"]\n'
    )
    guarded = sfd(
        "plan", config, "--endpoint", cluster["endpoint"], "--guardrails", cluster["rules"], "--debug"
    )

    def requests(run: Run) -> int:
        return int(re.search(r"in (\d+) requests", run.err).group(1))  # type: ignore[union-attr]

    # one GET /Applications, then GetServices and GetBackupConfigurationInfo per matching undeclared application
    assert requests(guarded) - requests(plain) == 1 + 2 * 2


def test_require_backup_everywhere_judges_what_the_run_reads_and_scope_cluster_reads_it_all(
    cluster: dict[str, str],
) -> None:
    config = Path(cluster["config"])
    config.write_text(
        LIVE_CONFIG.replace("      Reporting:\n        policy: Legacy\n", "").replace(
            "  CalcApp:\n", "  CalcApp:\n    policy: Daily\n"
        )
        + "guardrails:\n  require_backup: true\n"
    )
    with connect(cluster["endpoint"]) as client:
        client.enable_backup(EntityRef("fabric:/ProdOrders"), "Legacy")
    # declared scope: only CalcApp is read, and it is covered
    assert sfd("plan", str(config), "--endpoint", cluster["endpoint"]).code == 0
    # scope: cluster reads every application, and would remove ProdOrders' mapping: both undeclared ones lose backup
    config.write_text(config.read_text() + "scope: cluster\n")
    run = sfd("plan", str(config), "--endpoint", cluster["endpoint"])
    assert run.code == 1
    errors = [line for line in run.err.splitlines() if ": error:" in line]
    assert [re.sub(r"^\S+?:(\d+):\d+: ", r"\1: ", e).split(" has no")[0] for e in errors] == [
        f"15: error: guardrail require_backup ({config}:15): service fabric:/ProdOrders/Store is stateful with "
        "persisted state and",
        f"15: error: guardrail require_backup ({config}:15): service fabric:/Sandbox/Scratch is stateful with "
        "persisted state and",
    ]


def test_explain_answers_where_a_guardrail_stops_the_plan(
    cluster: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SFDECLARE_GUARDRAILS", cluster["rules"])
    assert sfd("plan", cluster["config"], "--endpoint", cluster["endpoint"]).code == 1
    run = sfd(
        "explain", cluster["config"], "service[fabric:/CalcApp/Reporting]", "--endpoint", cluster["endpoint"]
    )
    assert run.code == 0, run.err
    assert run.out.startswith("service[fabric:/CalcApp/Reporting]\n")


def test_the_guardrails_schema_and_the_configuration_schema_define_the_rules_alike() -> None:
    from sfdeclare import schemas
    from sfdeclare.model.guardrails import RULES

    own = schemas.load("guardrails")["$defs"]
    in_config = schemas.load("sfdeclare")["$defs"]
    assert own["Guardrails"] == in_config["Guardrails"]
    assert own["GuardrailDuration"] == in_config["GuardrailDuration"]
    assert tuple(own["Guardrails"]["properties"]) == RULES
    assert schemas.load("sfdeclare")["properties"]["guardrails"] == {"$ref": "#/$defs/Guardrails"}


def test_the_runtime_best_practices_are_rules_of_the_same_engine_with_one_wording(config_dir: Path) -> None:
    policies = config_dir / "policies.yaml"
    policies.write_text('cluster: {runtime: "10.1"}\n' + CONFIG)
    wording = (
        "Storage.ConnectionString: credentials in a backup policy are on the deprecation path (Service Fabric "
        "9.0 CU5 and 9.1 CU1 put a health warning on them): use ManagedIdentityAzureBlobStore storage on Azure"
    )
    run = sfd("validate", str(config_dir))
    assert f"policies.yaml:26:7: warning: policy Often: {wording}" in run.err
    assert (
        "policies.yaml:17:3: warning: policy Often: no RetentionPolicy: backups are kept for ever" in run.err
    )
    strict = str(DATA / "strict-credentials.yaml")
    forbidden = sfd("validate", str(config_dir), "--guardrails", strict)
    assert (
        f"policies.yaml:26:7: error: policy Often: guardrail no_credentials ({strict}:3): {wording}"
        in forbidden.err
    )
    assert f"warning: policy Often: {wording}" not in forbidden.err  # one finding per rule, at its severity
