"""The human plan, read like Terraform's: a legend, one block per action in apply order, the effective changes,
the impact on backups, a summary line. ``complete`` (what ``show`` prints, the pipeline's readable artifact) adds
the warnings and lists every effective change instead of the first 50."""

from __future__ import annotations

from sfdeclare.engine.plan import PHASE_NAMES, Plan
from sfdeclare.render import impact
from sfdeclare.render.changes import LEGEND, detail_lines, symbol, verb
from sfdeclare.render.common import BOLD, GREEN, RED, YELLOW, paint
from sfdeclare.render.summaries import effective_text, plan_line

EFFECTIVE_SHOWN = 50


def render_plan(plan: Plan, *, color: bool = False, complete: bool = False) -> str:
    warnings = _warnings(plan) if complete else []
    if plan.empty:
        return "\n".join([*warnings, plan_line(plan)]) + "\n"
    lines = [LEGEND, ""]
    for phase, changes in plan.phases():
        lines.append(paint(f"# phase {phase}: {PHASE_NAMES[phase]}", BOLD, color))
        for c in changes:
            mark = "!!" if c.destructive else symbol(c)
            code = RED if mark in ("-", "!!") else GREEN if mark == "+" else YELLOW
            head = f"  {mark} {c.address} {verb(c)}" + ("  (destructive)" if c.destructive else "")
            lines.append(paint(head, code, color))
            lines.append(f"      reason: {c.reason}")
            lines.extend(f"      {line}" for line in detail_lines(c))
            if c.depends_on:
                lines.append(f"      waits for: {', '.join(c.depends_on)}")
        lines.append("")
    if plan.effective_changes:
        lines.append(paint("Effective backup changes:", BOLD, color))
        shown = len(plan.effective_changes) if complete else EFFECTIVE_SHOWN
        for e in plan.effective_changes[:shown]:
            deleted = "  (stored backups deleted)" if e.backups_deleted else ""
            lines.append(f"  {e.address}: {effective_text(e.before)} -> {effective_text(e.after)}{deleted}")
        hidden = len(plan.effective_changes) - shown
        if hidden > 0:
            lines.append(f"  ... and {hidden} more (see --format json)")
        lines.append("")
    if plan.impact is not None:
        head, *rest = impact.text_lines(plan.impact)
        lines += [paint(head, BOLD, color), *rest, ""]
    if warnings:
        lines += [*warnings, ""]
    lines.append(paint(plan_line(plan), BOLD, color))
    return "\n".join(lines) + "\n"


def _warnings(plan: Plan) -> list[str]:
    if not plan.diagnostics:
        return []
    return ["Warnings:", *(f"  {d}" for d in plan.diagnostics)]
