from __future__ import annotations

from pathlib import Path

import pytest

from sfdeclare.errors import ConfigError
from sfdeclare.model.references import check, has_references, references, resolve, resolve_tree


def test_references_lists_kind_and_name_in_order() -> None:
    assert references("a ${env:A} b ${file:certs/x.pem}") == [("env", "A"), ("file", "certs/x.pem")]
    assert references("plain") == []


def test_escape_writes_a_literal() -> None:
    assert references("$${env:A}") == []
    assert not has_references("$${env:A}")
    assert resolve("x$${env:A}", env={"A": "v"}, base_dir=".") == "x${env:A}"
    assert resolve("$$${env:A}", env={"A": "v"}, base_dir=".") == "$${env:A}"


def test_has_references() -> None:
    assert has_references("${env:A}")
    assert has_references("${oops")
    assert not has_references("cost $5")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("${foo:x}", "unknown reference kind 'foo'"),
        ("${X}", "has no kind"),
        ("${env:}", "names nothing"),
        ("${env:1X}", "not a valid environment variable name"),
        ("abc ${env:X", "unterminated reference"),
    ],
)
def test_malformed_references(value: str, message: str) -> None:
    assert message in (check(value) or "")
    with pytest.raises(ValueError, match=r"reference|variable"):
        references(value)


def test_resolve_env_and_file(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("s3cret\n", encoding="utf-8")
    value = resolve("a=${env:A};f=${file:secret.txt}", env={"A": "1"}, base_dir=str(tmp_path))
    assert value == "a=1;f=s3cret"


def test_resolve_strips_only_one_trailing_newline(tmp_path: Path) -> None:
    (tmp_path / "two").write_bytes(b"x\r\n\r\n")
    assert resolve("${file:two}", env={}, base_dir=str(tmp_path)) == "x\r\n"


def test_resolved_values_are_not_interpolated_again() -> None:
    assert resolve("${env:A}", env={"A": "${env:B}"}, base_dir=".") == "${env:B}"


def test_missing_values_name_the_reference_only(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        resolve("${env:MISSING_ONE}-${file:nope.txt}", env={"OTHER": "topsecret"}, base_dir=str(tmp_path))
    messages = [d.message for d in info.value.diagnostics]
    assert messages[0] == "environment variable MISSING_ONE is not set (referenced as ${env:MISSING_ONE})"
    assert "does not exist (referenced as ${file:nope.txt})" in messages[1]
    assert all("topsecret" not in m for m in messages)


def test_resolve_tree_reports_every_problem() -> None:
    tree = {"a": ["${env:A}", {"b": "${env:B}"}], "n": 3, "c": "${env:C}"}
    with pytest.raises(ConfigError) as info:
        resolve_tree(tree, env={"A": "x"}, base_dir=".")
    assert len(info.value.diagnostics) == 2
    resolved = resolve_tree(tree, env={"A": "x", "B": "y", "C": "z"}, base_dir=".")
    assert resolved == {"a": ["x", {"b": "y"}], "n": 3, "c": "z"}
    assert tree["a"] == ["${env:A}", {"b": "${env:B}"}]
