"""The documentation stays true: docs/configuration.md is what the generator makes from the schema today, and
every sfdeclare command or flag the docs show exists in the CLI."""

from __future__ import annotations

import importlib.util
import json
import re
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml
from test_ci_examples import cli_options, parse_error, sfdeclare_commands

from sfdeclare.config.loader import load_declaration
from sfdeclare.emulator.topology import topology_from_dict

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
EXPECTED_DOCS = ("configuration.md", "secrets-and-auth.md", "ci.md", "emulator.md", "formats.md")


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_config_reference", ROOT / "tools" / "gen_config_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_configuration_reference_is_generated_from_the_current_schema() -> None:
    expected = _generator().generate()
    current = (DOCS / "configuration.md").read_text(encoding="utf-8")
    assert current == expected, (
        "docs/configuration.md is out of date: run python tools/gen_config_reference.py"
    )


def _property_paths(schema: dict[str, Any]) -> set[str]:
    """Every property name the schema defines anywhere (top level and every $defs entry)."""
    names: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for name in node.get("properties", {}):
                names.add(name)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(schema)
    return names


def test_the_reference_has_a_heading_for_every_property_the_schema_defines() -> None:
    schema = json.loads((ROOT / "schemas" / "sfdeclare.schema.json").read_text(encoding="utf-8"))
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    headings = re.findall(r"^#{2,4} `([^`]+)`", text, flags=re.MULTILINE)
    leaves = {h.rsplit(".", 1)[-1].removesuffix("[]") for h in headings}
    assert _property_paths(schema) - leaves == set()
    for path in (
        "cluster.tls.server_cert_thumbprint",
        "policies.<name>.Storage.ConnectionString",
        "applications.<name>.services.<name>.partitions[].low_key",
    ):
        assert path in headings


def test_the_generator_renders_types_enums_defaults_required_and_variants() -> None:
    schema = {
        "description": "Test schema.",
        "type": "object",
        "required": ["mode"],
        "properties": {
            "mode": {"enum": ["a", "b"], "default": "a", "description": "The mode."},
            "store": {"$ref": "#/$defs/Store"},
        },
        "$defs": {
            "Store": {
                "type": "object",
                "properties": {"Kind": {"enum": ["Disk"]}},
                "allOf": [
                    {
                        "if": {"properties": {"Kind": {"const": "Disk"}}, "required": ["Kind"]},
                        "then": {"$ref": "#/$defs/Disk"},
                    }
                ],
            },
            "Disk": {
                "type": "object",
                "properties": {"Kind": {"const": "Disk"}, "Path": {"type": "string", "minLength": 1}},
                "required": ["Path"],
            },
        },
    }
    text = _generator().render(schema)
    assert (
        "## `mode`\n\nThe mode.\n\n- Type: one of the values below\n- Values: `a`, `b`\n- Default: `a`"
        in text
    )
    assert "- Required: yes" in text.split("## `store`")[0]
    assert "### `store.Path` (Kind: Disk)" in text
    assert "- Only when `Kind` is `Disk`" in text
    with pytest.raises(ValueError, match="cannot resolve"):
        _generator().render({"properties": {"x": {"$ref": "#/$defs/Missing"}}, "$defs": {}})


def test_every_expected_document_exists_and_links_between_docs_resolve() -> None:
    for name in EXPECTED_DOCS:
        assert (DOCS / name).is_file(), name
    for page in DOCS.glob("*.md"):
        for target, anchor in re.findall(
            r"\]\(([^)#:]+\.md)(?:#([^)]*))?\)", page.read_text(encoding="utf-8")
        ):
            linked = (page.parent / target).resolve()
            assert linked.is_file(), f"{page.name} links to missing {target}"
            if anchor:
                assert anchor in _anchors(linked.read_text(encoding="utf-8")), (
                    f"{page.name}: {target}#{anchor}"
                )


def _anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    headings = re.findall(r"^#+ (.+)$", text, flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h).strip().lower().replace(" ", "-") for h in headings}


def _code_blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of every fenced block, also those indented inside a list item."""
    blocks = re.findall(r"^( *)```(\w*)\n(.*?)^\1```", text, flags=re.MULTILINE | re.DOTALL)
    return [(lang, textwrap.dedent(body)) for _, lang, body in blocks]


def _doc_commands() -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for page in sorted(DOCS.glob("*.md")):
        for lang, body in _code_blocks(page.read_text(encoding="utf-8")):
            if lang == "console":
                body = "\n".join(line[2:] for line in body.splitlines() if line.startswith("$ "))
            elif lang not in ("sh", "shell", "bash"):
                continue
            found += [(page.name, argv) for argv in sfdeclare_commands(body)]
    return found


def test_every_command_in_the_docs_parses_with_the_cli() -> None:
    commands = _doc_commands()
    used = {argv[0] if argv[0] != "emulator" else " ".join(argv[:2]) for _, argv in commands}
    assert {"validate", "plan", "apply", "drift", "emulator init", "emulator serve", "schema"} <= used
    problems = [f"{page}: sfdeclare {' '.join(argv)}: {parse_error(argv)}" for page, argv in commands]
    assert [p for p in problems if not p.endswith(": None")] == []


def test_every_flag_named_in_the_docs_prose_exists() -> None:
    options = cli_options()
    known = set().union(*options.values())
    problems = []
    for page in sorted(DOCS.glob("*.md")):
        text = re.sub(
            r"^( *)```.*?^\1```", "", page.read_text(encoding="utf-8"), flags=re.MULTILINE | re.DOTALL
        )
        for span in re.findall(r"`([^`\n]+)`", text):
            words = span.split()
            if span.startswith("--") and words[0].split("=")[0] not in known:
                problems.append(f"{page.name}: {span}")
            elif words[0] == "sfdeclare" and len(words) > 1 and words[1].startswith("-"):
                problems += [f"{page.name}: {span}" for w in words[1:] if w not in options[""] | {"--help"}]
            elif words[0] == "sfdeclare" and len(words) > 1 and not words[1].isupper():  # COMMAND: any
                command = " ".join(words[1:3]) if words[1] == "emulator" and len(words) > 2 else words[1]
                if command not in options:
                    problems.append(f"{page.name}: {span}: no command {command!r}")
                    continue
                flags = {w.split("=")[0] for w in words if w.startswith("--")}
                problems += [
                    f"{page.name}: {span}: {f}" for f in sorted(flags - options[command] - {"--help"})
                ]
    assert problems == []


def _yaml_examples() -> list[tuple[str, int, str]]:
    found = []
    for page in sorted(DOCS.glob("*.md")):
        for i, (lang, body) in enumerate(_code_blocks(page.read_text(encoding="utf-8"))):
            if lang == "yaml":
                found.append((page.name, i, body))
    return found


def test_every_yaml_example_in_the_docs_is_a_valid_configuration_topology_or_tool_config(
    tmp_path: Path,
) -> None:
    checked = {"configuration": 0, "topology": 0}
    for page, index, body in _yaml_examples():
        data = yaml.safe_load(body)
        assert isinstance(data, dict), (page, index)
        if "repos" in data:  # a .pre-commit-config.yaml
            assert data["repos"][0]["hooks"][0]["id"] == "sfdeclare-validate"
            continue
        if "jobs" in data:  # a GitHub Actions workflow (its sfdeclare commands are checked with the prose)
            assert all("steps" in job for job in data["jobs"].values()), (page, index)
            continue
        if isinstance(data.get("applications"), list):
            topology_from_dict(data, f"{page}#{index}")
            checked["topology"] += 1
            continue
        path = tmp_path / f"{page}-{index}.yaml"
        path.write_text(body if "version" in data else "version: 1\n" + body, encoding="utf-8")
        load_declaration([str(path)])  # raises ConfigError with every problem
        checked["configuration"] += 1
    assert checked["configuration"] >= 4 and checked["topology"] >= 1


def test_the_emulator_page_documents_every_init_and_serve_option() -> None:
    text = (DOCS / "emulator.md").read_text(encoding="utf-8")
    options = cli_options()
    for command in ("emulator init", "emulator serve"):
        for option in sorted(options[command] - {"-h", "--help", "--debug"}):
            assert f"`{option}" in text, f"docs/emulator.md does not document {command} {option}"


def test_every_cli_option_is_documented_somewhere() -> None:
    text = "\n".join(page.read_text(encoding="utf-8") for page in DOCS.glob("*.md"))
    for command, flags in cli_options().items():
        for option in sorted(flags - {"-h", "--help"}):
            assert option in text, f"{command or 'sfdeclare'} {option} is in no page of docs/"
