"""The human plan, read like Terraform's: a legend, one block per action in apply order, a summary line."""

from __future__ import annotations

from sfdeclare.engine.plan import PHASE_NAMES, Plan
from sfdeclare.render.common import LEGEND, detail_lines, symbol, verb
from sfdeclare.render.summaries import effective_text, plan_line

_RED, _GREEN, _YELLOW, _BOLD, _RESET = "\033[31m", "\033[32m", "\033[33m", "\033[1m", "\033[0m"
EFFECTIVE_SHOWN = 50


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color else text


def render_plan(plan: Plan, *, color: bool = False) -> str:
    if plan.empty:
        return plan_line(plan) + "\n"
    lines = [LEGEND, ""]
    for phase, changes in plan.phases():
        lines.append(_paint(f"# phase {phase}: {PHASE_NAMES[phase]}", _BOLD, color))
        for c in changes:
            mark = "!!" if c.destructive else symbol(c)
            code = _RED if mark in ("-", "!!") else _GREEN if mark == "+" else _YELLOW
            head = f"  {mark} {c.address} {verb(c)}" + ("  (destructive)" if c.destructive else "")
            lines.append(_paint(head, code, color))
            lines.append(f"      reason: {c.reason}")
            lines.extend(f"      {line}" for line in detail_lines(c))
            if c.depends_on:
                lines.append(f"      waits for: {', '.join(c.depends_on)}")
        lines.append("")
    if plan.effective_changes:
        lines.append(_paint("Effective backup changes:", _BOLD, color))
        for e in plan.effective_changes[:EFFECTIVE_SHOWN]:
            lines.append(f"  {e.address}: {effective_text(e.before)} -> {effective_text(e.after)}")
        hidden = len(plan.effective_changes) - EFFECTIVE_SHOWN
        if hidden > 0:
            lines.append(f"  ... and {hidden} more (see --format json)")
        lines.append("")
    lines.append(_paint(plan_line(plan), _BOLD, color))
    return "\n".join(lines) + "\n"
