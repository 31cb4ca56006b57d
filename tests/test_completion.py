"""Shell completion: the generated scripts parse (bash -n, zsh -n), complete commands, options, choices and the
configuration's addresses when run under bash with COMP_LINE / COMP_POINT (and under zsh where installed), and
the hidden helper answers from the files alone, without the network or the HTTP client."""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from sfdeclare.cli import build_parser, main
from sfdeclare.commands import complete

CONFIG = """\
version: 1
policies:
  Daily:
    MaxIncrementalBackups: 3
    Schedule: {ScheduleKind: FrequencyBased, Interval: PT24H}
    Storage: {StorageKind: FileShare, Path: 'x'}
applications:
  CalcApp:
    policy: Daily
    services:
      CalcService:
        partitions:
          - id: 8f0e2a7c-3c1e-4d7b-9b7e-2f1d0c6a5b4e
            policy: Daily
          - low_key: 0
            suspended: true
"""

ADDRESSES = [
    "policy[Daily]",
    "application[fabric:/CalcApp]",
    "service[fabric:/CalcApp/CalcService]",
    "partition[fabric:/CalcApp/CalcService/8f0e2a7c-3c1e-4d7b-9b7e-2f1d0c6a5b4e]",
]


def sfd(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture()
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "backup.yaml").write_text(CONFIG)
    (tmp_path / "guardrails.yaml").write_text("version: 1\nguardrails: {no_credentials: true}\n")
    return tmp_path


def test_the_helper_lists_the_declared_addresses_from_the_files_on_the_line(workdir: Path) -> None:
    assert sfd("__complete", "addresses", "plan", "backup.yaml", "--target") == (
        0,
        "\n".join(ADDRESSES) + "\n",
        "",
    )
    # a folder works; option values (a guardrails file, an output file) are not configuration
    assert (
        sfd("__complete", "addresses", "plan", ".", "--guardrails", "guardrails.yaml")[1].splitlines()
        == ADDRESSES
    )
    assert complete.configuration_paths(["plan", "--guardrails", "guardrails.yaml", "--out", "x.yml"]) == []


def test_the_helper_is_silent_when_there_is_nothing_to_offer(workdir: Path) -> None:
    (workdir / "broken.yaml").write_text("version: 1\npolicies: [\n")
    for words in (["plan", "broken.yaml"], ["plan"], ["plan", "missing.yaml"], []):
        assert sfd("__complete", "addresses", *words) == (0, "", "")
    assert sfd("__complete", "files") == (0, "", "")


def test_the_helper_never_loads_the_http_client(workdir: Path) -> None:
    probe = (
        "import io, sys\n"
        "from sfdeclare.cli import main\n"
        "out = io.StringIO()\n"
        "main(['__complete', 'addresses', 'plan', 'backup.yaml'], out=out, err=io.StringIO())\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('httpx', 'sfdeclare.cluster', 'sfdeclare.engine')))\n"
        "print(len(out.getvalue().splitlines()), loaded)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=workdir
    )
    assert done.stdout.strip() == "4 []"


def test_the_helper_knows_every_option_that_takes_a_value() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    taking = {
        flag
        for name in ("validate", "plan", "apply", "drift", "explain")
        for action in sub.choices[name]._actions
        if action.nargs != 0
        for flag in action.option_strings
    }
    assert taking == set(complete.VALUE_OPTIONS)


def _bash_complete(script: Path, line: str, cwd: Path) -> list[str]:
    driver = (
        f"source {script}\n"
        'COMP_LINE="$1"; COMP_POINT=${#COMP_LINE}; COMP_WORDS=($1); COMP_CWORD=$(( ${#COMP_WORDS[@]} ))\n'
        "COMPREPLY=(); _sfdeclare; printf '%s\\n' \"${COMPREPLY[@]}\"\n"
    )
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["bash", "--norc", "-c", driver, "bash", line],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return [w for w in done.stdout.splitlines() if w]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_the_bash_script_parses_and_completes(workdir: Path) -> None:
    code, script, _ = sfd("completion", "bash")
    assert code == 0
    path = workdir / "sfdeclare.bash"
    path.write_text(script)
    subprocess.run(["bash", "-n", str(path)], check=True)
    assert _bash_complete(path, "sfdeclare pl", workdir) == ["plan"]
    assert _bash_complete(path, "sfdeclare plan --ex", workdir) == ["--exclude"]
    assert _bash_complete(path, "sfdeclare drift backup.yaml --format ", workdir) == [
        "text",
        "json",
        "markdown",
        "sarif",
    ]
    assert _bash_complete(path, "sfdeclare plan backup.yaml --target ", workdir) == ADDRESSES
    assert _bash_complete(path, "sfdeclare apply backup.yaml --replace pol", workdir) == ["policy[Daily]"]
    # bash splits words at ':': the candidates carry only what follows the last ':'
    assert _bash_complete(path, "sfdeclare plan backup.yaml --exclude service[fabric:/Ca", workdir) == [
        "/CalcApp/CalcService]"
    ]
    assert _bash_complete(path, "sfdeclare explain backup.yaml app", workdir) == [
        "application[fabric:/CalcApp]"
    ]
    assert _bash_complete(path, "sfdeclare validate back", workdir) == ["backup.yaml"]
    assert _bash_complete(path, "sfdeclare completion ", workdir) == ["bash", "zsh"]


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_the_zsh_script_parses_and_completes(workdir: Path) -> None:
    code, script, _ = sfd("completion", "zsh")
    assert code == 0 and script.startswith("#compdef sfdeclare\n")
    path = workdir / "_sfdeclare"
    path.write_text(script)
    subprocess.run(["zsh", "-n", str(path)], check=True)
    driver = (
        "compdef() { :; }\n"
        f"source {path}\n"
        'compadd() { shift $(( ${@[(i)--]} )); print -rl -- "$@"; }\n'
        "_files() { print FILES; }\n"
        'words=(sfdeclare plan backup.yaml --target ""); CURRENT=5; _sfdeclare\n'
        "print SEPARATOR\n"
        'words=(sfdeclare plan backup.yaml --format ""); CURRENT=5; _sfdeclare\n'
        "print SEPARATOR\n"
        'words=(sfdeclare completion ""); CURRENT=3; _sfdeclare\n'
    )
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(
        ["zsh", "-f", "-c", driver], capture_output=True, text=True, cwd=workdir, env=env, timeout=30
    )
    assert done.returncode == 0, done.stderr
    addresses, formats, shells = done.stdout.split("SEPARATOR\n")
    assert addresses.splitlines() == ADDRESSES
    assert formats.splitlines() == ["text", "json", "markdown", "github", "sarif"]
    assert shells.splitlines() == ["bash", "zsh"]


def test_an_unknown_shell_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, _ = sfd("completion", "fish")
    assert code == 1
    assert "invalid choice: 'fish'" in capsys.readouterr().err
