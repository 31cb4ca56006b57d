"""`sfdeclare emulator init`: create (or re-topologise, or upgrade) an emulator state file without serving it."""

from __future__ import annotations

from typing import TextIO

from sfdeclare.emulator.runtimes import DEFAULT_RUNTIME, RUNTIMES, build_of
from sfdeclare.emulator.state import Store, init_state, stored_runtime

__all__ = ["DEFAULT_RUNTIME", "RUNTIMES", "run"]  # the CLI offers the runtimes the emulator knows


def run(*, state: str, topology: str | None, out: TextIO, runtime: str | None = None) -> int:
    init_state(state, topology, runtime)
    store = Store(state)
    try:
        with store.read() as tx:
            current = stored_runtime(tx)
    finally:
        store.close()
    target = f"emulator:{state}"
    out.write(
        f"Emulator state ready in {state} (runtime {current}, build {build_of(current)}); use --endpoint {target}"
        f" (or serve it with: sfdeclare emulator serve --state {state})\n"
    )
    return 0
