"""The release, end to end (docs/release.md): ``python -m build`` gives a wheel and an sdist whose metadata render
(twine check), the wheel installs into an empty virtual environment and runs, and the GitHub Action's own install
step works from a checkout. Slow (fresh environments, dependencies from the index): `make slow` runs it.

The build works on a copy of the files a release needs, so nothing (build/, *.egg-info) lands in the checkout;
``--no-isolation`` uses the setuptools/wheel of this environment, so the build itself needs no network."""

from __future__ import annotations

import email.parser
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
import tomllib
import yaml

import sfdeclare

ROOT = Path(__file__).resolve().parent.parent
VERSION = sfdeclare.__version__
RELEASE_FILES = ("pyproject.toml", "README.md", "LICENSE", "action.yml")

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _run(argv: list[str | Path], *, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(
        [str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=500, env=env
    )
    assert result.returncode == 0, f"{argv}: {result.stdout}{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("release") / "sfdeclare"
    source.mkdir()
    for name in RELEASE_FILES:
        shutil.copy2(ROOT / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "sfdeclare", source / "sfdeclare", ignore=ignore)
    return source


@pytest.fixture(scope="module")
def dist(checkout: Path) -> Path:
    out = checkout.parent / "dist"
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", out, checkout], cwd=checkout.parent)
    return out


def test_build_gives_a_wheel_and_an_sdist_whose_metadata_render(dist: Path) -> None:
    names = sorted(p.name for p in dist.iterdir())
    assert names == [f"sfdeclare-{VERSION}-py3-none-any.whl", f"sfdeclare-{VERSION}.tar.gz"]
    report = _run([sys.executable, "-m", "twine", "check", "--strict", *sorted(dist.iterdir())], cwd=dist)
    assert report.count("PASSED") == 2, report

    wheel = dist / names[0]
    with zipfile.ZipFile(wheel) as archive:
        files = set(archive.namelist())
        info = f"sfdeclare-{VERSION}.dist-info"
        metadata = email.parser.Parser().parsestr(archive.read(f"{info}/METADATA").decode())
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert metadata["License-Expression"] == "MIT" and f"{info}/licenses/LICENSE" in files
    assert metadata["Description-Content-Type"] == "text/markdown"
    payload = metadata.get_payload()
    assert isinstance(payload, str)
    assert payload.strip() == (ROOT / "README.md").read_text(encoding="utf-8").strip()
    assert set(metadata.get_all("Classifier") or ()) == set(project["classifiers"])
    urls = {u.split(",", 1)[0]: u.split(",", 1)[1].strip() for u in metadata.get_all("Project-URL") or ()}
    assert urls == project["urls"]
    assert "sfdeclare = sfdeclare.cli:run" in entry_points
    assert {"sfdeclare/py.typed", "sfdeclare/__main__.py"} <= files
    assert {
        f"sfdeclare/schemas/{n}.schema.json" for n in ("sfdeclare", "plan", "report", "drift", "status")
    } <= files

    with tarfile.open(dist / names[1]) as sdist:
        members = {m.name.split("/", 1)[1] for m in sdist.getmembers() if "/" in m.name}
    assert {"LICENSE", "README.md", "pyproject.toml", "sfdeclare/schemas/plan.schema.json"} <= members


def test_the_wheel_installs_into_an_empty_environment_and_runs(dist: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=tmp_path)
    wheel = dist / f"sfdeclare-{VERSION}-py3-none-any.whl"
    _run(
        [venv / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check", wheel],
        cwd=tmp_path,
    )
    env = {"PATH": f"{venv / 'bin'}{os.pathsep}/usr/bin:/bin", "HOME": str(tmp_path), "NO_COLOR": "1"}
    assert _run(["sfdeclare", "--version"], cwd=tmp_path, env=env).strip() == f"sfdeclare {VERSION}"
    assert _run([venv / "bin" / "python", "-m", "sfdeclare", "--version"], cwd=tmp_path, env=env).strip() == (
        f"sfdeclare {VERSION}"
    )
    result = subprocess.run(
        ["sfdeclare", "validate", str(ROOT / "examples" / "calc")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and result.stdout.startswith("valid: 0 errors"), (
        result.stdout + result.stderr
    )
    assert _run(["sfdeclare", "schema", "plan"], cwd=tmp_path, env=env).startswith(
        "{"
    )  # the packaged schemas


def test_the_actions_install_step_installs_from_its_own_checkout(checkout: Path, tmp_path: Path) -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
    step = next(s for s in action["runs"]["steps"] if s.get("id") == "install")
    output = tmp_path / "github_output"
    output.write_text("")
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_ACTION_PATH": str(checkout),
        "GITHUB_OUTPUT": str(output),
        "SFDECLARE_PYTHON": sys.executable,
    }
    assert step["env"] == {"SFDECLARE_PYTHON": "${{ inputs.python }}"}
    for _ in range(2):  # the second use in a job reuses the environment
        log = _run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]], cwd=tmp_path, env=env
        )
        assert log.strip().endswith(f"sfdeclare {VERSION}")
    lines = output.read_text().splitlines()
    assert len(lines) == 2 and lines[0] == lines[1] and lines[0].startswith(f"bin={tmp_path}/sfdeclare-")
    installed = Path(lines[0].split("=", 1)[1]) / "sfdeclare"
    _run([installed, "validate", ROOT / "examples" / "calc"], cwd=tmp_path)  # exit 0, else _run fails
