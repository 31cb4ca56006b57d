"""The CI recipes (examples/ci) and the pre-commit hook use only what the CLI has: every ``sfdeclare`` command
line in them parses with the real argument parser, and the exit codes they branch on are the ones the CLI
returns (checked by running it against the emulator). The GitHub recipe runs sfdeclare through the repository's
action (action.yml, run for real in tests/test_action.py); here: that it uses it consistently, and that every
install line in the recipes, the action and the install docs names the repository or a local wheel, never a
package index name."""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from sfdeclare import cli, errors
from sfdeclare.commands import drift as drift_command
from sfdeclare.commands import status as status_command
from sfdeclare.emulator.state import init_state

ROOT = Path(__file__).resolve().parent.parent
GITHUB = ROOT / "examples" / "ci" / "github-actions.yml"
AZURE = ROOT / "examples" / "ci" / "azure-pipelines.yml"
ACTION = ROOT / "action.yml"
HOOKS = ROOT / ".pre-commit-hooks.yaml"
CALC = ROOT / "examples" / "calc"

# Tokens after which a word is in command position.
_COMMAND_START = {
    ";",
    "&&",
    "||",
    "|",
    "(",
    "$(",
    "!",
    "if",
    "then",
    "else",
    "elif",
    "do",
    "time",
    "exec",
    "{",
}
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def _is_operator(token: str) -> bool:
    return bool(token) and all(ch in "();<>|&" for ch in token)


def sfdeclare_commands(script: str) -> list[list[str]]:
    """The arguments of every ``sfdeclare ...`` command in a shell script (line continuations joined, stopping
    at the first operator or redirection)."""
    commands: list[list[str]] = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        try:
            tokens = list(lexer)
        except ValueError:  # an unterminated quote belongs to a multi-line string of another language
            continue
        for i, token in enumerate(tokens):
            if token != "sfdeclare":
                continue
            before = [t for t in tokens[:i] if not _ASSIGNMENT.match(t)]
            if before and before[-1] not in _COMMAND_START and not before[-1].endswith("$("):
                continue
            args: list[str] = []
            for t in tokens[i + 1 :]:
                if _is_operator(t):
                    if t[0] in "<>" and args and args[-1].isdigit():
                        args.pop()  # the 2 of 2>file
                    break
                args.append(t)
            commands.append(args)
    return commands


def parse_error(argv: list[str]) -> str | None:
    """None when ``sfdeclare ARGV`` parses, else argparse's message."""
    stderr = io.StringIO()
    try:
        with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(io.StringIO()):
            cli.build_parser().parse_args(argv)
    except SystemExit:
        return stderr.getvalue().strip().splitlines()[-1] if stderr.getvalue().strip() else "exit"
    return None


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def cli_options() -> dict[str, set[str]]:
    """Every command (``plan``, ``emulator serve``, ...) with its option strings; "" holds the global ones."""
    parser = cli.build_parser()
    out: dict[str, set[str]] = {"": {s for a in parser._actions for s in a.option_strings}}
    for name, sub in _subparsers(parser).items():
        out[name] = {s for a in sub._actions for s in a.option_strings}
        for inner, leaf in _subparsers(sub).items():
            out[f"{name} {inner}"] = {s for a in leaf._actions for s in a.option_strings}
    return out


def _scripts(node: Any, keys: tuple[str, ...]) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key in keys and isinstance(value, str):
                yield value
            else:
                yield from _scripts(value, keys)
    elif isinstance(node, list):
        for item in node:
            yield from _scripts(item, keys)


def _load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _github() -> dict[Any, Any]:
    return _load(GITHUB)


def _azure() -> dict[Any, Any]:
    return _load(AZURE)


def _action() -> dict[Any, Any]:
    return _load(ACTION)


def _action_steps(jobs: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Per job, the steps that run the sfdeclare action (``uses: <owner>/sfdeclare@<ref>``)."""
    return {
        name: [s for s in job["steps"] if re.fullmatch(r"[^/@\s]+/sfdeclare@\S+", s.get("uses", ""))]
        for name, job in jobs.items()
    }


# --- the command lines ---------------------------------------------------------------------------------------


def test_every_sfdeclare_command_in_the_azure_recipe_parses() -> None:
    scripts = _scripts(_azure()["stages"], ("script", "bash"))
    commands = [argv for script in scripts for argv in sfdeclare_commands(script)]
    assert {argv[0] for argv in commands} == {"validate", "plan", "show", "apply", "drift", "status"}
    problems = [(argv, parse_error(argv)) for argv in commands]
    assert [p for p in problems if p[1] is not None] == []
    plans = [a for a in commands if a[0] == "plan"]
    applies = [a for a in commands if a[0] == "apply"]
    assert plans and all("--detailed-exitcode" in a and "--out" in a for a in plans)
    assert applies and all("--plan" in a and a[a.index("--report-format") + 1] == "junit" for a in applies)
    shows = [a for a in commands if a[0] == "show"]  # the whole plan as text, next to the plan file
    assert shows and all(a[1].endswith("/plan.json") for a in shows)


def test_the_github_recipe_runs_every_command_through_the_one_pinned_action() -> None:
    jobs = _github()["jobs"]
    steps = _action_steps(jobs)
    inputs = _action()["inputs"]
    refs = {s["uses"] for job in steps.values() for s in job}
    assert len(refs) == 1, refs  # one place to set (a YAML anchor), so every job runs the same code
    commands = {name: [s["with"]["command"] for s in job] for name, job in steps.items()}
    assert commands == {
        "validate": ["validate"],
        "plan": ["plan"],
        "apply": ["apply"],
        "drift": ["drift", "status"],  # the scheduled job: one issue for both
    }
    for job in steps.values():
        for step in job:
            assert set(step["with"]) <= set(inputs), set(step["with"]) - set(inputs)
    plan = steps["plan"][0]["with"]
    assert plan["comment"] == "true" and plan["format"] == "markdown"
    apply = steps["apply"][0]["with"]
    assert apply["plan-file"] == "reviewed/plan.json" and apply["format"] == "junit"
    assert "--allow-destructive" in apply["args"] and "allow_destructive == 'true'" in apply["args"]
    assert all(
        not re.search(r"\bsfdeclare (validate|plan|apply|drift|status)\b", s)
        for s in _scripts(jobs, ("run",))
    )


def test_the_command_extractor_reads_shell_the_way_the_recipes_write_it() -> None:
    script = (
        'rc=0\nsfdeclare plan "$DIR" --format markdown \\\n  --out plan.json > plan.md || rc=$?\n'
        "NO_COLOR=1 sfdeclare drift cfg/ 2>err.txt\n"
        "pip install sfdeclare\nif ! sfdeclare validate a.yaml; then exit 1; fi\n"
    )
    assert sfdeclare_commands(script) == [
        ["plan", "$DIR", "--format", "markdown", "--out", "plan.json"],
        ["drift", "cfg/"],
        ["validate", "a.yaml"],
    ]
    assert parse_error(["plan", "cfg/", "--no-such-flag"]) is not None
    assert parse_error(["drift", "cfg/", "--detailed-exitcode"]) is not None


def test_github_expressions_never_reach_a_command_line_and_secrets_only_reach_the_action() -> None:
    data = _github()
    for script in [*_scripts(data["jobs"], ("run",)), *_scripts(_action()["runs"], ("run",))]:
        assert "${{" not in script, "pass values through env:, not into the script text"
    action_steps = _action_steps(data["jobs"])
    for name, job in data["jobs"].items():
        assert "secrets." not in str(job.get("env", {})), name  # no secret in every step's environment
        for step in job["steps"]:
            if step in action_steps[name]:
                continue  # the action hands its inputs to sfdeclare through env: (tests/test_action.py)
            for key in ("run", "with", "env"):
                assert "secrets." not in str(step.get(key, "")), (name, step)
    inputs = {name: steps[0]["with"] for name, steps in action_steps.items()}
    assert "BACKUP_STORE_1=${{ secrets.BACKUP_STORE_1 }}" in inputs["apply"]["env"]  # apply sends it ...
    assert "BACKUP_STORE_1" not in str(inputs["plan"]) + str(inputs["drift"])  # ... nothing else needs it
    for job in ("plan", "apply", "drift"):
        assert inputs[job]["endpoint"] == "${{ secrets.SF_ENDPOINT }}"
        assert inputs[job]["client-cert-pem"] == "${{ secrets.SF_CLIENT_CERT_PEM }}"
    assert "secrets." not in str(inputs["validate"])  # validate is offline


def test_azure_secret_variables_reach_only_mapped_environment_variables() -> None:
    text = AZURE.read_text(encoding="utf-8")
    for secret in ("SF_ENDPOINT", "BACKUP_STORE_1", "System.AccessToken"):
        uses = re.findall(rf"^(.*)\$\({re.escape(secret)}\)", text, flags=re.MULTILINE)
        assert uses and all(re.fullmatch(r"\s+[A-Z_0-9]+: ", before) for before in uses), secret


def test_github_recipe_has_the_sticky_comment_artifact_junit_and_drift_issue() -> None:
    data = _github()
    triggers = data[True]  # YAML 1.1 reads the key `on` as true
    assert {"pull_request", "push", "schedule"} <= set(triggers)
    jobs = data["jobs"]
    plan_steps = jobs["plan"]["steps"]
    assert _action_steps(jobs)["plan"][0]["with"]["comment"] == "true"  # the action's sticky comment
    assert jobs["plan"]["permissions"]["pull-requests"] == "write"
    upload = next(s for s in plan_steps if "upload-artifact" in s.get("uses", ""))
    assert upload["with"]["path"].splitlines() == [
        "${{ steps.plan.outputs.plan-file }}",
        "${{ steps.plan.outputs.plan-text-file }}",
        "${{ steps.plan.outputs.markdown-file }}",
    ]
    apply_steps = jobs["apply"]["steps"]
    assert any("gh run download" in s.get("run", "") for s in apply_steps)
    reporter = next(s for s in apply_steps if "test-reporter" in s.get("uses", ""))
    assert reporter["with"]["reporter"] == "java-junit" and reporter["if"].startswith("always()")
    assert reporter["with"]["path"] == "${{ steps.apply.outputs.report-file }}"
    drift_script = next(s for s in jobs["drift"]["steps"] if "github-script" in s.get("uses", ""))["with"][
        "script"
    ]
    assert "state: 'closed'" in drift_script and "issues.create" in drift_script
    # one issue for drift and backup status: opened when either exits 2, closed only when both exit 0
    assert "[process.env.DRIFT_EXIT, process.env.STATUS_EXIT]" in drift_script
    assert "exits.some(e => e === '2')" in drift_script and "exits.every(e => e === '0')" in drift_script
    issue_step = next(s for s in jobs["drift"]["steps"] if "github-script" in s.get("uses", ""))
    assert issue_step["env"]["STATUS_EXIT"] == "${{ steps.status.outputs.exit-code }}"
    status_step = next(s for s in _action_steps(jobs)["drift"] if s["with"]["command"] == "status")
    assert status_step["id"] == "status" and status_step["with"]["format"] == "markdown"


def test_azure_recipe_publishes_the_plan_summary_junit_and_comments_once() -> None:
    data = _azure()
    stages = {s["stage"]: s for s in data["stages"]}
    assert set(stages) == {"Validate", "Plan", "Apply", "Drift"}
    text = AZURE.read_text(encoding="utf-8")
    assert "##vso[task.uploadsummary]" in text and "PublishPipelineArtifact@1" in text
    assert "<!-- sfdeclare-plan -->" in text and "-X PATCH" in text
    deploy = stages["Apply"]["jobs"][0]
    steps = deploy["strategy"]["runOnce"]["deploy"]["steps"]
    publish = next(s for s in steps if s.get("task") == "PublishTestResults@2")
    assert publish["inputs"]["testResultsFormat"] == "JUnit" and publish["condition"] == "succeededOrFailed()"
    assert deploy["environment"] and any(s.get("download") == "current" for s in steps)


# --- exit codes ----------------------------------------------------------------------------------------------


def _codes_branched_on(script: str) -> set[int]:
    codes = {int(c) for c in re.findall(r"-(?:eq|ne) (\d+)", script)}
    codes |= {int(c) for c in re.findall(r"^\s*(\d+)\)", script, flags=re.MULTILINE)}
    codes |= {int(c) for c in re.findall(r"""(?:===|=) ["'](\d+)["']""", script)}
    return codes


def test_the_recipes_branch_only_on_documented_exit_codes() -> None:
    documented = {
        errors.EXIT_OK,
        errors.EXIT_ERROR,
        errors.EXIT_CHANGES,
        errors.EXIT_INTERNAL,
        errors.EXIT_INTERRUPTED,
    }
    assert errors.EXIT_CHANGES == 2 and drift_command.EXIT_DRIFT == 2 and status_command.EXIT_PROBLEMS == 2
    plan_parser = _subparsers(cli.build_parser())["plan"]
    assert "exit 2 when there are changes" in plan_parser.format_help()
    for recipe, path in (("github", GITHUB), ("azure", AZURE), ("action", ACTION)):
        text = path.read_text(encoding="utf-8")
        codes = _codes_branched_on(text)
        assert 2 in codes and 0 in codes, recipe
        assert codes <= documented, (recipe, codes - documented)


@pytest.fixture
def calc_cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    state = tmp_path / "cluster.state"
    init_state(str(state), str(CALC / "cluster" / "topology.yaml"))
    monkeypatch.setenv("BACKUP_STORE_1", "DefaultEndpointsProtocol=https;AccountName=ci;AccountKey=k")
    monkeypatch.delenv("SFDECLARE_ENDPOINT", raising=False)
    return f"emulator:{state}"


def _run(*argv: str) -> int:
    return cli.main(list(argv), out=io.StringIO(), err=io.StringIO())


def test_the_exit_codes_the_recipes_rely_on_are_what_the_cli_returns(
    calc_cluster: str, tmp_path: Path
) -> None:
    config = str(CALC / "sfdeclare.yaml")
    plan_file = str(tmp_path / "plan.json")
    # plan --detailed-exitcode: 2 with changes, then apply --plan, then 0 without changes
    assert _run("plan", config, "--endpoint", calc_cluster, "--out", plan_file, "--detailed-exitcode") == 2
    assert _run("drift", config, "--endpoint", calc_cluster) == 2  # declared but missing on the cluster
    report = tmp_path / "report.xml"
    assert (
        _run("apply", config, "--plan", plan_file, "--endpoint", calc_cluster, "--report", str(report)) == 0
    )
    assert _run("plan", config, "--endpoint", calc_cluster, "--detailed-exitcode") == 0
    assert _run("drift", config, "--endpoint", calc_cluster) == 0
    # status: 0 while no backup is due, 2 once --since puts the first daily run past its grace, 1 on error
    assert _run("status", config, "--endpoint", calc_cluster) == 0
    late = ("--since", "2020-01-01T00:00:00Z", "--now", "2030-01-01T00:00:00Z")
    assert _run("status", config, "--endpoint", calc_cluster, *late) == 2
    assert _run("status", str(tmp_path / "missing.yaml"), "--endpoint", calc_cluster) == 1
    # the reviewed plan is now stale: refused with 1, nothing changed
    assert _run("apply", config, "--plan", plan_file, "--endpoint", calc_cluster) == 1
    assert _run("drift", str(tmp_path / "missing.yaml"), "--endpoint", calc_cluster) == 1


# --- the pre-commit hook -------------------------------------------------------------------------------------


def _hook() -> dict[str, Any]:
    hooks = yaml.safe_load(HOOKS.read_text(encoding="utf-8"))
    assert isinstance(hooks, list)
    by_id = {h["id"]: h for h in hooks}
    assert set(by_id) == {"sfdeclare-validate"}
    hook: dict[str, Any] = by_id["sfdeclare-validate"]
    return hook


def test_the_pre_commit_hook_runs_validate_on_the_files_it_is_given() -> None:
    hook = _hook()
    assert hook["language"] == "python" and hook["pass_filenames"] is True
    entry = shlex.split(hook["entry"])
    assert entry[0] == "sfdeclare"
    argv = [*entry[1:], *hook.get("args", []), "sfdeclare/policies.yaml", "sfdeclare/app.yaml"]
    assert argv[0] == "validate" and parse_error(argv) is None
    valid = [*entry[1:], *hook.get("args", []), str(CALC / "sfdeclare.yaml")]
    assert _run(*valid) == 0
    invalid = [*entry[1:], *hook.get("args", []), str(CALC / "cluster" / "topology.yaml")]
    assert _run(*invalid) == 1  # a topology is not a configuration: the hook must not be given one


@pytest.mark.parametrize(
    ("path", "matched"),
    [
        ("sfdeclare.yaml", True),
        ("clusters/prod/sfdeclare.yml", True),
        ("sfdeclare/policies.yaml", True),
        ("infra/sfdeclare/apps/calc.yaml", True),
        ("sfdeclare-prod.yaml", True),
        ("examples/calc/cluster/topology.yaml", False),
        (".github/workflows/sfdeclare.yml", False),
        ("azure-pipelines.yml", False),
        ("sfdeclare/README.md", False),
    ],
)
def test_the_pre_commit_hook_selects_configuration_files(path: str, matched: bool) -> None:
    hook = _hook()
    selected = re.search(hook["files"], path) is not None
    excluded = "exclude" in hook and re.search(hook["exclude"], path) is not None
    assert (selected and not excluded) is matched


# --- the recipes' scripts, run for real against the emulator ------------------------------------------------

_BIN = Path(sys.executable).parent


def _step(steps: list[dict[str, Any]], *, name: str = "", script_has: str = "") -> str:
    for step in steps:
        script = step.get("run", step.get("script", ""))
        if name and step.get("name", step.get("displayName", "")).startswith(name):
            return str(script)
        if script_has and script_has in script:
            return str(script)
    raise AssertionError(f"no step {name or script_has!r}")


@pytest.fixture
def rehearsal(tmp_path: Path) -> dict[str, str]:
    """A working directory laid out as the recipes expect (the configuration in sfdeclare/), an emulated
    cluster, and the environment a CI runner would give the scripts."""
    if shutil.which("sfdeclare", path=str(_BIN)) is None:
        pytest.skip("the sfdeclare console script is not installed next to this Python")
    (tmp_path / "sfdeclare").mkdir()
    shutil.copy2(CALC / "sfdeclare.yaml", tmp_path / "sfdeclare" / "calc.yaml")
    state = tmp_path / "cluster.state"
    init_state(str(state), str(CALC / "cluster" / "topology.yaml"))
    env = {
        "PATH": f"{_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "NO_COLOR": "1",
        "SFDECLARE_CONFIG": "sfdeclare/",
        "SFDECLARE_ENDPOINT": f"emulator:{state}",
        "GITHUB_OUTPUT": str(tmp_path / "github_output"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "step_summary"),
    }
    if "PYTHONPATH" in os.environ:  # the same sfdeclare as this test process
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return env


def _bash(script: str, cwd: Path, env: dict[str, str], *, errexit: bool) -> subprocess.CompletedProcess[str]:
    command = ["bash", "--noprofile", "--norc", *(["-e"] if errexit else []), "-c", script]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=60)


def _azure_macros(script: str, values: dict[str, str]) -> str:
    """Azure expands $(Name.Sub) macros before bash sees the script."""
    return re.sub(r"\$\(([A-Za-z]+\.[A-Za-z.]+)\)", lambda m: values[m.group(1)], script)


def test_the_azure_scripts_plan_apply_and_check_drift_on_an_emulated_cluster(
    rehearsal: dict[str, str], tmp_path: Path
) -> None:
    stages = {s["stage"]: s for s in _azure()["stages"]}
    staging = tmp_path / "staging"
    staging.mkdir()
    macros = {
        "Build.ArtifactStagingDirectory": str(staging),
        "Pipeline.Workspace": str(tmp_path / "pipeline"),
    }
    plan_script = _azure_macros(
        _step(stages["Plan"]["jobs"][0]["steps"], script_has="sfdeclare plan"), macros
    )
    plan = _bash(plan_script, tmp_path, rehearsal, errexit=False)
    assert plan.returncode == 0, plan.stderr
    assert "##vso[task.setvariable variable=changes;isOutput=true]true" in plan.stdout
    assert f"##vso[task.uploadsummary]{staging}/plan.md" in plan.stdout
    (tmp_path / "pipeline" / "sfdeclare-plan").mkdir(parents=True)
    shutil.copy2(staging / "plan.json", tmp_path / "pipeline" / "sfdeclare-plan" / "plan.json")

    deploy = stages["Apply"]["jobs"][0]["strategy"]["runOnce"]["deploy"]["steps"]
    apply_env = {**rehearsal, "BACKUP_STORE_1": "DefaultEndpointsProtocol=https;A=b"}
    apply = _bash(
        _azure_macros(_step(deploy, script_has="sfdeclare apply"), macros), tmp_path, apply_env, errexit=False
    )
    assert apply.returncode == 0, apply.stdout + apply.stderr
    assert 'failures="0"' in (tmp_path / "report.xml").read_text()

    drift_script = _step(stages["Drift"]["jobs"][0]["steps"], script_has="sfdeclare drift")
    drift = _bash(drift_script, tmp_path, rehearsal, errexit=False)
    assert drift.returncode == 0 and "##vso[task.setvariable variable=driftExit]0" in drift.stdout
    # just applied: no backup is due yet, so nothing is a problem
    status_script = _step(stages["Drift"]["jobs"][0]["steps"], script_has="sfdeclare status")
    status = _bash(status_script, tmp_path, rehearsal, errexit=False)
    assert status.returncode == 0 and "##vso[task.setvariable variable=statusExit]0" in status.stdout
    assert "no backup yet" in (tmp_path / "status.txt").read_text()
    work_item = _step(stages["Drift"]["jobs"][0]["steps"], script_has="wiql")
    assert '[ "$DRIFTEXIT" = "2" ] || [ "$STATUSEXIT" = "2" ]' in work_item


def test_the_azure_drift_script_fails_the_job_on_an_error(rehearsal: dict[str, str], tmp_path: Path) -> None:
    azure_drift = _step(
        {s["stage"]: s for s in _azure()["stages"]}["Drift"]["jobs"][0]["steps"], script_has="drift"
    )
    broken = {**rehearsal, "SFDECLARE_CONFIG": "missing/"}
    failed = _bash(azure_drift, tmp_path, broken, errexit=False)
    assert (
        failed.returncode == 1
        and "##vso[task.logissue type=error]sfdeclare drift failed (exit 1)" in failed.stdout
    )


def test_every_step_output_a_recipe_reads_is_written_by_that_step() -> None:
    jobs = _github()["jobs"]
    action = _action()
    seen = set()
    for name, job in jobs.items():
        text = yaml.safe_dump(job)
        for step_id, output in set(re.findall(r"steps\.([\w-]+)\.outputs\.([\w-]+)", text)):
            seen.add(f"{step_id}.{output}")
            step = next((s for s in job["steps"] if s.get("id") == step_id), None)
            assert step is not None, (name, step_id)
            if step in _action_steps(jobs)[name]:
                assert output in action["outputs"], (name, step_id, output)
            else:
                assert re.search(rf'echo "{output}=.*>> "\$GITHUB_OUTPUT"', step["run"]), (
                    name,
                    step_id,
                    output,
                )
    assert {"reviewed.allow_destructive", "drift.exit-code", "plan.plan-file", "apply.report-file"} <= seen
    # and every action output is one its run step writes
    run = next(s for s in action["runs"]["steps"] if s.get("id") == "run")["run"]
    for output, spec in action["outputs"].items():
        assert spec["value"] == f"${{{{ steps.run.outputs.{output} }}}}"
        assert re.search(rf'echo "{output}(=|<<)', run), output
    azure = _azure()
    text = AZURE.read_text(encoding="utf-8")
    references = re.findall(r"dependencies\.(\w+)\.outputs\['(\w+)\.(\w+)\.(\w+)'\]", text)
    assert references
    for stage_name, job_name, step_name, variable in references:
        stage = next(s for s in azure["stages"] if s["stage"] == stage_name)
        job = next(j for j in stage["jobs"] if j.get("job") == job_name)
        step = next(s for s in job["steps"] if s.get("name") == step_name)
        assert f"##vso[task.setvariable variable={variable};isOutput=true]" in step["script"]


# --- what the pipelines install ------------------------------------------------------------------------------

_INDEX_OPTIONS = {"-i", "--index-url", "--extra-index-url"}
_VALUE_OPTIONS = {"-c", "--constraint", "--python", "-r", "--requirement"}


def install_targets(script: str) -> list[str]:
    """What every ``pip install`` / ``pipx install`` in a shell script installs (options left out, except the
    index options, which are returned so that the check below refuses them)."""
    targets: list[str] = []
    for line in script.replace("\\\n", " ").splitlines():
        try:
            tokens = shlex.split(line, comments=True)
        except ValueError:
            continue
        for i, token in enumerate(tokens[:-1]):
            if token not in ("pip", "pipx") or tokens[i + 1] != "install":
                continue
            skip = False
            for arg in tokens[i + 2 :]:
                if _is_operator(arg) or arg in ("&&", "||", ";"):
                    break
                if skip:
                    skip = False
                elif arg in _INDEX_OPTIONS:
                    targets.append(arg)
                    skip = True
                elif arg in _VALUE_OPTIONS:
                    skip = True
                elif not arg.startswith("-"):
                    targets.append(arg)
    return targets


def installs_what_exists(target: str, variables: dict[str, str]) -> bool:
    """A repository pinned to a ref, the action's own checkout, or a wheel file: never a name looked up in an
    index (an unpublished name is a dependency-confusion risk in a job holding the cluster's credentials)."""
    expanded = re.sub(r"\$\{?(\w+)\}?", lambda m: variables.get(m.group(1), m.group(0)), target)
    if target == "$GITHUB_ACTION_PATH":
        return True
    if re.fullmatch(r"git\+https://[^@\s]+/sfdeclare(\.git)?@[\w.\-/]+", expanded):
        return True
    return bool(re.fullmatch(r"[\w$./{}\-]+\.whl", expanded))


def test_the_install_check_refuses_index_names() -> None:
    assert install_targets('python -m pip install --quiet "git+$R@$REF" && sfdeclare --version') == [
        "git+$R@$REF"
    ]
    assert install_targets("pip install -i https://pypi.example sfdeclare") == ["-i", "sfdeclare"]
    variables = {"R": "https://github.com/YOUR_ORG/sfdeclare", "REF": "v0.1.0"}
    assert installs_what_exists("git+$R@$REF", variables)
    assert installs_what_exists("dist/sfdeclare-0.1.0-py3-none-any.whl", variables)
    for bad in ("sfdeclare", "sfdeclare==0.1.0", "-i", "git+$R", "git+https://github.com/x/sfdeclare", "./"):
        assert not installs_what_exists(bad, variables), bad


def test_every_install_line_names_the_repository_or_a_local_wheel() -> None:
    azure = _azure()
    variables = {v["name"]: str(v["value"]) for v in azure["variables"] if "name" in v}
    assert variables["SFDECLARE_REPOSITORY"] == "https://github.com/YOUR_ORG/sfdeclare"
    sources = {
        "azure": list(_scripts(azure["stages"], ("script", "bash"))),
        "github": list(_scripts(_github()["jobs"], ("run",))),
        "action": list(_scripts(_action()["runs"], ("run",))),
        "docs": [
            block
            for doc in (ROOT / "README.md", ROOT / "docs" / "ci.md")
            for block in re.findall(
                r"```(?:sh|console|bash)\n(.*?)```", doc.read_text(encoding="utf-8"), re.S
            )
        ],
    }
    found = {}
    for where, scripts in sources.items():
        targets = [t for script in scripts for t in install_targets(script.replace("$ ", ""))]
        found[where] = targets
        assert all(installs_what_exists(t, variables) for t in targets), (where, targets)
    assert found["azure"] and set(found["azure"]) == {"git+$SFDECLARE_REPOSITORY@$SFDECLARE_REF"}
    assert found["action"] == ["$GITHUB_ACTION_PATH"]
    assert found["github"] == []  # the GitHub recipe installs through the action (its uses: line pins it)
    assert any(t.startswith("git+https://github.com/YOUR_ORG/sfdeclare@") for t in found["docs"])  # pipx
