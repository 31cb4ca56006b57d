"""Cluster settings as the client uses them: references in TLS settings, endpoints recorded in plans."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import trustme

from sfdeclare.cli import main
from sfdeclare.commands.session import connect
from sfdeclare.errors import ConfigError
from sfdeclare.model.declaration import ClusterSettings, TlsSettings


def test_tls_paths_may_be_references(tmp_path: Path) -> None:
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    settings = ClusterSettings(tls=TlsSettings(ca_bundle="${env:CA_PATH}"))
    with connect("https://127.0.0.1:1", settings=settings, env={"CA_PATH": str(tmp_path / "ca.pem")}):
        pass
    with pytest.raises(ConfigError, match="CA_PATH is not set"):
        connect("https://127.0.0.1:1", settings=settings, env={})


def test_a_plan_made_with_a_relative_emulator_path_applies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = Path(__file__).resolve().parent.parent
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BACKUP_STORE_1", "UseDevelopmentStorage=true")
    monkeypatch.delenv("SFDECLARE_ENDPOINT", raising=False)
    config = str(root / "examples" / "calc" / "sfdeclare.yaml")
    out, err = io.StringIO(), io.StringIO()
    args = [
        "emulator",
        "init",
        "--state",
        "rel.state",
        "--topology",
        str(root / "examples/calc/cluster/topology.yaml"),
    ]
    assert main(args, out=out, err=err) == 0
    assert (
        main(["plan", config, "--endpoint", "emulator:rel.state", "--out", "p.json"], out=out, err=err) == 0
    )
    code = main(["apply", "--plan", "p.json", config, "--endpoint", "emulator:rel.state"], out=out, err=err)
    assert code == 0, err.getvalue()
    assert main(["apply", "--plan", "p.json", config], out=io.StringIO(), err=io.StringIO()) == 1  # now stale
