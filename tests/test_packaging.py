"""The wheel users install holds what the package reads at run time (the four JSON schemas, py.typed), the
console script, and the version from its one source, ``sfdeclare.__version__``.

Built with ``pip wheel --no-build-isolation --no-index`` from a copy of the sources, so it needs no network
and leaves no build/ folder in the working tree."""

from __future__ import annotations

import email.parser
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement

import sfdeclare

ROOT = Path(__file__).resolve().parent.parent
SCHEMAS = ("sfdeclare", "plan", "report", "drift", "status", "guardrails")

pytestmark = pytest.mark.timeout(60)


def _backend_builds_wheels() -> bool:
    """setuptools builds wheels by itself from 70.1 on; before that it needs the wheel package."""
    if importlib.util.find_spec("wheel") is not None:
        return True
    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        return False
    major, minor = (int(p) for p in re.findall(r"\d+", version)[:2])
    return (major, minor) >= (70, 1)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not _backend_builds_wheels():
        pytest.skip(
            "this virtualenv cannot build a wheel offline: the test extra needs wheel (or setuptools>=70.1)"
        )
    work = tmp_path_factory.mktemp("packaging")
    source = work / "src"
    source.mkdir()
    shutil.copy2(ROOT / "pyproject.toml", source)
    shutil.copy2(ROOT / "README.md", source)
    shutil.copy2(ROOT / "LICENSE", source)
    shutil.copytree(
        ROOT / "sfdeclare", source / "sfdeclare", ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    out = work / "dist"
    env = {**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    command = [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation"]
    result = subprocess.run(
        [*command, "-w", str(out), "-q"], capture_output=True, text=True, env=env, cwd=work, timeout=55
    )
    assert result.returncode == 0, result.stdout + result.stderr
    wheels = list(out.glob("*.whl"))
    assert [w.name for w in wheels] == [f"sfdeclare-{sfdeclare.__version__}-py3-none-any.whl"]
    return wheels[0]


def test_the_wheel_ships_the_schemas_the_package_reads_and_py_typed(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        for name in SCHEMAS:
            packaged = archive.read(f"sfdeclare/schemas/{name}.schema.json")
            assert packaged == (ROOT / "schemas" / f"{name}.schema.json").read_bytes(), name
        assert "sfdeclare/py.typed" in names
    for module in ("cli.py", "emulator/server.py", "render/markdown.py", "commands/apply.py"):
        assert f"sfdeclare/{module}" in names
    assert not any(n.startswith(("tests/", "benchmarks/", "examples/", "tools/")) for n in names)


def test_the_wheel_metadata_has_the_one_version_and_the_console_script(wheel: Path) -> None:
    prefix = f"sfdeclare-{sfdeclare.__version__}.dist-info"
    with zipfile.ZipFile(wheel) as archive:
        metadata = email.parser.Parser().parsestr(archive.read(f"{prefix}/METADATA").decode("utf-8"))
        entry_points = archive.read(f"{prefix}/entry_points.txt").decode("utf-8")
    assert metadata["Name"] == "sfdeclare"
    assert metadata["Version"] == sfdeclare.__version__
    assert metadata["Requires-Python"] == ">=3.10"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    runtime = {str(Requirement(r)) for r in metadata.get_all("Requires-Dist", []) if "extra ==" not in r}
    assert runtime == {str(Requirement(r)) for r in project["dependencies"]}
    assert metadata["License-Expression"] == project["license"] == "MIT"
    # the console script enters where `python -m sfdeclare` does
    assert re.search(r"^sfdeclare\s*=\s*sfdeclare\.cli:run$", entry_points, flags=re.MULTILINE)
    main = (ROOT / "sfdeclare" / "__main__.py").read_text(encoding="utf-8")
    assert "from sfdeclare.cli import run" in main and re.search(r"^    run\(\)$", main, flags=re.MULTILINE)


def test_every_imported_runtime_dependency_is_declared_and_every_declared_one_is_imported() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {re.split(r"[<>=!~ ;\[]", r, maxsplit=1)[0].lower() for r in project["dependencies"]}
    modules = {"pyyaml": "yaml"}
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "sfdeclare").rglob("*.py"))
    imported = {
        name
        for name in declared
        if re.search(rf"^\s*(from|import) {modules.get(name, name)}\b", source, re.M)
    }
    assert imported == declared, declared - imported  # a declared dependency nothing imports is dead weight


def test_the_version_has_one_source() -> None:
    project = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    section = project.split("[project]", 1)[1].split("\n[", 1)[0]
    assert re.search(r'^dynamic\s*=\s*\[[^\]]*"version"', section, flags=re.MULTILINE)
    assert not re.search(r"^version\s*=", section, flags=re.MULTILINE)
    assert 'version = { attr = "sfdeclare.__version__" }' in project
    assert re.fullmatch(r"\d+\.\d+\.\d+([ab]|rc)?\d*", sfdeclare.__version__)


def test_every_copy_of_the_repository_address_names_the_same_repository() -> None:
    """One find-and-replace of YOUR_ORG (docs/release.md, step 1) sets the project URLs, the install lines and the
    recipes' pins together."""
    files = [
        "pyproject.toml",
        "README.md",
        "CHANGELOG.md",
        "docs/ci.md",
        "docs/release.md",
        "examples/ci/github-actions.yml",
        "examples/ci/azure-pipelines.yml",
    ]
    owners: dict[str, set[str]] = {}
    for name in files:
        text = (ROOT / name).read_text(encoding="utf-8")
        found = re.findall(r"github\.com/([\w.-]+)/sfdeclare\b", text)
        found += re.findall(r"(?<![\w./-])([\w.-]+)/sfdeclare@", text)
        owners[name] = set(found)
    assert {o for found in owners.values() for o in found} == {"YOUR_ORG"}, owners
    assert all(owners[name] for name in ("pyproject.toml", "README.md", "docs/ci.md")), owners
