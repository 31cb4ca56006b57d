"""The plan as the published JSON document (schemas/plan.schema.json; written by engine/planfile.py)."""

from __future__ import annotations

from sfdeclare.engine import planfile
from sfdeclare.engine.plan import Plan
from sfdeclare.render.summaries import plan_line


def render_plan(plan: Plan, *, color: bool = False) -> str:
    return planfile.dump(plan, plan_line(plan))
