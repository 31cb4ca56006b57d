"""What apply shows and writes: the progress line on a terminal, a line per action elsewhere, the reports."""

from __future__ import annotations

import io
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema

from sfdeclare import schemas
from sfdeclare.engine.applier import ActionResult, ApplyResult
from sfdeclare.engine.plan import Action, Change, Plan, ordered
from sfdeclare.model.addresses import EntityRef, PolicyRef
from sfdeclare.model.scope import ReadScope
from sfdeclare.render import github, report
from sfdeclare.render.progress import Progress
from sfdeclare.render.report import ApplyReport
from sfdeclare.servicefabric.routes import ApiOptions, create_policy, disable_backup, enable_backup

GOLDEN = Path(__file__).resolve().parent / "data" / "golden"
API = ApiOptions()
BODY = {"MaxIncrementalBackups": 1, "Schedule": {"ScheduleKind": "FrequencyBased", "Interval": "PT1H"}}


def sample() -> tuple[Plan, ApplyResult]:
    app, svc = EntityRef("fabric:/A"), EntityRef("fabric:/A", "fabric:/A/S")
    create = Change(
        PolicyRef("P"), Action.CREATE_POLICY, None, BODY, "declared", create_policy("P", BODY, API)
    )
    enable = Change(
        app,
        Action.ENABLE_BACKUP,
        None,
        "P",
        "declared",
        enable_backup(app, "P", API),
        depends_on=(create.id,),
    )
    disable = Change(
        svc,
        Action.DISABLE_BACKUP,
        "Q",
        None,
        "undeclared",
        disable_backup(svc, True, API),
        destructive=True,
    )
    plan = Plan(
        "0.1.0",
        "emulator:/x",
        "6.4",
        "slash",
        "c",
        "sha256:" + "0" * 64,
        ReadScope(),
        ordered([create, enable, disable]),
    )
    results = (
        ActionResult(create, "failed", 3, 0.5, "E_INVALIDARG", "Invalid Arguments."),
        ActionResult(enable, "skipped", waited_for=create.id, message=f"{create.id} did not apply"),
        ActionResult(disable, "applied", 1, 0.1, note=None),
    )
    return plan, ApplyResult(results, False, 3)


def test_markdown_report_is_golden() -> None:
    plan, result = sample()
    text = report.render_markdown(ApplyReport(plan, result, converged=False, remainder=(plan.changes[0],)))
    path = GOLDEN / "apply-report.md"
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert text == path.read_text()


def test_json_report_validates_and_junit_has_a_case_per_action() -> None:
    plan, result = sample()
    data = report.report_json(ApplyReport(plan, result, converged=True))
    jsonschema.Draft202012Validator(schemas.load("report")).validate(data)
    assert data["summary"] == {
        "planned": 3,
        "applied": 1,
        "failed": 1,
        "skipped": 1,
        "not_started": 0,
        "interrupted": False,
        "converged": True,
    }
    suite = ET.fromstring(report.render_junit(ApplyReport(plan, result, converged=True)))[0]
    cases = suite.findall("testcase")
    assert len(cases) == 4 and suite.get("failures") == "1" and suite.get("skipped") == "1"
    failure = cases[0].find("failure")
    assert failure is not None and "E_INVALIDARG" in failure.get("message", "")


def test_progress_is_one_live_line_on_a_terminal_and_a_line_per_action_elsewhere() -> None:
    _, result = sample()
    out, err = io.StringIO(), io.StringIO()
    ci = Progress(3, out, err, live=False)
    for r in result.results:
        ci.on_result(r)
    lines = out.getvalue().splitlines()
    assert lines[0].startswith(
        "failed: create_policy policy[P] -- E_INVALIDARG: Invalid Arguments. [3 attempts]"
    )
    assert lines[1].startswith(
        "skipped: enable_backup application[fabric:/A] -- waited for create_policy:policy[P]"
    )
    assert lines[2].startswith("applied: disable_backup service[fabric:/A/S]")
    out, err = io.StringIO(), io.StringIO()
    tty = Progress(3, out, err, live=True)
    tty.on_phase(4)
    for r in result.results:
        tty.on_result(r)
    tty.finish()
    assert out.getvalue() == ""
    assert err.getvalue().count("\r") == 3 and "[3/3] phase 4 (disable), 1 failed" in err.getvalue()


def test_github_annotations_flag_destructive_actions() -> None:
    plan, _ = sample()
    text = github.render_plan(plan)
    assert "::warning::destructive: service[fabric:/A/S]" in text
    assert text.rstrip().splitlines()[-1].startswith("::notice::Plan: 1 policy to create")
