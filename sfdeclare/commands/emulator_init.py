"""`sfdeclare emulator init`: create (or re-topologise) an emulator state file without serving it."""

from __future__ import annotations

from typing import TextIO

from sfdeclare.emulator.state import init_state


def run(*, state: str, topology: str | None, out: TextIO) -> int:
    init_state(state, topology)
    target = f"emulator:{state}"
    out.write(
        f"Emulator state ready in {state}; use --endpoint {target} (or serve it with: sfdeclare emulator serve --state {state})\n"
    )
    return 0
