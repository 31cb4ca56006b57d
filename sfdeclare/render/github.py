"""GitHub workflow annotations: errors, warnings and destructive actions appear on the pull request."""

from __future__ import annotations

from collections.abc import Sequence

from sfdeclare.engine.plan import Plan
from sfdeclare.errors import Diagnostic
from sfdeclare.render.annotations import Pending, annotation, capped, diagnostic_annotation
from sfdeclare.render.changes import verb
from sfdeclare.render.summaries import plan_line


def render_plan(plan: Plan, *, color: bool = False) -> str:
    """Annotations for the plan's diagnostics and destructive actions, then the summary as a notice; beyond
    GitHub's 10 of a type per step, the rest in plain text and a notice counting them (``capped``)."""
    items = [Pending(d.severity, diagnostic_annotation(d), str(d)) for d in plan.diagnostics]
    for c in plan.changes:
        if not c.destructive:
            continue
        loc = c.location
        message = f"destructive: {c.address} {verb(c)} ({c.reason})"
        command = annotation(
            "warning",
            message,
            file=loc.file if loc else None,
            line=loc.line if loc else None,
            col=loc.column if loc else None,
        )
        items.append(Pending("warning", command, f"warning: {message}"))
    summary = plan_line(plan)
    items.append(Pending("notice", annotation("notice", summary), summary))
    lines = capped(items, full_report=FULL_REPORT)
    return "".join(line + "\n" for line in lines)


def render_diagnostics(diagnostics: Sequence[Diagnostic]) -> str:
    """A run that stopped on errors: its diagnostics as (capped) annotations."""
    items = [Pending(d.severity, diagnostic_annotation(d), str(d)) for d in diagnostics]
    return "".join(line + "\n" for line in capped(items, full_report=FULL_REPORT))


FULL_REPORT = (
    "they are listed in this step's log; `sfdeclare plan --format sarif` gives code scanning every diagnostic and "
    "`--format markdown` the whole plan"
)
