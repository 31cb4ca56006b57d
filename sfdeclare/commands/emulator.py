"""``sfdeclare emulator``: the local Service Fabric backup emulator. ``init`` a state file, ``serve`` it (until
SIGTERM or Ctrl-C), and the clock and failure controls (``advance``, ``clock``, ``break-storage``,
``repair-storage``, ``stop-backups``, ``start-backups``), and services that come and go
(``recreate-service``, ``remove-service``: ``commands/emulator_services.py``).

The emulator itself is loaded only when one of these runs: every other command starts without it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
from types import FrameType
from typing import Any, TextIO
from urllib.parse import quote, urlencode

from sfdeclare.commands import emulator_services
from sfdeclare.emulator.modes import CHAOS_MODES
from sfdeclare.emulator.runtimes import DEFAULT_RUNTIME, RUNTIMES
from sfdeclare.errors import EXIT_OK, SfdeclareError

CLOCKS = ("virtual", "real")

# The emulator's controls on a state file (the same as its /$/Emulator/... routes, in-process).
CONTROLS = {
    "advance": ("POST", "/$/Emulator/Clock/$/Advance"),
    "clock": ("GET", "/$/Emulator/Clock"),
    "break-storage": ("POST", "/$/Emulator/BackupPolicies/{}/$/BreakStorage"),
    "repair-storage": ("POST", "/$/Emulator/BackupPolicies/{}/$/RepairStorage"),
    "stop-backups": ("POST", "/$/Emulator/Partitions/{}/$/StopBackups"),
    "start-backups": ("POST", "/$/Emulator/Partitions/{}/$/StartBackups"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="emulator_command", metavar="COMMAND")
    commands.required = True

    p = commands.add_parser("init", help="create a state file from a topology, for --endpoint emulator:FILE")
    p.add_argument("--state", required=True, help="state file to create or update")
    p.add_argument("--topology", help="topology file (YAML or JSON)")
    p.add_argument(
        "--runtime",
        choices=list(RUNTIMES),
        help=f"the cluster's Service Fabric runtime (a new state: {DEFAULT_RUNTIME})",
    )
    p.add_argument("--clock", choices=list(CLOCKS), help="the backup clock (a new state: virtual)")
    p.add_argument("--clock-start", metavar="TIME", help="set the virtual clock to this UTC date-time")
    p.set_defaults(run=init)

    p = commands.add_parser("serve", help="serve the emulator over HTTP(S)")
    p.add_argument("--state", required=True, help="state file (created when missing)")
    p.add_argument("--topology", help="topology file (YAML or JSON) to load into the state")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=19080, help="0 picks a free port")
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--client-ca", help="require client certificates signed by this CA")
    p.add_argument("--latency-ms", type=float, default=0.0)
    p.add_argument("--fault-rate", type=float, default=0.0)
    p.add_argument("--fault-codes", default="503,429,504,reset", help="some of 503,429,504,reset,500")
    p.add_argument("--seed", type=int)
    p.add_argument(
        "--runtime",
        choices=list(RUNTIMES),
        help=f"record this runtime in the state first (default: the state's; a new state: {DEFAULT_RUNTIME})",
    )
    p.add_argument(
        "--chaos", choices=CHAOS_MODES, help="answer every request badly, to test a client's error handling"
    )
    p.add_argument("--clock", choices=list(CLOCKS), help="the backup clock (default: the state's)")
    p.set_defaults(run=serve)

    p = commands.add_parser("advance", help="move the virtual clock and take every backup that falls due")
    p.add_argument("--state", required=True)
    p.add_argument("duration", metavar="DURATION", help="ISO 8601, e.g. PT3H or P7D")
    p.set_defaults(run=control, argument="duration")
    p = commands.add_parser("clock", help="print the emulator's clock")
    p.add_argument("--state", required=True)
    p.set_defaults(run=control, argument=None)
    for action, what, metavar, helptext in (
        ("break-storage", "policy", "POLICY", "make periodic backups to this policy's storage fail"),
        ("repair-storage", "policy", "POLICY", "undo break-storage"),
        ("stop-backups", "partition", "PARTITION_ID", "silently stop a partition's backups"),
        ("start-backups", "partition", "PARTITION_ID", "undo stop-backups"),
    ):
        p = commands.add_parser(action, help=helptext)
        p.add_argument("--state", required=True)
        p.add_argument(what, metavar=metavar)
        p.set_defaults(run=control, argument=what)
    emulator_services.add_subcommands(commands)


def init(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Create (or re-topologise, or upgrade) an emulator state file without serving it."""
    from sfdeclare.emulator.clock import configure, parse_utc
    from sfdeclare.emulator.fabric_errors import FabricFault
    from sfdeclare.emulator.runtimes import build_of
    from sfdeclare.emulator.state import Store, init_state, stored_runtime

    state: str = args.state
    start = None
    if args.clock_start is not None:
        try:
            start = parse_utc(args.clock_start, "--clock-start")
        except FabricFault as fault:
            raise SfdeclareError(fault.message) from None
    init_state(state, args.topology, args.runtime)
    store = Store(state)
    try:
        if args.clock is not None or start is not None:
            with store.write() as tx:
                configure(tx, args.clock, start)
        with store.read() as tx:
            current = stored_runtime(tx)
    except ValueError as exc:
        raise SfdeclareError(str(exc)) from None
    finally:
        store.close()
    out.write(
        f"Emulator state ready in {state} (runtime {current}, build {build_of(current)}); "
        f"use --endpoint emulator:{state} (or serve it with: sfdeclare emulator serve --state {state})\n"
    )
    return EXIT_OK


def serve(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Serve the emulator until SIGTERM or Ctrl-C."""
    from sfdeclare.emulator.server import EmulatorServer

    server = EmulatorServer(
        args.state,
        topology=args.topology,
        host=args.host,
        port=args.port,
        runtime=args.runtime,
        latency_ms=args.latency_ms,
        fault_rate=args.fault_rate,
        fault_codes=args.fault_codes,
        seed=args.seed,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        client_ca=args.client_ca,
        chaos=args.chaos,
        clock=args.clock,
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
    return EXIT_OK


def control(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """Run one control on the state file and print the clock (or what changed)."""
    from sfdeclare.emulator.app import EmulatorApp, Request
    from sfdeclare.emulator.state import Store

    state: str = args.state
    action: str = args.emulator_command
    argument: str | None = getattr(args, args.argument) if args.argument else None
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
    return EXIT_OK
