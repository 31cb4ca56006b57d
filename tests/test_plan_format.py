"""The published plan format: every plan the planner makes validates, and the packaged schema is the same file."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from sfdeclare.engine.plan import Plan
from sfdeclare.engine.planfile import checksum, to_json
from sfdeclare.engine.planner import plan
from sfdeclare.render.summaries import plan_line

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("name", ["plan.schema.json", "report.schema.json"])
def test_packaged_schema_is_identical(name: str) -> None:
    assert (ROOT / "schemas" / name).read_bytes() == (ROOT / "sfdeclare" / "schemas" / name).read_bytes()


def plan_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads((ROOT / "schemas" / "plan.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def sample_plans() -> list[Plan]:
    from test_planner import APP, SVC, body, decl, live, live_body, settings

    from sfdeclare.model.addresses import EntityRef
    from sfdeclare.model.declaration import ServiceDecl

    return [
        plan(decl(settings("Daily")), live({EntityRef(APP): "Daily"})),
        plan(decl(settings("Daily")), live(policies={})),
        plan(
            decl(
                settings("Daily"), (ServiceDecl(SVC, settings(clean=True)),), policies={"Daily": body("PT2H")}
            ),
            live({EntityRef(APP): "Daily", EntityRef(APP, SVC): "Daily"}, policies={"Daily": live_body()}),
        ),
    ]


def test_planner_output_validates_and_checksums() -> None:
    validator = plan_validator()
    for p in sample_plans():
        data = to_json(p, plan_line(p))
        errors = sorted(validator.iter_errors(data), key=str)
        assert not errors, errors[0]
        assert data["checksum"] == checksum(data)
        data["endpoint"] = "https://another-cluster:19080"
        assert data["checksum"] != checksum(data)
