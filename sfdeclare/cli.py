"""Command-line wiring: the only module that knows argparse, and the one error handler.

Every subcommand is a function in ``sfdeclare.commands`` that takes plain values and streams and returns an
exit code. Here: expected errors -> one line on stderr and exit 1, Ctrl-C -> 130, anything else -> one line
(the traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Sequence
from typing import TextIO

from sfdeclare import __version__
from sfdeclare.errors import SfdeclareError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_INTERRUPTED = 130


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sfdeclare",
        description="Declarative Service Fabric periodic backup configuration: validate, plan, apply, drift.",
    )
    parser.add_argument("--version", action="version", version=f"sfdeclare {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and request logs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("validate", help="check configuration files offline")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--format", choices=["text", "json", "github"], default="text")
    _add_common(p)

    p = sub.add_parser("emulator", help="the local Service Fabric backup emulator")
    esub = p.add_subparsers(dest="emulator_command", metavar="COMMAND")
    esub.required = True
    s = esub.add_parser("serve", help="serve the emulator over HTTP(S)")
    s.add_argument("--state", required=True, help="state file (created when missing)")
    s.add_argument("--topology", help="topology file (YAML or JSON) to load into the state")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=19080, help="0 picks a free port")
    s.add_argument("--tls-cert")
    s.add_argument("--tls-key")
    s.add_argument("--client-ca", help="require client certificates signed by this CA")
    s.add_argument("--latency-ms", type=float, default=0.0)
    s.add_argument("--fault-rate", type=float, default=0.0)
    s.add_argument("--fault-codes", default="503,429,504,reset")
    s.add_argument("--seed", type=int)
    s.add_argument("--runtime", choices=["6.4", "6.2"], default="6.4")
    _add_common(s)
    return parser


def _dispatch(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.command == "validate":
        from sfdeclare.commands import validate

        return validate.run(args.paths, fmt=args.format, out=out, err=err)
    if args.command == "emulator" and args.emulator_command == "serve":
        from sfdeclare.commands import emulator

        return emulator.serve(
            state=args.state,
            topology=args.topology,
            host=args.host,
            port=args.port,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            client_ca=args.client_ca,
            latency_ms=args.latency_ms,
            fault_rate=args.fault_rate,
            fault_codes=args.fault_codes,
            seed=args.seed,
            runtime=args.runtime,
            out=out,
            err=err,
        )
    raise AssertionError(f"unhandled command {args.command!r}")


def report_error(exc: SfdeclareError, err: TextIO) -> None:
    """Every diagnostic an error carries, one per line (file:line:col first), then nothing else."""
    diagnostics = getattr(exc, "diagnostics", ())
    if not diagnostics:
        err.write(f"error: {exc}\n")
        return
    for d in diagnostics:
        err.write(f"{d}\n")
    errors = sum(1 for d in diagnostics if d.severity == "error")
    warnings = len(diagnostics) - errors
    err.write(f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}\n")


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: usage errors exit 2 by default; ours is 1
        code = exc.code if isinstance(exc.code, int) else 1
        return EXIT_ERROR if code == 2 else code
    debug = bool(getattr(args, "debug", False)) or os.environ.get("SFDECLARE_DEBUG") == "1"
    try:
        return _dispatch(args, out, err)
    except KeyboardInterrupt:
        err.write("interrupted\n")
        return EXIT_INTERRUPTED
    except SfdeclareError as exc:
        if debug:
            traceback.print_exc(file=err)
        report_error(exc, err)
        return EXIT_ERROR
    except Exception as exc:  # a bug: still one line, the traceback only on request
        if debug:
            traceback.print_exc(file=err)
        err.write(f"error: internal error: {type(exc).__name__}: {exc} (run with --debug for details)\n")
        return EXIT_ERROR


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
