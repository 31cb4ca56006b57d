"""`sfdeclare emulator init`: create (or re-topologise, or upgrade) an emulator state file without serving it."""

from __future__ import annotations

from typing import TextIO

from sfdeclare.emulator.clock import configure, parse_utc
from sfdeclare.emulator.fabric_errors import FabricFault
from sfdeclare.emulator.runtimes import DEFAULT_RUNTIME, RUNTIMES, build_of
from sfdeclare.emulator.state import Store, init_state, stored_runtime
from sfdeclare.errors import SfdeclareError

__all__ = ["DEFAULT_RUNTIME", "RUNTIMES", "run"]  # the CLI offers the runtimes the emulator knows


def run(
    *,
    state: str,
    topology: str | None,
    out: TextIO,
    runtime: str | None = None,
    clock: str | None = None,
    clock_start: str | None = None,
) -> int:
    start = None
    if clock_start is not None:
        try:
            start = parse_utc(clock_start, "--clock-start")
        except FabricFault as fault:
            raise SfdeclareError(fault.message) from None
    init_state(state, topology, runtime)
    store = Store(state)
    try:
        if clock is not None or start is not None:
            with store.write() as tx:
                configure(tx, clock, start)
        with store.read() as tx:
            current = stored_runtime(tx)
    except ValueError as exc:
        raise SfdeclareError(str(exc)) from None
    finally:
        store.close()
    target = f"emulator:{state}"
    out.write(
        f"Emulator state ready in {state} (runtime {current}, build {build_of(current)}); use --endpoint {target}"
        f" (or serve it with: sfdeclare emulator serve --state {state})\n"
    )
    return 0
