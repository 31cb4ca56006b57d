"""GitHub workflow annotations: errors, warnings and destructive actions appear on the pull request."""

from __future__ import annotations

from collections.abc import Sequence

from sfdeclare.engine.plan import Plan
from sfdeclare.errors import Diagnostic
from sfdeclare.render.common import verb
from sfdeclare.render.summaries import plan_line


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _escape(text).replace(":", "%3A").replace(",", "%2C")


def annotation(
    kind: str, message: str, file: str | None = None, line: int | None = None, col: int | None = None
) -> str:
    props = []
    if file:
        props.append(f"file={_prop(file)}")
        if line:
            props.append(f"line={line}")
        if col:
            props.append(f"col={col}")
    head = f"::{kind}" + (" " + ",".join(props) if props else "")
    return f"{head}::{_escape(message)}"


def render_diagnostics(diagnostics: Sequence[Diagnostic]) -> str:
    lines = []
    for d in diagnostics:
        loc = d.location
        lines.append(
            annotation(
                d.severity,
                d.message,
                loc.file if loc else None,
                loc.line if loc else None,
                loc.column if loc else None,
            )
        )
    return "".join(line + "\n" for line in lines)


def render_plan(plan: Plan) -> str:
    lines = [render_diagnostics(plan.diagnostics).rstrip("\n")] if plan.diagnostics else []
    for c in plan.changes:
        if not c.destructive:
            continue
        loc = c.location
        lines.append(
            annotation(
                "warning",
                f"destructive: {c.address} {verb(c)} ({c.reason})",
                loc.file if loc else None,
                loc.line if loc else None,
                loc.column if loc else None,
            )
        )
    lines.append(annotation("notice", plan_line(plan)))
    return "".join(line + "\n" for line in lines)
