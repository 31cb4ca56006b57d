"""--format sarif for validate, plan and drift, checked against the facts of SARIF 2.1.0 consumers rely on
(tests/data/schemas/sarif-2.1.0-facts.schema.json, written for these tests); and --format github, which says how
many annotations GitHub would not show and where the full list is."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sfdeclare.cli import main
from sfdeclare.emulator.state import init_state

DATA = Path(__file__).parent / "data"
FACTS = json.loads((DATA / "schemas" / "sarif-2.1.0-facts.schema.json").read_text())
STRICT = DATA / "guardrails" / "strict.yaml"

CONFIG = """\
version: 1
policies:
  Daily:
    AutoRestoreOnDataLoss: true
    MaxIncrementalBackups: 3
    Schedule: {ScheduleKind: FrequencyBased, Interval: PT48H}
    Storage: {StorageKind: AzureBlobStore, ConnectionString: "${env:BACKUP_STORE}", ContainerName: backups}
    RetentionPolicy: {RetentionPolicyType: Basic, RetentionDuration: P7D, MinimumNumberOfBackups: 2}
applications:
  CalcApp:
    policy: Daily
"""


def sfd(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    assert "Traceback" not in out.getvalue() + err.getvalue()
    return code, out.getvalue(), err.getvalue()


def checked(text: str) -> dict[str, Any]:
    """A SARIF log that keeps every fact of the test schema, and the cross-references it cannot express."""
    log: dict[str, Any] = json.loads(text)
    jsonschema.Draft202012Validator(FACTS).validate(log)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert len({r["id"] for r in rules}) == len(rules)
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    return log


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SFDECLARE_GUARDRAILS", raising=False)
    monkeypatch.delenv("SFDECLARE_ENDPOINT", raising=False)
    monkeypatch.setenv("BACKUP_STORE", "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "backup.yaml").write_text(CONFIG)
    shutil.copy(STRICT, tmp_path / "guardrails.yaml")
    return tmp_path


def test_validate_sarif_has_every_diagnostic_at_its_line_with_its_rule(workdir: Path) -> None:
    code, out, _ = sfd("validate", "config", "--guardrails", "guardrails.yaml", "--format", "sarif")
    assert code == 1
    log = checked(out)
    run = log["runs"][0]
    assert run["automationDetails"]["id"] == "sfdeclare/validate/"
    found = {
        (r["ruleId"], r["level"], r["locations"][0]["physicalLocation"]["region"]["startLine"])
        for r in run["results"]
    }
    assert found == {
        ("guardrail/no_auto_restore", "error", 4),
        ("guardrail/max_interval", "error", 6),
        ("guardrail/min_retention", "error", 8),
    }
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert uris == {"config/backup.yaml"}  # relative to the working directory (the repository root in CI)
    rules = {r["id"]: r["shortDescription"]["text"] for r in run["tool"]["driver"]["rules"]}
    assert rules["guardrail/min_retention"] == "Guardrail: backups are kept at least the minimum retention"


def test_a_valid_configuration_is_an_empty_sarif_run_and_warnings_are_warnings(workdir: Path) -> None:
    code, out, _ = sfd("validate", "config", "--format", "sarif")
    assert code == 0
    results = checked(out)["runs"][0]["results"]
    assert [(r["ruleId"], r["level"]) for r in results] == [("best-practice/no_auto_restore", "warning")]
    (workdir / "config" / "backup.yaml").write_text(
        CONFIG.replace("AutoRestoreOnDataLoss: true", "AutoRestoreOnDataLoss: false")
    )
    code, out, _ = sfd("validate", "config", "--format", "sarif")
    assert (code, checked(out)["runs"][0]["results"]) == (0, [])


TOPOLOGY = """
applications:
  - name: fabric:/CalcApp
    services:
      - name: fabric:/CalcApp/CalcService
        kind: Stateful
        partitions: 1
  - name: fabric:/Orders
    services:
      - name: fabric:/Orders/Store
        kind: Stateful
        partitions: 1
"""


@pytest.fixture()
def endpoint(workdir: Path) -> str:
    (workdir / "topology.yaml").write_text(TOPOLOGY)
    init_state(str(workdir / "cluster.state"), str(workdir / "topology.yaml"))
    (workdir / "config" / "backup.yaml").write_text(
        CONFIG.replace("PT48H", "PT24H")
        .replace("P7D", "P30D")
        .replace("AutoRestoreOnDataLoss: true", "AutoRestoreOnDataLoss: false")
    )
    return f"emulator:{workdir / 'cluster.state'}"


def test_plan_sarif_when_the_plan_stops_on_a_guardrail(workdir: Path, endpoint: str) -> None:
    (workdir / "guardrails.yaml").write_text(
        'version: 1\nguardrails:\n  require_backup:\n    applications: ["Orders"]\n'
    )
    code, out, err = sfd(
        "plan", "config", "--endpoint", endpoint, "--guardrails", "guardrails.yaml", "--format", "sarif"
    )
    assert code == 1
    assert "guardrail require_backup" in err  # stderr keeps the lines people read
    results = checked(out)["runs"][0]["results"]
    found = [
        (r["ruleId"], r["level"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
        for r in results
    ]
    # the emulator's runtime (10.1) puts a health warning on credentials: a best practice of the same engine
    assert found == [
        ("best-practice/no_credentials", "warning", "config/backup.yaml"),
        ("guardrail/require_backup", "error", "guardrails.yaml"),
    ]
    assert results[1]["locations"][0]["physicalLocation"]["region"]["startLine"] == 3


def test_plan_sarif_of_a_plan_is_its_diagnostics(workdir: Path, endpoint: str) -> None:
    code, out, _ = sfd("plan", "config", "--endpoint", endpoint, "--format", "sarif")
    assert code == 0
    assert checked(out)["runs"][0]["automationDetails"]["id"] == "sfdeclare/plan/"


def test_drift_sarif_lists_each_drift_item_at_the_line_that_declares_it(workdir: Path, endpoint: str) -> None:
    code, out, _ = sfd("drift", "config", "--endpoint", endpoint, "--format", "sarif")
    assert code == 2
    results = checked(out)["runs"][0]["results"]
    rules = {r["ruleId"] for r in results}
    assert {"drift/missing"} <= rules
    missing = [r for r in results if r["ruleId"] == "drift/missing"]
    assert all(r["level"] == "warning" for r in missing)
    lines = {r["locations"][0]["physicalLocation"]["region"]["startLine"] for r in missing}
    assert lines <= {3, 11}  # the policy's line, the application's policy line
    assert any(
        loc.get("logicalLocations", [{}])[0].get("fullyQualifiedName") == "application[fabric:/CalcApp]"
        for r in missing
        for loc in r["locations"]
    )


def _many_errors(folder: Path, count: int) -> None:
    lines = ["version: 1", "policies:"]
    for i in range(count):
        lines += [
            f"  P{i}:",
            "    MaxIncrementalBackups: 3",
            "    Schedule: {ScheduleKind: FrequencyBased, Interval: PT90S}",
            "    Storage: {StorageKind: FileShare, Path: 'x'}",
        ]
    (folder / "backup.yaml").write_text("\n".join(lines) + "\n")


def test_github_annotations_say_how_many_were_left_out_and_where_the_rest_are(workdir: Path) -> None:
    _many_errors(workdir / "config", 25)
    code, out, _ = sfd("validate", "config", "--format", "github")
    assert code == 1
    lines = out.splitlines()
    assert sum(line.startswith("::error ") for line in lines) == 10
    notices = [line for line in lines if line.startswith("::notice")]
    assert notices == [
        "::notice::15 errors not shown as annotations (GitHub shows at most 10 of each type per step): they are "
        "listed in this step's log; `sfdeclare validate --format sarif` gives code scanning all of them"
    ]
    listed = [line for line in lines if re.match(r"config/backup\.yaml:\d+:\d+: error:", line)]
    assert len(listed) == 15  # the ones left out, in plain text, in the log
    assert lines[-1] == "invalid: 25 errors, 0 warnings in 1 file"
    _many_errors(workdir / "config", 10)
    _, out, _ = sfd("validate", "config", "--format", "github")
    assert sum(line.startswith("::error ") for line in out.splitlines()) == 10
    assert "::notice" not in out


def test_sarif_for_every_diagnostic_github_would_cap(workdir: Path) -> None:
    _many_errors(workdir / "config", 25)
    _, out, _ = sfd("validate", "config", "--format", "sarif")
    assert len(checked(out)["runs"][0]["results"]) == 25


@pytest.mark.parametrize(
    "spoil",
    [
        lambda log: log.update(version="2.0.0"),
        lambda log: log["runs"][0]["results"][0].pop("level"),
        lambda log: log["runs"][0]["results"][0].update(level="fatal"),
        lambda log: log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"].update(
            startLine=0
        ),
        lambda log: log["runs"][0]["results"][0]["locations"][0]["physicalLocation"][
            "artifactLocation"
        ].update(uri="config\\backup.yaml"),
        lambda log: log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"].update(
            startline=4
        ),
        lambda log: log["runs"][0]["tool"]["driver"]["rules"][0].pop("shortDescription"),
        lambda log: log["runs"][0]["results"][0].update(locations=[]),
    ],
)
def test_the_facts_schema_refuses_what_consumers_refuse(workdir: Path, spoil: Any) -> None:
    _, out, _ = sfd("validate", "config", "--guardrails", "guardrails.yaml", "--format", "sarif")
    log = json.loads(out)
    jsonschema.Draft202012Validator(FACTS).validate(log)
    spoil(log)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(FACTS).validate(log)


def test_status_sarif_names_each_partition_with_a_problem(workdir: Path) -> None:
    from test_status_cli import CONFIG as SHOP_CONFIG
    from test_status_cli import START
    from test_status_cli import TOPOLOGY as SHOP_TOPOLOGY

    (workdir / "shop.yaml").write_text(SHOP_TOPOLOGY)
    (workdir / "config" / "backup.yaml").write_text(SHOP_CONFIG)
    state = str(workdir / "shop.state")
    assert (
        sfd("emulator", "init", "--state", state, "--topology", "shop.yaml", "--clock-start", START)[0] == 0
    )
    assert sfd("apply", "config", "--endpoint", f"emulator:{state}", "--auto-approve")[0] == 0
    assert sfd("emulator", "break-storage", "--state", state, "Fragile")[0] == 0
    assert sfd("emulator", "advance", "--state", state, "PT6H")[0] == 0
    code, out, _ = sfd("status", "config", "--endpoint", f"emulator:{state}", "--format", "sarif")
    assert code == 2
    log = checked(out)
    results = log["runs"][0]["results"]
    assert log["runs"][0]["automationDetails"]["id"] == "sfdeclare/status/"
    by_rule = {r["ruleId"]: r for r in results}
    assert {"status/failing", "status/unprotected"} <= set(by_rule)
    ledger = by_rule["status/unprotected"]
    assert ledger["message"]["text"].startswith("partition[fabric:/Shop/Ledger/")
    where = ledger["locations"][0]
    assert where["physicalLocation"]["artifactLocation"]["uri"] == "config/backup.yaml"
    assert where["logicalLocations"][0]["fullyQualifiedName"].startswith("partition[fabric:/Shop/Ledger/")
    assert all(r["level"] == "warning" for r in results)
