"""Every example validates, and plans, applies and converges against the emulator with its own topology."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from sfdeclare.cli import main
from sfdeclare.config.loader import load_declaration
from sfdeclare.emulator.state import init_state
from sfdeclare.model.declaration import SECRET_FIELDS
from sfdeclare.model.references import references

EXAMPLES = Path(__file__).parent.parent / "examples"

# example directory -> (configuration path inside it, topology file inside it)
CASES = {
    "calc": (".", "cluster/topology.yaml"),
    "overrides": (".", "cluster/topology.yaml"),
    "fileshare": (".", "cluster/topology.yaml"),
    "split": (".", "topology.json"),
    "managed-identity": (".", "cluster/topology.yaml"),
}
FAKE_SECRET = "FAKE-SECRET-VALUE-for-examples"


def _cli(*args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    text = out.getvalue() + err.getvalue()
    assert "Traceback" not in text and FAKE_SECRET not in text
    return code, text


def test_every_example_is_tested() -> None:
    """Every directory with a topology is a configuration example (examples/ci holds CI workflows)."""
    with_topology = {p.parent.name for p in EXAMPLES.glob("*/topology.*")}
    with_topology |= {p.parent.parent.name for p in EXAMPLES.glob("*/cluster/topology.*")}
    assert sorted(with_topology) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_example_validates_cleanly(name: str) -> None:
    config = str(EXAMPLES / name / CASES[name][0])
    code, text = _cli("validate", config)
    assert code == 0, text
    assert "0 errors, 0 warnings" in text


@pytest.mark.parametrize("name", sorted(CASES))
def test_example_converges_on_its_topology(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_name, topology_name = CASES[name]
    config = str(EXAMPLES / name / config_name)
    declaration = load_declaration([config])
    assert declaration.cluster.endpoint is None  # the demo and these tests pass --endpoint
    for policy in declaration.policies.values():
        for field, value in policy.body.get("Storage", {}).items():
            for kind, variable in references(value) if isinstance(value, str) else ():
                if kind == "env":
                    secret = field in SECRET_FIELDS
                    monkeypatch.setenv(variable, FAKE_SECRET if secret else f"value-of-{variable}")
    monkeypatch.delenv("SFDECLARE_ENDPOINT", raising=False)
    state = tmp_path / "cluster.state"
    init_state(str(state), str(EXAMPLES / name / topology_name))
    endpoint = f"emulator:{state}"

    code, text = _cli("plan", config, "--endpoint", endpoint, "--detailed-exitcode")
    assert code == 2, text
    code, text = _cli("apply", config, "--endpoint", endpoint, "--auto-approve")
    assert code == 0, text
    assert "0 failed, 0 skipped" in text
    code, text = _cli("plan", config, "--endpoint", endpoint, "--detailed-exitcode")
    assert code == 0, text
    assert "No changes." in text
