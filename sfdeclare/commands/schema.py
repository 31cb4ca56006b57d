"""`sfdeclare schema`: print a JSON schema the package ships (the configuration's, by default)."""

from __future__ import annotations

import json
from typing import TextIO

from sfdeclare.schemas import load_schema

SCHEMAS = ("sfdeclare", "plan", "report", "drift")


def run(name: str, *, out: TextIO) -> int:
    out.write(json.dumps(load_schema(name), indent=2, ensure_ascii=False) + "\n")
    return 0
