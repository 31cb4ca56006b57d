"""The render registries: one per document, the CLI's --format choices come from them, and an unknown format is
refused with one line before anything is read or changed. Plus the shared view helpers."""

from __future__ import annotations

import argparse
import io

import pytest

from sfdeclare.cli import build_parser
from sfdeclare.commands import apply, drift, plan
from sfdeclare.errors import SfdeclareError
from sfdeclare.render import formats
from sfdeclare.render.common import BOLD, RESET, cell, paint, plural


def _choices(*path: str, option: str) -> list[str]:
    parser: argparse.ArgumentParser = build_parser()
    for name in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    action = next(a for a in parser._actions if option in a.option_strings)
    return list(action.choices or [])


def test_format_choices_are_the_registries() -> None:
    assert (
        _choices("plan", option="--format")
        == ["text", "json", "markdown", "github", "sarif"]
        == list(formats.PLAN.names)
    )
    assert (
        _choices("drift", option="--format")
        == ["text", "json", "markdown", "sarif"]
        == list(formats.DRIFT.names)
    )
    assert (
        _choices("apply", option="--report-format")
        == ["json", "junit", "markdown"]
        == list(formats.REPORT.names)
    )


def _namespace(**values: object) -> argparse.Namespace:
    # paths that do not exist: a command that got past the format check would fail differently
    base = dict(
        paths=["/nonexistent/sfdeclare.yaml"],
        endpoint=None,
        out=None,
        detailed_exitcode=False,
        targets=[],
        parallelism=1,
        refresh_secrets=False,
        all_applications=False,
        plan_file=None,
        auto_approve=False,
        allow_destructive=False,
        report_file=None,
        format="text",
        report_format="json",
    )
    return argparse.Namespace(**{**base, **values})


@pytest.mark.parametrize(
    ("command", "values", "expected"),
    [
        (plan, {"format": "yaml"}, "text, json, markdown, github, sarif"),
        (drift, {"format": "github"}, "text, json, markdown, sarif"),
        (apply, {"report_format": "html"}, "json, junit, markdown"),
    ],
)
def test_an_unknown_format_is_refused_first(command: object, values: dict[str, str], expected: str) -> None:
    fmt = next(iter(values.values()))
    with pytest.raises(SfdeclareError) as raised:
        command.run(_namespace(**values), io.StringIO(), io.StringIO())  # type: ignore[attr-defined]
    assert str(raised.value) == f"unknown format {fmt!r} (expected {expected})"


def test_plural_counts_regular_and_irregular_nouns() -> None:
    assert plural(1, "file") == "1 file"
    assert plural(0, "file") == "0 files"
    assert plural(2, "policy", "policies") == "2 policies"
    assert plural(1, "policy", "policies") == "1 policy"


def test_a_markdown_cell_cannot_break_its_table() -> None:
    assert cell("a|b\nc") == "a\\|b c"


def test_paint_only_colours_when_asked() -> None:
    assert paint("x", BOLD, color=False) == "x"
    assert paint("x", BOLD, color=True) == f"{BOLD}x{RESET}"


def test_plain_and_strings_walk_json_shaped_trees() -> None:
    from types import MappingProxyType

    from sfdeclare.model.trees import plain, strings

    tree = MappingProxyType({"Storage": MappingProxyType({"Name": "a", "Items": ("x", 1)}), 2: None})
    assert plain(tree) == {"Storage": {"Name": "a", "Items": ["x", 1]}, "2": None}
    assert type(plain(tree)["Storage"]) is dict
    assert list(strings(plain(tree))) == [("Storage.Name", "a"), ("Storage.Items[0]", "x")]
