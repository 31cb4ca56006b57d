"""GitHub workflow annotations: errors, warnings and destructive actions appear on the pull request."""

from __future__ import annotations

from sfdeclare.engine.plan import Plan
from sfdeclare.render.annotations import annotation, diagnostic_annotation
from sfdeclare.render.changes import verb
from sfdeclare.render.summaries import plan_line


def render_plan(plan: Plan, *, color: bool = False) -> str:
    """Annotations for the plan's diagnostics and destructive actions, then the summary as a notice."""
    lines = [diagnostic_annotation(d) for d in plan.diagnostics]
    for c in plan.changes:
        if not c.destructive:
            continue
        loc = c.location
        lines.append(
            annotation(
                "warning",
                f"destructive: {c.address} {verb(c)} ({c.reason})",
                file=loc.file if loc else None,
                line=loc.line if loc else None,
                col=loc.column if loc else None,
            )
        )
    lines.append(annotation("notice", plan_line(plan)))
    return "".join(line + "\n" for line in lines)
