"""The configuration's JSON schema: a valid 2020-12 schema, shipped identically, documented for editors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sfdeclare import schemas
from sfdeclare.safeyaml.reader import parse_text

ROOT = Path(__file__).parent.parent
REPO_COPY = ROOT / "schemas" / "sfdeclare.schema.json"
PACKAGED_COPY = ROOT / "sfdeclare" / "schemas" / "sfdeclare.schema.json"
VALID = Path(__file__).parent / "data" / "config" / "valid"


def test_packaged_copy_is_identical() -> None:
    assert REPO_COPY.read_bytes() == PACKAGED_COPY.read_bytes()


def test_loaded_schema_is_the_packaged_file() -> None:
    assert schemas.load("sfdeclare") == json.loads(PACKAGED_COPY.read_text(encoding="utf-8"))


def test_schema_is_a_valid_2020_12_schema() -> None:
    loaded = json.loads(REPO_COPY.read_text(encoding="utf-8"))
    assert loaded["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(loaded)


def _properties(node: Any, trail: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            yield f"{trail}/properties/{name}", sub
        for key, sub in node.items():
            yield from _properties(sub, f"{trail}/{key}")
    elif isinstance(node, list):
        for index, sub in enumerate(node):
            yield from _properties(sub, f"{trail}/{index}")


def test_every_property_has_hover_help() -> None:
    """Every property an editor can complete has a description, itself or through its $ref."""
    loaded = schemas.load("sfdeclare")
    defs = loaded["$defs"]
    missing = []
    for where, prop in _properties(loaded):
        if prop.get("const") is not None and where.endswith(("/StorageKind", "/ScheduleKind")):
            continue  # the discriminator inside a kind branch; described where the kind is chosen
        if "/if/" in where or "/then/" in where:
            continue  # conditions and extra constraints on properties described beside them
        target = defs[prop["$ref"].rsplit("/", 1)[-1]] if "$ref" in prop else {}
        if not (prop.get("description") or target.get("description")):
            missing.append(where)
    assert missing == []


@pytest.mark.parametrize("name", ["every-kind.yaml", "microsoft-json.yaml", "minimal.yaml"])
def test_valid_fixtures_satisfy_the_plain_schema(name: str) -> None:
    """What editors check (the whole schema, no slicing) accepts every valid fixture."""
    source, problems = parse_text((VALID / name).read_text(encoding="utf-8"), name)
    assert source is not None and not problems
    errors = list(jsonschema.Draft202012Validator(schemas.load("sfdeclare")).iter_errors(source.data))
    assert errors == []


def test_plain_schema_rejects_what_the_loader_rejects() -> None:
    source, _ = parse_text(
        "version: 1\npolicies:\n  P:\n    MaxIncrementalBackups: 3\n"
        "    Schedule: {ScheduleKind: FrequencyBased}\n    Storage: {StorageKind: FileShare, Path: x, Port: 1}\n"
        "applications:\n  A:\n    services:\n      S:\n        partitions: [{id: nope}]\n",
        "c.yaml",
    )
    assert source is not None
    errors = sorted(
        (list(e.absolute_path), e.validator)
        for e in jsonschema.Draft202012Validator(schemas.load("sfdeclare")).iter_errors(source.data)
    )
    assert errors == [
        (["applications", "A", "services", "S", "partitions", 0, "id"], "pattern"),
        (["policies", "P", "Schedule"], "required"),
        (["policies", "P", "Storage"], "additionalProperties"),
    ]
