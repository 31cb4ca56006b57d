"""The plan as the published JSON document (schemas/plan.schema.json)."""

from __future__ import annotations

import json

from sfdeclare.engine.plan import Plan, plan_to_json


def render_plan(plan: Plan) -> str:
    return json.dumps(plan_to_json(plan), indent=2, ensure_ascii=False) + "\n"
