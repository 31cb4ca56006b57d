"""``sfdeclare emulator serve`` (serve until SIGTERM or Ctrl-C) and the clock and failure controls
(``advance``, ``clock``, ``break-storage``, ``repair-storage``, ``stop-backups``, ``start-backups``)."""

from __future__ import annotations

import json
import os
import signal
import threading
from types import FrameType
from typing import Any, TextIO
from urllib.parse import quote, urlencode

from sfdeclare.emulator.app import EmulatorApp, Request
from sfdeclare.emulator.server import EmulatorServer
from sfdeclare.emulator.state import Store
from sfdeclare.errors import SfdeclareError


def serve(
    *,
    state: str,
    topology: str | None,
    host: str,
    port: int,
    tls_cert: str | None,
    tls_key: str | None,
    client_ca: str | None,
    latency_ms: float,
    fault_rate: float,
    fault_codes: str,
    seed: int | None,
    runtime: str,
    out: TextIO,
    err: TextIO,
    chaos: str | None = None,
    clock: str | None = None,
) -> int:
    server = EmulatorServer(
        state,
        topology=topology,
        host=host,
        port=port,
        runtime=runtime,
        latency_ms=latency_ms,
        fault_rate=fault_rate,
        fault_codes=fault_codes,
        seed=seed,
        tls_cert=tls_cert,
        tls_key=tls_key,
        client_ca=client_ca,
        chaos=chaos,
        clock=clock,
    )
    stop = threading.Event()
    previous: dict[signal.Signals, Any] = {}

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    in_main_thread = threading.current_thread() is threading.main_thread()
    server.start()
    try:
        if in_main_thread:
            for sig in (signal.SIGTERM, signal.SIGINT):
                previous[sig] = signal.signal(sig, on_signal)
        out.write(f"sfdeclare emulator listening on {server.url}\n")
        out.flush()
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    err.write("sfdeclare emulator stopped\n")
    err.flush()
    return 0


# The emulator's controls on a state file (the same as its /$/Emulator/... routes, in-process).

CONTROLS = {
    "advance": ("POST", "/$/Emulator/Clock/$/Advance"),
    "clock": ("GET", "/$/Emulator/Clock"),
    "break-storage": ("POST", "/$/Emulator/BackupPolicies/{}/$/BreakStorage"),
    "repair-storage": ("POST", "/$/Emulator/BackupPolicies/{}/$/RepairStorage"),
    "stop-backups": ("POST", "/$/Emulator/Partitions/{}/$/StopBackups"),
    "start-backups": ("POST", "/$/Emulator/Partitions/{}/$/StartBackups"),
}


def control(*, state: str, action: str, argument: str | None, out: TextIO) -> int:
    """Run one control on the state file and print the clock (or what changed)."""
    if not os.path.isfile(state):
        raise SfdeclareError(
            f"{state}: no such emulator state file (create one with: sfdeclare emulator init)"
        )
    method, template = CONTROLS[action]
    target = template.format(quote(argument or "", safe=""))
    if action == "advance":
        target += "?" + urlencode({"Duration": argument or ""})
    app = EmulatorApp(Store(state))
    try:
        response = app.handle(Request(method, target))
    finally:
        app.store.close()
    if response.status >= 400:
        message = json.loads(response.body)["Error"]["Message"]
        raise SfdeclareError(f"{action}: {message}")
    if action in ("advance", "clock"):
        out.write(f"emulator clock: {json.loads(response.body)['UtcNow']}\n")
    else:
        out.write(f"{action}: {argument}\n")
    return 0
