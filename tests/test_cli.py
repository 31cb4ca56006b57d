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


def test_an_unknown_schema_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "bogus"], out=io.StringIO(), err=io.StringIO()) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[-1].endswith(
        "invalid choice: 'bogus' (choose from 'sfdeclare', 'plan', 'report', 'drift', 'status', 'guardrails')"
    )


def test_loading_an_unknown_packaged_schema_names_the_known_ones() -> None:
    import argparse

    from sfdeclare.commands import schema
    from sfdeclare.errors import SfdeclareError

    with pytest.raises(
        SfdeclareError,
        match=r"^unknown schema 'bogus' \(expected one of: sfdeclare, plan, report, drift, status, guardrails\)$",
    ):
        schema.run(argparse.Namespace(name="bogus"), io.StringIO(), io.StringIO())


def test_a_command_loads_only_what_it_runs() -> None:
    """validate and --version never load the HTTP client, the engine or the emulator (start-up time)."""
    import subprocess
    import sys
    from pathlib import Path

    config = Path(__file__).parent / "data" / "config" / "valid" / "minimal.yaml"
    probe = (
        "import io, sys\n"
        "from sfdeclare.cli import main\n"
        f"code = main(['validate', {str(config)!r}], out=io.StringIO(), err=io.StringIO())\n"
        "heavy = sorted(m for m in sys.modules if m.startswith(('httpx', 'sfdeclare.cluster', "
        "'sfdeclare.engine', 'sfdeclare.emulator.app', 'sfdeclare.commands.plan')))\n"
        "print(code, heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "0 []"
