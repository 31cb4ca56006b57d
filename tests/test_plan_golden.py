"""Golden text and Markdown plans of the examples, and Microsoft's documented override scenario read back
partition by partition through the API after apply."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from sfdeclare.cli import main
from sfdeclare.commands.session import connect
from sfdeclare.emulator.state import init_state
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


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert path.exists(), f"no golden file {path.name}: run with UPDATE_GOLDEN=1 and review it"
    assert text == path.read_text()


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_text_and_markdown_plans_of_the_examples(name: str, tmp_path: Path) -> None:
    config, topology = EXAMPLES[name]
    init_state(str(tmp_path / "state"), topology)
    endpoint = f"emulator:{tmp_path / 'state'}"
    check_golden(f"{name}.plan.txt", run("plan", config, "--endpoint", endpoint))
    check_golden(f"{name}.plan.md", run("plan", config, "--endpoint", endpoint, "--format", "markdown"))


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
