"""Golden plans in every format (text, Markdown, JSON, and `show` of the plan file) for the examples and for a
plan past the pull-request comment limit, and Microsoft's documented override scenario read back partition by
partition through the API after apply."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path

import pytest
from markdown_support import well_formed

from sfdeclare.cli import main
from sfdeclare.commands.session import connect
from sfdeclare.emulator.state import init_state
from sfdeclare.engine import planfile
from sfdeclare.model.addresses import EntityRef

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "data" / "golden"
EXAMPLES = {
    "calc": ("examples/calc/sfdeclare.yaml", "examples/calc/cluster/topology.yaml"),
    "overrides": ("examples/overrides/sfdeclare.yaml", "examples/overrides/cluster/topology.yaml"),
    "fileshare": ("examples/fileshare/sfdeclare.yaml", "examples/fileshare/cluster/topology.yaml"),
}
ENV = (
    "BACKUP_STORE_1",
    "BACKUP_STORE",
    "SAMPLE_STORE",
    "SHARE_PASSWORD",
    "SHARE_PASSWORD_2",
    "SHARE_USER",
    "SHARE_USER_2",
)


@pytest.fixture(autouse=True)
def _at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    monkeypatch.delenv("SFDECLARE_ENDPOINT", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    for name in ENV:
        monkeypatch.setenv(name, f"golden-{name.lower()}")


def run(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    assert main(list(args), out=out, err=err) in (0, 2), err.getvalue()
    return out.getvalue()


def read_golden(name: str) -> str:
    return (GOLDEN / name).read_text()


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert path.exists(), f"no golden file {path.name}: run with UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text()


def comparable_json(text: str) -> str:
    """A plan document without what depends on where the test runs: the emulator's state path (the endpoint)
    and the checksum over it."""
    document = json.loads(text)
    assert planfile.checksum(document) == document.pop("checksum")
    document["endpoint"] = "emulator:<state>"
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def check_every_format(name: str, config: str, endpoint: str, plan_file: Path) -> None:
    """The plan in every format, each a golden; then ``show`` of the plan file it wrote renders the same."""
    check_golden(f"{name}.plan.txt", run("plan", config, "--endpoint", endpoint))
    markdown = run("plan", config, "--endpoint", endpoint, "--format", "markdown", "--out", str(plan_file))
    check_golden(f"{name}.plan.md", markdown)
    well_formed(markdown)
    check_golden(
        f"{name}.plan.json", comparable_json(run("plan", config, "--endpoint", endpoint, "--format", "json"))
    )
    # a saved plan shows as it was planned: the file carries everything the views need (impact included)
    assert run("show", str(plan_file), "--format", "markdown") == markdown
    assert comparable_json(run("show", str(plan_file), "--format", "json")) == read_golden(
        f"{name}.plan.json"
    )
    shown = run("show", str(plan_file))
    planned = read_golden(f"{name}.plan.txt")
    # show adds the warnings (plan writes them to stderr) and lists every effective change, not the first 50
    if "more (see --format json)" not in planned:
        assert re.sub(r"Warnings:\n(  .*\n)+\n", "", shown) == planned
    check_golden(f"{name}.show.txt", shown)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_every_format_of_the_examples(name: str, tmp_path: Path) -> None:
    config, topology = EXAMPLES[name]
    init_state(str(tmp_path / "state"), topology)
    check_every_format(name, config, f"emulator:{tmp_path / 'state'}", tmp_path / "plan.json")


LARGE_APPS = 60
LARGE_POLICIES = """\
version: 1
policies:
  Daily:
    MaxIncrementalBackups: 3
    Schedule: {ScheduleKind: FrequencyBased, Interval: P1D}
    Storage: {StorageKind: AzureBlobStore, ConnectionString: '${env:BACKUP_STORE}', ContainerName: daily}
    RetentionPolicy: {RetentionPolicyType: Basic, RetentionDuration: P14D, MinimumNumberOfBackups: 10}
  Hourly:
    MaxIncrementalBackups: 5
    Schedule: {ScheduleKind: FrequencyBased, Interval: PT1H}
    Storage: {StorageKind: AzureBlobStore, ConnectionString: '${env:BACKUP_STORE}', ContainerName: hourly}
  Nightly:
    MaxIncrementalBackups: 6
    Schedule:
      ScheduleKind: TimeBased
      ScheduleFrequencyType: Weekly
      RunDays: [Monday, Wednesday, Friday]
      RunTimes: ['01:00']
    Storage: {StorageKind: AzureBlobStore, ConnectionString: '${env:BACKUP_STORE}', ContainerName: nightly}
    RetentionPolicy: {RetentionPolicyType: Basic, RetentionDuration: P30D}
applications:
"""


DAILY_COPY = """\
    MaxIncrementalBackups: 3
    Schedule: {ScheduleKind: FrequencyBased, Interval: P1D}
    Storage: {StorageKind: AzureBlobStore, ConnectionString: '${env:BACKUP_STORE}', ContainerName: copy}
"""


def large_scenario(folder: Path) -> tuple[str, str]:
    """60 applications of 3 stateful services (2 partitions each): an application policy, a service override
    on every third service, a suspended service on every tenth application."""
    topology = ["applications:"]
    config = [LARGE_POLICIES.rstrip("\n")]
    assert config[0].endswith("applications:")
    for a in range(LARGE_APPS):
        app = f"fabric:/Store{a:03d}"
        topology.append(f"  - name: {app}\n    services:")
        config.append(f"  {app}:\n    policy: {('Daily', 'Nightly')[a % 2]}\n    services:")
        for s in range(3):
            topology.append(
                f"      - {{name: {app}/Svc{s}, kind: Stateful, has_persisted_state: true, partitions: 2}}"
            )
            settings = "{policy: Hourly}" if (a + s) % 3 == 0 else "{}"
            if a % 10 == 0 and s == 1:
                settings = "{suspended: true}"
            if a == 5 and s == 2:
                settings = "{policy: Nightly}"  # what it inherits anyway: a warning in this application
            config.append(f"      Svc{s}: {settings}")
    # an application that protects nothing (a warning of its own) and a policy with an unusual name (a warning
    # no application owns)
    topology.append(
        "  - name: fabric:/Frontend\n    services:\n      - {name: fabric:/Frontend/Web, kind: Stateless}"
    )
    config.append("  fabric:/Frontend:\n    policy: Daily")
    config[0] = config[0].replace("applications:", "  Daily copy:\n" + DAILY_COPY + "applications:")
    (folder / "topology.yaml").write_text("\n".join(topology) + "\n")
    (folder / "large.yaml").write_text("\n".join(config) + "\n")
    return "large.yaml", "topology.yaml"


def test_every_format_of_a_plan_past_the_comment_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config, topology = large_scenario(tmp_path)
    init_state(str(tmp_path / "state"), topology)
    check_every_format("large", config, f"emulator:{tmp_path / 'state'}", tmp_path / "plan.json")
    markdown = read_golden("large.plan.md")
    assert "is longer than a comment allows" in markdown
    assert markdown.count("| `fabric:/Store") == LARGE_APPS


def test_the_documented_override_scenario_holds_partition_by_partition(tmp_path: Path) -> None:
    config, topology = EXAMPLES["overrides"]
    init_state(str(tmp_path / "state"), topology)
    endpoint = f"emulator:{tmp_path / 'state'}"
    run("apply", config, "--endpoint", endpoint, "--auto-approve")
    effective: dict[str, tuple[str | None, str, bool]] = {}
    with connect(endpoint) as client:
        for app, services in (("fabric:/SampleApp", ("SvcA", "SvcB")), ("fabric:/InventoryApp", ("Stock",))):
            for svc in services:
                name = f"{app}/{svc}"
                for p in client.list_partitions(name):
                    items = client.configuration_info(EntityRef(app, name, p.id))
                    key = f"{svc}/{p.name or p.low_key}"
                    effective[key] = (
                        (items[0].policy, items[0].policy_inherited_from, items[0].suspended)
                        if items
                        else (None, "", False)
                    )
    assert effective["SvcA/0"] == ("BP3", "Partition", False)
    assert effective["SvcA/100"] == ("BP1", "Application", False)
    assert all(v == ("BP2", "Service", False) for k, v in effective.items() if k.startswith("SvcB/"))
    assert effective["Stock/archive"] == ("BP2", "Service", True)
    assert [v for k, v in effective.items() if k.startswith("Stock/") and k != "Stock/archive"] == [
        ("BP2", "Service", False)
    ] * (sum(1 for k in effective if k.startswith("Stock/")) - 1)
