"""The pipeline's shape (ARCHITECTURE.md), enforced from the tree itself.

Every top-level package or module of ``sfdeclare/`` must appear in ``MAY_IMPORT`` (a new one fails until it is
placed), every package named there must hold code, and every ``sfdeclare`` import must follow the table.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sfdeclare"

# What each part may import, in pipeline order. errors <- model <- servicefabric <- config <- engine <- render
# <- commands <- cli; the network edge (cluster) sits beside the middle and knows no decision code; the emulator
# is a separate server that shares only the error tree and the hardened YAML reader with the tool.
MAY_IMPORT: dict[str, set[str]] = {
    "__init__": set(),
    "errors": set(),
    "safeyaml": {"errors"},
    "schemas": {"errors"},
    "model": {"errors"},
    "servicefabric": {"errors", "model"},
    "config": {"errors", "model", "servicefabric", "safeyaml", "schemas"},
    "cluster": {"errors", "model", "servicefabric"},
    "engine": {"errors", "model", "servicefabric", "schemas"},
    "render": {"errors", "model", "servicefabric", "engine", "__init__"},
    "commands": {
        "errors",
        "model",
        "servicefabric",
        "config",
        "cluster",
        "engine",
        "render",
        "schemas",
        "emulator",
        "__init__",
    },
    "cli": {"errors", "commands", "__init__"},
    "__main__": {"cli"},
    "emulator": {"errors", "safeyaml"},
}
DEFINITIONS = (ast.FunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign, ast.If)
HTTP_SPEAKERS = {
    "cluster/client.py",
    "cluster/transport.py",
    "cluster/opener.py",
    "cluster/failures.py",
}
PURE = ("model", "servicefabric", "config", "engine", "render", "safeyaml", "errors", "schemas")


def parts() -> dict[str, list[Path]]:
    """Top-level part name -> its Python files, read from the tree."""
    found: dict[str, list[Path]] = {}
    for path in sorted(PACKAGE.iterdir()):
        if path.is_dir() and (path / "__init__.py").exists():
            found[path.name] = sorted(path.rglob("*.py"))
        elif path.suffix == ".py":
            found[path.stem] = [path]
    return found


def sfdeclare_imports(path: Path) -> set[str]:
    """The top-level parts of sfdeclare this file imports (``from sfdeclare import __version__`` is __init__)."""
    used: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        modules: list[str] = []
        if isinstance(node, ast.Import):
            modules = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "sfdeclare":
                modules = [f"sfdeclare.{alias.name}" for alias in node.names]
            else:
                modules = [node.module]
        for module in modules:
            bits = module.split(".")
            if bits[0] == "sfdeclare" and len(bits) > 1:
                used.add(bits[1] if bits[1] in MAY_IMPORT else "__init__")
    return used


def third_party(path: Path) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_every_part_of_the_tree_is_placed_in_the_order_and_every_placed_part_exists() -> None:
    tree = parts()
    assert set(tree) == set(MAY_IMPORT), "place new parts in MAY_IMPORT, remove vanished ones"
    for name, files in tree.items():
        code = [f for f in files if any(isinstance(n, DEFINITIONS) for n in ast.parse(f.read_text()).body)]
        assert code, f"{name} holds no code"


@pytest.mark.parametrize("part", sorted(MAY_IMPORT))
def test_imports_follow_the_pipeline_order(part: str) -> None:
    files = parts()[part]
    assert files, f"{part} has no files"
    for path in files:
        # every part may read the version (sfdeclare/__init__.py)
        wrong = sfdeclare_imports(path) - MAY_IMPORT[part] - {part, "__init__"}
        assert not wrong, f"{path.relative_to(PACKAGE)} imports {sorted(wrong)}, against the pipeline order"


@pytest.mark.parametrize("part", PURE)
def test_the_pure_middle_does_no_network_or_process_io(part: str) -> None:
    for path in parts()[part]:
        bad = third_party(path) & {"httpx", "httpcore", "socket", "ssl", "subprocess", "sqlite3", "http"}
        assert not bad, f"{path.relative_to(PACKAGE)} imports {sorted(bad)}"


def test_only_the_network_edge_and_the_emulator_speak_http() -> None:
    users = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if third_party(path) & {"httpx", "httpcore"}
    }
    assert {u for u in users if not u.startswith("emulator/")} == HTTP_SPEAKERS


def test_the_rule_sees_a_wrong_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from sfdeclare.engine.planner import plan\nimport httpx\n")
    assert sfdeclare_imports(bad) == {"engine"}
    assert "engine" not in MAY_IMPORT["cluster"]
    assert "httpx" in third_party(bad)


# Reading a ``${file:PATH}`` reference is the one file read the values layer does (ARCHITECTURE.md: references
# are resolved where a value must be sent); everything else in the middle takes values.
FILE_READERS = {"model/references.py"}


@pytest.mark.parametrize("part", ["model", "servicefabric", "engine", "render"])
def test_the_pure_middle_opens_no_file(part: str) -> None:
    for path in parts()[part]:
        opens = [
            node
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "open"
        ]
        where = str(path.relative_to(PACKAGE))
        assert not opens or where in FILE_READERS, f"{where} opens a file: pass its content in instead"
