from __future__ import annotations

import io

from sfdeclare import __version__
from sfdeclare.cli import main


def test_version_prints_the_package_version() -> None:
    out = io.StringIO()
    err = io.StringIO()
    try:
        main(["--version"], out=out, err=err)
    except SystemExit as exc:
        assert exc.code == 0
    # argparse writes --version to sys.stdout directly


def test_unknown_command_exits_1_without_traceback(capsys: object) -> None:
    err = io.StringIO()
    assert main(["frobnicate"], out=io.StringIO(), err=err) == 1


def test_version_is_single_sourced() -> None:
    assert __version__.count(".") == 2
