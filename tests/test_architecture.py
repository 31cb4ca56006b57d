"""The pipeline's shape (ARCHITECTURE.md), enforced: imports go one way and only the edges do I/O."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sfdeclare"
EDGES = (
    "sfdeclare.client",
    "sfdeclare.connections",
    "sfdeclare.emulator",
    "sfdeclare.commands",
    "sfdeclare.cli",
)
PURE = [
    "errors",
    "model",
    "routes",
    "wire",
    "plan",
    "durations",
    "interpolate",
    "policies",
    "planner",
    "resolve",
    "applier",
    "drift",
    "importer",
]


def imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def module_files(name: str) -> list[Path]:
    path = PACKAGE / f"{name}.py"
    return [path] if path.exists() else []


@pytest.mark.parametrize("name", [*PURE, "render"])
def test_pure_modules_import_no_edge_and_no_http(name: str) -> None:
    files = module_files(name) or sorted((PACKAGE / name).glob("*.py"))
    for path in files:
        bad = {
            i
            for i in imports(path)
            if i.startswith(EDGES) or i.split(".")[0] in ("httpx", "httpcore", "socket", "sqlite3")
        }
        assert not bad, f"{path.name} imports {sorted(bad)}"


def test_only_the_client_its_connections_and_the_emulator_speak_http() -> None:
    users = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if any(i.split(".")[0] in ("httpx", "httpcore") for i in imports(path))
    }
    assert {u for u in users if not u.startswith("emulator/")} == {"client.py", "connections.py"}


def test_the_emulator_shares_no_code_with_the_client_codec() -> None:
    for path in (PACKAGE / "emulator").glob("*.py"):
        shared = {
            i
            for i in imports(path)
            if i.startswith(("sfdeclare.wire", "sfdeclare.client", "sfdeclare.routes", "sfdeclare.durations"))
        }
        assert not shared, f"emulator/{path.name} imports {sorted(shared)}"
