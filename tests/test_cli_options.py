"""Every subcommand keeps the options, choices, defaults and help its users rely on.

The snapshot (tests/data/golden/cli-options.json) was taken from the parser before commands registered their own
arguments; a change to it is a change users see. A new subcommand or option: run with UPDATE_GOLDEN=1 and review.
"""

from __future__ import annotations

import argparse
import io
import json
import os
from pathlib import Path
from typing import Any

import pytest

from sfdeclare.cli import build_parser, main

GOLDEN = Path(__file__).resolve().parent / "data" / "golden" / "cli-options.json"


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _option(action: argparse.Action) -> dict[str, Any]:
    default = action.default
    if default is argparse.SUPPRESS:
        default = "==SUPPRESS=="
    return {
        "dest": action.dest,
        "choices": list(action.choices) if action.choices is not None else None,
        "default": default,
        "nargs": action.nargs,
        "required": action.required,
        "metavar": action.metavar,
        "help": action.help,
        "flag": action.nargs == 0,
    }


def describe(parser: argparse.ArgumentParser, prefix: str = "sfdeclare") -> dict[str, Any]:
    """Command path -> option (or positional dest) -> what users see of it; subcommands recursively."""
    found: dict[str, Any] = {}
    options: dict[str, Any] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            options["COMMAND"] = {"commands": sorted(action.choices), "required": action.required}
            continue
        key = ", ".join(action.option_strings) if action.option_strings else action.dest
        options[key] = _option(action)
    found[prefix] = options
    for name, sub in _subparsers(parser).items():
        found.update(describe(sub, f"{prefix} {name}"))
    return found


def _command_paths() -> list[list[str]]:
    return [path.split()[1:] for path in describe(build_parser())]


def test_every_subcommand_keeps_its_options() -> None:
    current = describe(build_parser())
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    recorded = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert sorted(current) == sorted(recorded), "subcommands differ from the recorded ones"
    for command, options in recorded.items():
        assert current[command] == options, f"{command}: options differ"


@pytest.mark.parametrize("path", _command_paths())
def test_every_help_lists_each_recorded_option(path: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*path, "--help"], out=io.StringIO(), err=io.StringIO()) == 0
    shown = capsys.readouterr().out
    recorded = json.loads(GOLDEN.read_text(encoding="utf-8"))[" ".join(["sfdeclare", *path])]
    for key, option in recorded.items():
        if key == "COMMAND":
            assert all(name in shown for name in option["commands"])
        elif key.startswith("-"):
            assert all(flag in shown for flag in key.split(", ")), f"{key} missing from --help"
        elif option["choices"]:
            assert "{" + ",".join(option["choices"]) + "}" in shown
        else:
            assert (option["metavar"] or key) in shown
