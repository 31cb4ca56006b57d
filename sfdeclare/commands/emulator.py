"""``sfdeclare emulator serve``: serve the emulator until SIGTERM or Ctrl-C."""

from __future__ import annotations

import signal
import threading
from types import FrameType
from typing import Any, TextIO

from sfdeclare.emulator.server import EmulatorServer


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
