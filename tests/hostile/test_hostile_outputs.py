"""Output paths that cannot be written (--out, --report, import --output): one clear line, and apply refuses
before it changes anything rather than losing its report after."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from sfdeclare.cli import main
from sfdeclare.emulator.state import init_state

TOPOLOGY = "applications:\n  - name: fabric:/CalcApp\n    services: []\n"
CONFIG = """version: 1
policies:
  Daily:
    MaxIncrementalBackups: 3
    Schedule: {ScheduleKind: FrequencyBased, Interval: PT24H}
    Storage: {StorageKind: AzureBlobStore, ConnectionString: "${env:OUT_STORE}", ContainerName: backups}
applications:
  CalcApp: {policy: Daily}
"""


@pytest.fixture()
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "topology.yaml").write_text(TOPOLOGY)
    init_state(str(tmp_path / "state"), str(tmp_path / "topology.yaml"))
    (tmp_path / "sfdeclare.yaml").write_text(CONFIG)
    monkeypatch.setenv("OUT_STORE", "x")
    monkeypatch.delenv("SFDECLARE_ENDPOINT", raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def rows(state: Path) -> list[Any]:
    with sqlite3.connect(f"file:{state}?mode=ro", uri=True) as conn:
        return (
            conn.execute("SELECT * FROM policies").fetchall()
            + conn.execute("SELECT * FROM mappings").fetchall()
        )


def run(folder: Path, *argv: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main([*argv, "--endpoint", f"emulator:{folder / 'state'}"], out=out, err=err)
    return code, err.getvalue()


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", "sfdeclare.yaml", "--out", "missing/plan.json"],
        ["import", "--output", "missing/imported.yaml"],
    ],
    ids=["plan --out", "import --output"],
)
def test_an_output_path_that_cannot_be_written_is_one_line(folder: Path, argv: list[str]) -> None:
    code, err = run(folder, *argv)
    assert code == 1
    assert "internal error" not in err and "missing/" in err, err


def test_apply_refuses_an_unwritable_report_path_before_changing_anything(folder: Path) -> None:
    code, err = run(folder, "apply", "sfdeclare.yaml", "--auto-approve", "--report", "missing/report.json")
    assert code == 1
    assert "internal error" not in err and "missing/report.json" in err, err
    assert rows(folder / "state") == []
