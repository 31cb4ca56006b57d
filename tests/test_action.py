"""The GitHub Action (action.yml), run as the runner runs a composite action: its inputs resolved into each
step's env:, each ``run:`` script executed by ``bash --noprofile --norc -eo pipefail``, outputs read back from the
GITHUB_OUTPUT file, against an emulated cluster. Only the install step is replaced (by the sfdeclare already
installed next to this Python; tests/test_release.py runs it for real), and the sticky comment talks to a
loopback stand-in for GitHub's issue-comments endpoints.

The expression evaluator understands only what action.yml uses (``inputs.X``, ``steps.ID.outputs.X``,
``github.token``, ``always()``, ``==``, ``!=``, ``&&``) and fails on anything else, which keeps action.yml simple.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from sfdeclare.emulator.state import init_state

ROOT = Path(__file__).resolve().parent.parent
ACTION = ROOT / "action.yml"
CALC = ROOT / "examples" / "calc"
_BIN = Path(sys.executable).parent
SECRET = "DefaultEndpointsProtocol=https;AccountName=ci;AccountKey=s3cr3t-canary"
PEM = "-----BEGIN CERTIFICATE-----\nTUlJ-canary-pem\n-----END CERTIFICATE-----"


def _action() -> dict[str, Any]:
    data = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def parse_github_output(text: str) -> dict[str, str]:
    """The GITHUB_OUTPUT file format: ``name=value`` lines and ``name<<DELIMITER`` ... ``DELIMITER`` blocks."""
    out: dict[str, str] = {}
    lines = iter(text.splitlines())
    for line in lines:
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            name, delimiter = line.split("<<", 1)
            body = []
            for inner in lines:
                if inner == delimiter:
                    break
                body.append(inner)
            else:
                raise AssertionError(f"unterminated {name}<<{delimiter}")
            out[name] = "\n".join(body)
        elif line:
            name, value = line.split("=", 1)
            out[name] = value
    return out


@dataclass
class Context:
    inputs: dict[str, str]
    steps: dict[str, dict[str, str]] = field(default_factory=dict)
    failed: bool = False

    def value(self, ref: str) -> str:
        ref = ref.strip()
        if m := re.fullmatch(r"'([^']*)'", ref):
            return m.group(1)
        if m := re.fullmatch(r"inputs\.([\w-]+)", ref):
            return self.inputs[m.group(1)]
        if m := re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", ref):
            return self.steps.get(m.group(1), {}).get(m.group(2), "")
        if ref == "github.token":
            return "test-token"
        raise AssertionError(f"expression this test does not model: {ref}")

    def expand(self, text: str) -> str:
        return re.sub(r"\$\{\{(.*?)\}\}", lambda m: self.value(m.group(1)), text)

    def condition(self, text: str) -> bool:
        ok = True
        for term in text.split("&&"):
            term = term.strip()
            if term == "always()":
                continue
            m = re.fullmatch(r"(.+?)\s*(==|!=)\s*(.+)", term)
            assert m, f"condition this test does not model: {term}"
            equal = self.value(m.group(1)) == self.value(m.group(3))
            ok = ok and (equal if m.group(2) == "==" else not equal)
        if "always()" not in text and self.failed:
            return False
        return ok


@dataclass
class Result:
    returncode: int
    outputs: dict[str, str]
    log: str
    ran: list[str]


def run_action(inputs: dict[str, str], *, cwd: Path, env: dict[str, str], bin_dir: Path) -> Result:
    """Runs action.yml's steps like the runner; the install step's output is ``bin_dir``."""
    action = _action()
    unknown = set(inputs) - set(action["inputs"])
    assert not unknown, unknown
    defaults = {name: str(spec.get("default", "")) for name, spec in action["inputs"].items()}
    ctx = Context({**defaults, **inputs})
    ctx.inputs = {name: ctx.expand(value) for name, value in ctx.inputs.items()}
    returncode, log, ran = 0, [], []
    for index, step in enumerate(action["runs"]["steps"]):
        step_id = step.get("id", f"__{index}")
        if "if" in step and not ctx.condition(step["if"]):
            continue
        if "if" not in step and ctx.failed:
            continue
        ran.append(step_id)
        if step_id == "install":
            ctx.steps["install"] = {"bin": str(bin_dir)}
            continue
        assert step["shell"] == "bash" and "run" in step and "${{" not in step["run"]
        output = cwd / f".github_output_{index}"
        output.write_text("")
        step_env = {**env, "GITHUB_OUTPUT": str(output)}
        step_env.update({k: ctx.expand(str(v)) for k, v in step.get("env", {}).items()})
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step["run"]],
            cwd=cwd,
            env=step_env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        log.append(proc.stdout + proc.stderr)
        ctx.steps[step_id] = parse_github_output(output.read_text())
        if proc.returncode != 0:
            ctx.failed, returncode = True, proc.returncode
    outputs = {name: ctx.expand(spec["value"]) for name, spec in action["outputs"].items()}
    return Result(returncode, outputs, "".join(log), ran)


@pytest.fixture
def runner(tmp_path: Path) -> dict[str, Any]:
    """A workspace laid out as the recipe expects (the configuration in sfdeclare/), an emulated cluster, and
    a ``bin`` whose sfdeclare records its arguments and environment, then runs the real one."""
    real = shutil.which("sfdeclare", path=str(_BIN))
    if real is None:
        pytest.skip("the sfdeclare console script is not installed next to this Python")
    workspace = tmp_path / "workspace"
    (workspace / "sfdeclare").mkdir(parents=True)
    shutil.copy2(CALC / "sfdeclare.yaml", workspace / "sfdeclare" / "calc.yaml")
    state = tmp_path / "cluster.state"
    init_state(str(state), str(CALC / "cluster" / "topology.yaml"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "record"
    shim = bin_dir / "sfdeclare"
    shim.write_text(
        "#!/bin/bash\n"
        f'{{ printf "argv:%s\\n" "$*"; cert="$PWD/sfdeclare/.secrets/client.pem";'
        ' [ -f "$cert" ] && echo "cert-mode:$(stat -c %a "$cert") cert-body:$(head -c 27 "$cert")";'
        ' echo "store:${BACKUP_STORE_1:-unset}"; echo "endpoint:${SFDECLARE_ENDPOINT:-unset}";'
        ' env | cut -d= -f1 | grep "^INPUT_" | tr "\\n" " "; echo; }'
        f' >> "{record}"\n'
        f'exec "{real}" "$@"\n'
    )
    shim.chmod(0o755)
    (tmp_path / "temp").mkdir()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "NO_COLOR": "1",
        "RUNNER_TEMP": str(tmp_path / "temp"),
        "GITHUB_ACTION_PATH": str(ROOT),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
    }
    if "PYTHONPATH" in os.environ:
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    return {
        "cwd": workspace,
        "env": env,
        "bin_dir": bin_dir,
        "endpoint": f"emulator:{state}",
        "record": record,
    }


def _run(runner: dict[str, Any], **inputs: str) -> Result:
    return run_action(
        {k.replace("_", "-"): v for k, v in inputs.items()},
        cwd=runner["cwd"],
        env=runner["env"],
        bin_dir=runner["bin_dir"],
    )


def _records(runner: dict[str, Any]) -> str:
    path: Path = runner["record"]
    return path.read_text() if path.exists() else ""


def test_the_action_plans_applies_and_checks_drift_passing_exit_codes_through(runner: dict[str, Any]) -> None:
    endpoint = runner["endpoint"]
    valid = _run(runner, command="validate")
    assert (valid.returncode, valid.outputs["exit-code"], valid.outputs["changes"]) == (0, "0", "false")
    assert "argv:validate --format github sfdeclare/" in _records(runner)

    plan = _run(runner, command="plan", endpoint=endpoint)
    assert plan.returncode == 0, plan.log  # exit 2 is an outcome, not a failure ...
    assert (plan.outputs["exit-code"], plan.outputs["changes"]) == ("2", "true")  # ... passed through
    plan_file = Path(plan.outputs["plan-file"])
    assert plan_file.name == "plan.json" and json.loads(plan_file.read_text())["actions"]
    markdown = Path(plan.outputs["markdown-file"]).read_text()
    assert markdown.startswith("### sfdeclare plan") and plan.outputs["markdown"] == markdown.rstrip("\n")
    assert "### sfdeclare plan" in Path(runner["env"]["GITHUB_STEP_SUMMARY"]).read_text()
    assert "exit 2: changes to review" in plan.log
    # the whole plan as text, from the plan file, for the artifact
    plan_text = Path(plan.outputs["plan-text-file"]).read_text()
    assert plan_text.startswith("Actions are marked:") and "Impact on backups" in plan_text
    assert f"argv:show {plan_file}" in _records(runner)
    assert "comment" not in " ".join(plan.ran)  # comment: false by default
    strict = _run(runner, command="plan", endpoint=endpoint, fail_on_changes="true")
    assert strict.returncode == 2 and strict.outputs["exit-code"] == "2"

    drift = _run(runner, command="drift", endpoint=endpoint)
    assert drift.returncode == 0 and drift.outputs["exit-code"] == "2" and drift.outputs["changes"] == "true"
    assert "### sfdeclare drift" in drift.outputs["markdown"]

    apply = _run(
        runner,
        command="apply",
        endpoint=endpoint,
        plan_file=str(plan_file),
        format="junit",
        env=f"\nBACKUP_STORE_1={SECRET}\n",
        client_cert_pem=PEM,
    )
    assert apply.returncode == 0, apply.log
    assert apply.outputs["exit-code"] == "0" and apply.outputs["plan-file"] == str(plan_file)
    report = Path(apply.outputs["report-file"])
    assert report.suffix == ".xml" and 'failures="0"' in report.read_text()
    assert apply.outputs["markdown"] == "" and apply.outputs["markdown-file"] == ""
    last = _records(runner).splitlines()[-5:]
    assert last[0] == f"argv:apply --plan {plan_file} --report {report} --report-format junit sfdeclare/"
    # the certificate exists, private, only while sfdeclare runs; the credentials reach sfdeclare alone
    assert last[1] == "cert-mode:600 cert-body:-----BEGIN CERTIFICATE-----"
    assert last[2:4] == [f"store:{SECRET}", f"endpoint:{endpoint}"]
    assert (
        "INPUT_COMMAND" in last[4] and "INPUT_ENV" not in last[4] and "INPUT_CLIENT_CERT_PEM" not in last[4]
    )
    assert not (runner["cwd"] / "sfdeclare" / ".secrets" / "client.pem").exists()
    assert SECRET not in apply.log + json.dumps(apply.outputs) and "canary-pem" not in apply.log

    converged = _run(runner, command="plan", endpoint=endpoint)
    assert (converged.returncode, converged.outputs["exit-code"], converged.outputs["changes"]) == (
        0,
        "0",
        "false",
    )
    assert _run(runner, command="drift", endpoint=endpoint).outputs["exit-code"] == "0"
    # status, as the scheduled job runs it next to drift: nothing is due right after apply (0), and a problem
    # (2) is an outcome passed through with its Markdown for the one issue, not a failed step
    status = _run(runner, command="status", endpoint=endpoint, format="markdown")
    assert (status.returncode, status.outputs["exit-code"]) == (0, "0"), status.log
    assert status.outputs["markdown"].startswith("### sfdeclare status")
    overdue = "--since 2020-01-01T00:00:00Z --now 2030-01-01T00:00:00Z"
    late = _run(runner, command="status", endpoint=endpoint, format="markdown", args=overdue)
    assert (late.returncode, late.outputs["exit-code"], late.outputs["changes"]) == (0, "2", "true")
    assert "<summary>Problems (3)</summary>" in Path(late.outputs["markdown-file"]).read_text()
    stale = _run(
        runner, command="apply", endpoint=endpoint, plan_file=str(plan_file), env=f"BACKUP_STORE_1={SECRET}"
    )
    assert stale.returncode == 1 and stale.outputs["exit-code"] == "1"
    assert "a refused (stale) plan changed nothing" in stale.log
    assert stale.outputs["report-file"].endswith("/report.md")  # apply's default report format: Markdown ...
    assert stale.outputs["markdown-file"] == ""  # ... but a refused plan wrote none, and none is claimed


def test_the_action_fails_on_errors_with_one_clear_line(runner: dict[str, Any]) -> None:
    endpoint = runner["endpoint"]
    (runner["cwd"] / "bad.yaml").write_text("version: 1\npolicies: []\n")
    invalid = _run(runner, command="validate", paths="bad.yaml")
    assert invalid.returncode == 1 and invalid.outputs["exit-code"] == "1"
    assert "::error file=bad.yaml,line=2" in invalid.log

    broken = _run(runner, command="drift", paths="missing/", endpoint=endpoint)
    assert broken.returncode == 1 and broken.outputs["exit-code"] == "1"
    assert "sfdeclare drift failed (exit 1): see the job log." in broken.outputs["markdown"]

    before = _records(runner)
    for inputs, message in (
        (
            {"command": "destroy"},
            "input command must be validate, plan, apply, drift or status, not 'destroy'",
        ),
        ({"command": "apply"}, "apply needs input plan-file"),
        ({"command": "plan", "paths": " \n "}, "input paths is empty"),
        (
            {"command": "plan", "env": "OK=1\ns3cr3t-pasted-without-a-name"},
            "input env, line 2: expected NAME=VALUE",
        ),
        (
            {"command": "apply", "plan-file": "p.json", "format": "text"},
            "for apply, input format is the report",
        ),
    ):
        result = _run(runner, **{k.replace("-", "_"): v for k, v in inputs.items()})
        assert result.returncode == 1 and result.outputs["exit-code"] == "1", inputs
        assert f"::error title=sfdeclare action::{message}" in result.log, result.log
        assert "s3cr3t" not in result.log
    assert _records(runner) == before  # none of them ran sfdeclare


def test_the_action_passes_status_and_extra_arguments_through(runner: dict[str, Any]) -> None:
    status = _run(
        runner, command="status", paths="sfdeclare/ other.yaml", args="--parallelism 4", format="json"
    )
    assert "argv:status --format json --parallelism 4 sfdeclare/ other.yaml" in _records(runner)
    assert status.outputs["exit-code"] == str(status.returncode)  # whatever sfdeclare answers, passed through
    target = "service[fabric:/CalcApp/CalcService]"
    (runner["cwd"] / "service[fabric:").mkdir()  # a glob would match this; the action must not glob
    plan = _run(runner, command="plan", endpoint=runner["endpoint"], args=f"--target {target}")
    assert plan.outputs["exit-code"] == "2" and f"--target {target} sfdeclare/" in _records(runner)


# --- the sticky comment ---------------------------------------------------------------------------------------


class FakeGitHub(BaseHTTPRequestHandler):
    """GitHub's issue-comment endpoints for one repository, in memory (the shapes the REST API documents)."""

    comments: list[dict[str, Any]]
    requests: list[str]

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        return body

    def do_GET(self) -> None:
        self.requests.append(f"GET {self.path}")
        assert self.headers["Authorization"] == "Bearer test-token"
        m = re.fullmatch(r"/repos/o/r/issues/7/comments\?per_page=100&page=(\d+)", self.path)
        assert m, self.path
        page = int(m.group(1))
        self._reply(200, self.comments[(page - 1) * 100 : page * 100])

    def do_POST(self) -> None:
        self.requests.append(f"POST {self.path}")
        assert self.path == "/repos/o/r/issues/7/comments"
        comment = {"id": 1000 + len(self.comments), "body": self._body()["body"], "user": {"type": "Bot"}}
        self.comments.append(comment)
        self._reply(201, comment)

    def do_PATCH(self) -> None:
        self.requests.append(f"PATCH {self.path}")
        m = re.fullmatch(r"/repos/o/r/issues/comments/(\d+)", self.path)
        assert m, self.path
        comment = next(c for c in self.comments if c["id"] == int(m.group(1)))
        comment["body"] = self._body()["body"]
        self._reply(200, comment)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def github_api(runner: dict[str, Any], tmp_path: Path) -> Iterator[type[FakeGitHub]]:
    handler: type[FakeGitHub] = type("Handler", (FakeGitHub,), {"comments": [], "requests": []})
    handler.comments.extend(
        {"id": i, "body": "a human quoting <!-- sfdeclare-plan -->", "user": {"type": "User"}}
        for i in range(150)
    )
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"pull_request": {"number": 7}}))
    runner["env"].update(
        {
            "GITHUB_API_URL": f"http://127.0.0.1:{server.server_port}",
            "GITHUB_SERVER_URL": "https://github.example",
            "GITHUB_REPOSITORY": "o/r",
            "GITHUB_RUN_ID": "42",
            "GITHUB_EVENT_PATH": str(event),
        }
    )
    try:
        yield handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_the_comment_is_created_once_then_edited_in_place(
    runner: dict[str, Any], github_api: type[FakeGitHub]
) -> None:
    endpoint = runner["endpoint"]
    first = _run(runner, command="plan", endpoint=endpoint, comment="true")
    assert first.returncode == 0, first.log
    ours = [c for c in github_api.comments if c["body"].startswith("<!-- sfdeclare-plan -->")]
    assert len(ours) == 1 and "### sfdeclare plan" in ours[0]["body"] and "[run 42]" in ours[0]["body"]
    assert "?per_page=100&page=2" in " ".join(github_api.requests)  # it read past the first page

    failed = _run(runner, command="plan", paths="missing/", endpoint=endpoint, comment="true")
    assert failed.returncode == 1  # the comment still runs: it must not keep showing the old plan
    ours = [c for c in github_api.comments if c["body"].startswith("<!-- sfdeclare-plan -->")]
    assert len(ours) == 1 and "sfdeclare plan failed (exit 1)" in ours[0]["body"]
    assert github_api.requests[-1] == f"PATCH /repos/o/r/issues/comments/{ours[0]['id']}"

    _run(runner, command="drift", endpoint=endpoint, comment="true", comment_id="drift-prod")
    assert [c["body"].split("\n", 1)[0] for c in github_api.comments[150:]] == [
        "<!-- sfdeclare-plan -->",
        "<!-- sfdeclare-drift-prod -->",
    ]
    assert all(c["body"] == "a human quoting <!-- sfdeclare-plan -->" for c in github_api.comments[:150])


def test_no_comment_outside_a_pull_request(runner: dict[str, Any], github_api: type[FakeGitHub]) -> None:
    Path(runner["env"]["GITHUB_EVENT_PATH"]).write_text(json.dumps({"schedule": "17 5 * * *"}))
    result = _run(runner, command="drift", endpoint=runner["endpoint"], comment="true")
    assert result.returncode == 0 and "not a pull-request event: no comment" in result.log
    assert github_api.requests == []
