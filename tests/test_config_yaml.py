"""The YAML reader: marks, duplicate keys, tags, limits, encodings."""

from __future__ import annotations

from pathlib import Path

import pytest

from sfdeclare.safeyaml import reader as yamlsource
from sfdeclare.safeyaml.reader import format_path, load_file, parse_text


def _errors(text: str) -> list[str]:
    _source, diagnostics = parse_text(text, "f.yaml")
    return [str(d) for d in diagnostics]


def test_values_and_keys_have_one_based_marks() -> None:
    source, diagnostics = parse_text("version: 1\npolicies:\n  P:\n    MaxIncrementalBackups: 3\n", "f.yaml")
    assert source is not None and not diagnostics
    assert source.location(("policies", "P", "MaxIncrementalBackups")).line == 4
    assert source.location(("policies", "P", "MaxIncrementalBackups")).column == 28
    key = source.location(("policies", "P", "MaxIncrementalBackups"), key=True)
    assert (key.line, key.column, key.path) == (4, 5, "$.policies.P.MaxIncrementalBackups")


def test_values_through_an_alias_report_the_alias() -> None:
    text = "a: &s {x: {y: 1}}\nb: *s\n"
    source, _ = parse_text(text, "f.yaml")
    assert source is not None
    assert source.data["b"] == {"x": {"y": 1}}
    where = source.location(("b", "x", "y"))
    assert (where.line, where.column, where.path) == (2, 4, "$.b.x.y")


def test_plain_scalars_follow_the_yaml_1_2_core_schema() -> None:
    source, _ = parse_text("l: [10:00, 2024-01-01, yes, on, 0x10, ~, true, '1', 1.5, -2, '']\n", "f.yaml")
    assert source is not None
    assert source.data["l"] == ["10:00", "2024-01-01", "yes", "on", 16, None, True, "1", 1.5, -2, ""]


def test_duplicate_keys_are_refused_with_both_lines() -> None:
    assert _errors("a: 1\nb:\n  c: 1\n  c: 2\n") == [
        "f.yaml:4:3: error: duplicate key 'c' (first written at line 3) ($.b.c)"
    ]


def test_unsafe_tags_are_refused_without_running_them(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    errors = _errors(f"a: !!python/object/apply:os.system ['touch {marker}']\n")
    assert not marker.exists()
    assert errors == [
        "f.yaml:1:4: error: YAML tag !!python/object/apply:os.system is not allowed (only plain YAML data: "
        "strings, numbers, booleans, null, mappings, sequences)"
    ]


@pytest.mark.parametrize(
    "text", ["a: !custom x\n", "a: !!set {x}\n", "!!binary a: 1\n", "a: !!timestamp 2024-01-01\n"]
)
def test_tags_outside_the_json_core_are_refused(text: str) -> None:
    errors = _errors(text)
    assert len(errors) == 1 and "is not allowed (only plain YAML data" in errors[0]


def test_explicit_core_tags_are_allowed() -> None:
    source, diagnostics = parse_text("a: !!str 10\nb: !!int '7'\nc: !!float 1\n", "f.yaml")
    assert source is not None and not diagnostics
    assert source.data == {"a": "10", "b": 7, "c": 1.0}


def test_alias_bomb_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for i, name in enumerate("bcdefghi"):
        prev = "abcdefghi"[i]
        rows.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 10) + "]")
    errors = _errors("\n".join(rows) + "\n")
    assert errors == [
        "f.yaml:5:36: error: aliases in the file expand to more than 100,000 values (an alias bomb?); refusing it"
    ]


def test_reusing_a_block_through_an_alias_is_fine() -> None:
    source, diagnostics = parse_text(
        "s: &s {StorageKind: FileShare, Path: x}\na: {Storage: *s}\nb: {Storage: *s}\n", "f"
    )
    assert source is not None and not diagnostics
    assert (
        source.data["a"]["Storage"]
        == source.data["b"]["Storage"]
        == {"StorageKind": "FileShare", "Path": "x"}
    )


def test_total_values_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlsource, "MAX_NODES", 10)
    errors = _errors("l: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n")
    assert errors == ["f.yaml:1:29: error: the file holds more than 10 values; refusing it"]


def test_deep_nesting_is_refused() -> None:
    text = "a:\n" + "".join("  " * i + "- \n" for i in range(1, 80))
    errors = _errors("a: " + "[" * 100 + "]" * 100 + "\n") + _errors(text)
    assert all("nests deeper than 64 levels" in e or "nesting depth" in e for e in errors), errors
    assert len(errors) == 2


def test_syntax_error_has_its_line() -> None:
    assert _errors("a: [1, 2\nb: 3\n") == [
        "f.yaml:2:2: error: YAML syntax error: did not find expected ',' or ']' (while parsing a flow sequence)"
    ]


def test_one_document_per_file() -> None:
    assert _errors("a: 1\n---\nb: 2\n") == [
        "f.yaml:2:1: error: a configuration file holds one YAML document; split it into files"
    ]


@pytest.mark.parametrize("text", ["", "# only a comment\n", "---\n", "~\n"])
def test_empty_files(text: str) -> None:
    assert _errors(text) == ["f.yaml:1:1: error: the file is empty (write at least `version: 1`)"]


def test_top_level_must_be_a_mapping() -> None:
    assert _errors("- a\n") == [
        "f.yaml:1:1: error: the top level must be a mapping (version:, policies:, applications:, ...)"
    ]


def test_non_utf8_is_refused_with_its_position(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"version: 1\nname: caf\xe9\n")
    source, diagnostics = load_file(str(path), "latin1.yaml")
    assert source is None
    assert [str(d) for d in diagnostics] == [
        "latin1.yaml:2:10: error: the file is not UTF-8 text (byte 0xe9 cannot be decoded)"
    ]


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfversion: 1\n")
    source, diagnostics = load_file(str(path))
    assert source is not None and source.data == {"version": 1} and not diagnostics


def test_oversized_file_is_refused_before_reading(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("version: 1\n" + "# padding\n" * 200, encoding="utf-8")
    monkeypatch.setattr(yamlsource, "MAX_FILE_BYTES", 1024)

    def no_read(*args: object, **kwargs: object) -> None:
        raise AssertionError("the file was opened")

    monkeypatch.setattr("builtins.open", no_read)
    source, diagnostics = load_file(str(path), "big.yaml")
    assert source is None
    size = path.stat().st_size
    assert [str(d) for d in diagnostics] == [
        f"big.yaml:1:1: error: the file is {size:,} bytes, over the 1,024 bytes limit"
    ]


def test_merge_keys_are_refused() -> None:
    assert "merge keys (<<) are not supported" in _errors("x: &x {a: 1}\ny:\n  <<: *x\n")[0]


def test_format_path_quotes_unusual_keys() -> None:
    assert format_path(("applications", "fabric:/App", "services", "S", "partitions", 0)) == (
        "$.applications['fabric:/App'].services.S.partitions[0]"
    )


def test_huge_values_are_refused_at_their_place(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlsource, "MAX_SCALAR_CHARS", 8)
    assert _errors("a:\n  Name: ccccccccc\n") == [
        "f.yaml:2:9: error: a value of 9 characters is over the 8-character limit ($.a.Name)"
    ]
    assert _errors("aaaaaaaaa: 1\n") == [
        "f.yaml:1:1: error: a key of 9 characters is over the 8-character limit"
    ]
