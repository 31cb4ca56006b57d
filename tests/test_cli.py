from __future__ import annotations

import io

import pytest

from sfdeclare import __version__
from sfdeclare.cli import main


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"], out=io.StringIO(), err=io.StringIO()) == 0
    assert capsys.readouterr().out.strip() == f"sfdeclare {__version__}"


def test_unknown_command_exits_1_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"], out=io.StringIO(), err=io.StringIO()) == 1
    err = capsys.readouterr().err
    assert "invalid choice: 'frobnicate'" in err and "Traceback" not in err


def test_schema_prints_the_packaged_configuration_schema() -> None:
    import json
    from pathlib import Path

    out = io.StringIO()
    assert main(["schema"], out=out, err=io.StringIO()) == 0
    root = Path(__file__).resolve().parent.parent
    assert json.loads(out.getvalue()) == json.loads((root / "schemas" / "sfdeclare.schema.json").read_text())
    out = io.StringIO()
    assert main(["schema", "plan"], out=out, err=io.StringIO()) == 0
    assert json.loads(out.getvalue())["title"] == "sfdeclare plan"
