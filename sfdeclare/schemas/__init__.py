"""The JSON schemas the package ships (identical copies of the repository's schemas/ folder)."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any


@functools.cache
def load_schema(name: str) -> dict[str, Any]:
    """``load_schema("plan")`` -> the parsed ``schemas/plan.schema.json``."""
    text = resources.files("sfdeclare").joinpath(f"schemas/{name}.schema.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data
