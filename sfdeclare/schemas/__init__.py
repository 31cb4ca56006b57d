"""The JSON schemas the package ships (identical copies of the repository's schemas/ folder), loaded once."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from sfdeclare.errors import SfdeclareError

NAMES = ("sfdeclare", "plan", "report", "drift", "status", "guardrails")


@functools.cache
def load(name: str) -> dict[str, Any]:
    """``load("plan")`` -> the parsed ``schemas/plan.schema.json``; an unknown name is a one-line error."""
    if name not in NAMES:
        raise SfdeclareError(f"unknown schema {name!r} (expected one of: {', '.join(NAMES)})")
    text = resources.files("sfdeclare").joinpath(f"schemas/{name}.schema.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data
