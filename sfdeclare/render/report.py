"""The apply report: JSON (the documented format), JUnit (one test case per action) and Markdown."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree as ET

from sfdeclare.engine.applier import ActionResult, ApplyResult
from sfdeclare.engine.plan import Change, Plan
from sfdeclare.render.common import cell
from sfdeclare.render.summaries import apply_line

REPORT_FORMAT_VERSION = 1


@dataclass(frozen=True)
class ApplyReport:
    """What an apply did: the plan it ran, every action's result, and the convergence check (``converged``
    is None when it was not checked; ``remainder`` is what a fresh plan still wanted)."""

    plan: Plan
    result: ApplyResult
    converged: bool | None
    remainder: tuple[Change, ...] = ()


def _result_json(r: ActionResult) -> dict[str, Any]:
    return {
        "id": r.change.id,
        "address": r.change.address,
        "action": r.change.action.value,
        "phase": r.change.phase,
        "status": r.status,
        "attempts": r.attempts,
        "duration_seconds": round(r.duration, 6),
        "code": r.code,
        "message": r.message,
        "waited_for": r.waited_for,
        "note": r.note,
        "destructive": r.change.destructive,
    }


def report_json(report: ApplyReport) -> dict[str, Any]:
    plan, result, converged, remainder = report.plan, report.result, report.converged, report.remainder
    done = {r.change.id for r in result.results}
    return {
        "format_version": REPORT_FORMAT_VERSION,
        "tool_version": plan.tool_version,
        "endpoint": plan.endpoint,
        "live_digest": plan.live_digest,
        "summary": {
            "planned": len(plan.changes),
            "applied": result.count("applied"),
            "failed": result.count("failed"),
            "skipped": result.count("skipped"),
            "not_started": result.not_started,
            "interrupted": result.interrupted,
            "converged": converged,
        },
        "summary_line": apply_line(result),
        "results": [_result_json(r) for r in result.results],
        "not_started": [c.id for c in plan.changes if c.id not in done],
        "remainder": [{"id": c.id, "address": c.address, "action": c.action.value} for c in remainder],
    }


def render_json(report: ApplyReport, *, color: bool = False) -> str:
    return json.dumps(report_json(report), indent=2) + "\n"


def render_junit(report: ApplyReport, *, color: bool = False) -> str:
    plan, result, converged, remainder = report.plan, report.result, report.converged, report.remainder
    suite = ET.Element(
        "testsuite",
        name="sfdeclare apply",
        tests=str(len(plan.changes) + (1 if converged is not None else 0)),
        failures=str(result.count("failed") + (1 if converged is False else 0)),
        skipped=str(result.count("skipped") + result.not_started),
        time=f"{sum(r.duration for r in result.results):.3f}",
    )
    by_id = {r.change.id: r for r in result.results}
    for change in plan.changes:
        case = ET.SubElement(
            suite, "testcase", classname=f"phase{change.phase}.{change.action.value}", name=change.address
        )
        r = by_id.get(change.id)
        if r is None:
            ET.SubElement(case, "skipped", message="not started (interrupted)")
            continue
        case.set("time", f"{r.duration:.3f}")
        if r.status == "failed":
            failure = ET.SubElement(case, "failure", message=f"{r.code or 'error'}: {r.message or ''}")
            failure.text = f"attempts: {r.attempts}"
        elif r.status == "skipped":
            ET.SubElement(case, "skipped", message=f"waited for {r.waited_for}")
    if converged is not None:
        case = ET.SubElement(suite, "testcase", classname="convergence", name="re-plan is empty")
        if not converged:
            failure = ET.SubElement(
                case, "failure", message=f"not converged: {len(remainder)} action(s) remain"
            )
            failure.text = "\n".join(f"{c.action.value} {c.address}" for c in remainder)
    suites = ET.Element("testsuites")
    suites.append(suite)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def render_markdown(report: ApplyReport, *, color: bool = False) -> str:
    result, converged, remainder = report.result, report.converged, report.remainder
    lines = ["### sfdeclare apply", "", f"**{apply_line(result)}**", ""]
    if converged is False:
        lines += ["> [!WARNING]", f"> Not converged: {len(remainder)} action(s) remain after apply.", ""]
    failed = [r for r in result.results if r.status != "applied"]
    if failed:
        lines += ["| status | address | action | detail |", "|---|---|---|---|"]
        for r in failed:
            detail = f"{r.code}: {r.message}" if r.status == "failed" else f"waited for `{r.waited_for}`"
            lines.append(
                f"| {r.status} | `{cell(r.change.address)}` | `{r.change.action.value}` | {cell(detail)} |"
            )
        lines.append("")
    lines += [
        "<details><summary>All actions</summary>",
        "",
        "| status | address | action | attempts |",
        "|---|---|---|---:|",
    ]
    lines += [
        f"| {r.status} | `{cell(r.change.address)}` | `{r.change.action.value}` | {r.attempts} |"
        for r in result.results
    ]
    lines += ["", "</details>", ""]
    return "\n".join(lines)
