"""Command-line wiring: the only module that knows argparse, and the one error handler.

Every subcommand is a function in ``sfdeclare.commands`` that takes plain values and streams and returns an
exit code. Here: expected errors -> one line on stderr and exit 1, Ctrl-C -> 130, anything else -> one line
(the traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import traceback
from collections.abc import Sequence
from typing import TextIO

from sfdeclare import __version__
from sfdeclare.commands.debug import DEBUG
from sfdeclare.errors import DiagnosticsError, SfdeclareError

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_CHANGES = 2
EXIT_INTERRUPTED = 130


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")


def _add_endpoint(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--endpoint",
        help="http(s)://host:port or emulator:PATH (overrides SFDECLARE_ENDPOINT and cluster.endpoint)",
    )


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _add_targeting(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--target",
        dest="targets",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="limit to this address and what it contains (repeatable), e.g. service[fabric:/App/Svc]",
    )
    p.add_argument("--parallelism", type=_positive, default=10, help="concurrent requests (default 10)")
    p.add_argument("--refresh-secrets", action="store_true", help="re-send every policy that holds a secret")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sfdeclare",
        description="Declarative Service Fabric periodic backup configuration: validate, plan, apply, drift.",
    )
    parser.add_argument("--version", action="version", version=f"sfdeclare {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks and how many requests reading the cluster took"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser(
        "validate",
        help="check configuration files offline",
        epilog="exit status: 0 valid (warnings allowed), 1 problems found",
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--format", choices=["text", "json", "github"], default="text")
    _add_common(p)

    p = sub.add_parser(
        "plan",
        help="show what apply would change on the cluster, and why",
        epilog="exit status: 0 success, 1 error, 2 changes (only with --detailed-exitcode), 130 interrupted",
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    _add_endpoint(p)
    p.add_argument("--format", choices=["text", "json", "markdown", "github"], default="text")
    p.add_argument("--out", metavar="FILE", help="write the plan file (JSON) for apply --plan")
    p.add_argument("--detailed-exitcode", action="store_true", help="exit 2 when there are changes")
    _add_targeting(p)
    _add_common(p)

    p = sub.add_parser(
        "apply",
        help="make the cluster match the configuration (or a reviewed plan file)",
        epilog="exit status: 0 applied and converged (or nothing to do), 1 error, a failed action or not "
        "converged (the report says what changed), 130 interrupted",
    )
    p.add_argument("paths", nargs="*", metavar="PATH")
    p.add_argument("--plan", dest="plan_file", metavar="FILE", help="apply exactly this reviewed plan file")
    _add_endpoint(p)
    p.add_argument("--auto-approve", action="store_true", help="do not ask for confirmation")
    p.add_argument("--allow-destructive", action="store_true", help="allow deleting backups and policies")
    p.add_argument("--report", dest="report_file", metavar="FILE", help="write a report of every action")
    p.add_argument("--report-format", choices=["json", "junit", "markdown"], default="json")
    _add_targeting(p)
    _add_common(p)

    p = sub.add_parser(
        "drift",
        help="report where the cluster differs from the configuration",
        epilog="exit status: 0 no drift, 2 drift, 1 error; drift never changes the cluster",
    )
    p.add_argument("paths", nargs="+", metavar="PATH")
    _add_endpoint(p)
    p.add_argument("--format", choices=["text", "json", "markdown"], default="text")
    p.add_argument("--all-applications", action="store_true", help="also report mappings in undeclared apps")
    p.add_argument("--parallelism", type=_positive, default=10)
    _add_common(p)

    p = sub.add_parser("import", help="write YAML for the live backup configuration")
    p.add_argument("--application", dest="applications", action="append", default=[], metavar="NAME")
    p.add_argument("--output", metavar="FILE", help="write here instead of stdout")
    _add_endpoint(p)
    p.add_argument("--api-version", default="6.4")
    p.add_argument("--parallelism", type=_positive, default=10)
    _add_common(p)

    p = sub.add_parser("explain", help="the effective policy of one entity, now and after the plan, and why")
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("address", metavar="ADDRESS", help="application[...], service[...] or partition[...]")
    _add_endpoint(p)
    p.add_argument("--parallelism", type=_positive, default=10)
    _add_common(p)

    p = sub.add_parser(
        "schema", help="print the configuration's JSON schema (or the plan, report or drift one)"
    )
    p.add_argument("name", nargs="?", default="sfdeclare", choices=["sfdeclare", "plan", "report", "drift"])
    _add_common(p)

    from sfdeclare.commands.emulator_init import DEFAULT_RUNTIME as EMULATOR_DEFAULT_RUNTIME
    from sfdeclare.commands.emulator_init import RUNTIMES as EMULATOR_RUNTIMES

    p = sub.add_parser("emulator", help="the local Service Fabric backup emulator")
    esub = p.add_subparsers(dest="emulator_command", metavar="COMMAND")
    esub.required = True
    i = esub.add_parser("init", help="create a state file from a topology, for --endpoint emulator:FILE")
    i.add_argument("--state", required=True, help="state file to create or update")
    i.add_argument("--topology", help="topology file (YAML or JSON)")
    i.add_argument(
        "--runtime",
        choices=list(EMULATOR_RUNTIMES),
        help=f"the cluster's Service Fabric runtime (a new state: {EMULATOR_DEFAULT_RUNTIME})",
    )
    i.add_argument("--clock", choices=["virtual", "real"], help="the backup clock (a new state: virtual)")
    i.add_argument("--clock-start", metavar="TIME", help="set the virtual clock to this UTC date-time")
    _add_common(i)
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
    s.add_argument("--fault-codes", default="503,429,504,reset", help="some of 503,429,504,reset,500")
    s.add_argument("--seed", type=int)
    s.add_argument(
        "--runtime",
        choices=list(EMULATOR_RUNTIMES),
        help="record this runtime in the state first (default: the state's; a new state: "
        f"{EMULATOR_DEFAULT_RUNTIME})",
    )
    s.add_argument(
        "--chaos",
        choices=["invalid-json", "html-error", "wrong-shape", "truncated", "hang", "reset-mid-response"],
        help="answer every request badly, to test a client's error handling",
    )
    s.add_argument("--clock", choices=["virtual", "real"], help="the backup clock (default: the state's)")
    _add_common(s)
    a = esub.add_parser("advance", help="move the virtual clock and take every backup that falls due")
    a.add_argument("--state", required=True)
    a.add_argument("duration", metavar="DURATION", help="ISO 8601, e.g. PT3H or P7D")
    _add_common(a)
    c = esub.add_parser("clock", help="print the emulator's clock")
    c.add_argument("--state", required=True)
    _add_common(c)
    for action, what, metavar, helptext in (
        ("break-storage", "policy", "POLICY", "make periodic backups to this policy's storage fail"),
        ("repair-storage", "policy", "POLICY", "undo break-storage"),
        ("stop-backups", "partition", "PARTITION_ID", "silently stop a partition's backups"),
        ("start-backups", "partition", "PARTITION_ID", "undo stop-backups"),
    ):
        x = esub.add_parser(action, help=helptext)
        x.add_argument("--state", required=True)
        x.add_argument(what, metavar=metavar)
        _add_common(x)
    return parser


def _dispatch(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.command == "validate":
        from sfdeclare.commands import validate

        return validate.run(args.paths, fmt=args.format, out=out, err=err)
    if args.command == "plan":
        from sfdeclare.commands import plan

        return plan.run(
            args.paths,
            endpoint=args.endpoint,
            fmt=args.format,
            out_file=args.out,
            detailed_exitcode=args.detailed_exitcode,
            targets=args.targets,
            parallelism=args.parallelism,
            refresh_secrets=args.refresh_secrets,
            out=out,
            err=err,
        )
    if args.command == "apply":
        from sfdeclare.commands import apply

        return apply.run(
            args.paths,
            plan_file=args.plan_file,
            endpoint=args.endpoint,
            auto_approve=args.auto_approve,
            allow_destructive=args.allow_destructive,
            refresh_secrets=args.refresh_secrets,
            targets=args.targets,
            parallelism=args.parallelism,
            report_file=args.report_file,
            report_format=args.report_format,
            out=out,
            err=err,
        )
    if args.command == "drift":
        from sfdeclare.commands import drift

        return drift.run(
            args.paths,
            endpoint=args.endpoint,
            fmt=args.format,
            all_applications=args.all_applications,
            parallelism=args.parallelism,
            out=out,
            err=err,
        )
    if args.command == "import":
        from sfdeclare.commands import import_config

        return import_config.run(
            applications=args.applications,
            output=args.output,
            endpoint=args.endpoint,
            api_version=args.api_version,
            parallelism=args.parallelism,
            out=out,
            err=err,
        )
    if args.command == "explain":
        from sfdeclare.commands import explain

        return explain.run(
            args.paths, args.address, endpoint=args.endpoint, parallelism=args.parallelism, out=out, err=err
        )
    if args.command == "schema":
        from sfdeclare.commands import schema

        return schema.run(args.name, out=out)
    if args.command == "emulator" and args.emulator_command == "init":
        from sfdeclare.commands import emulator_init

        return emulator_init.run(
            state=args.state,
            topology=args.topology,
            runtime=args.runtime,
            out=out,
            clock=args.clock,
            clock_start=args.clock_start,
        )
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
            chaos=args.chaos,
            clock=args.clock,
            out=out,
            err=err,
        )
    if args.command == "emulator":
        from sfdeclare.commands import emulator

        argument = (
            getattr(args, "duration", None)
            or getattr(args, "policy", None)
            or getattr(args, "partition", None)
        )
        return emulator.control(state=args.state, action=args.emulator_command, argument=argument, out=out)
    raise AssertionError(f"unhandled command {args.command!r}")


def report_error(exc: SfdeclareError, err: TextIO) -> None:
    """Every diagnostic an error carries, one per line (file:line:col first), then nothing else."""
    if not isinstance(exc, DiagnosticsError) or not exc.diagnostics:
        err.write(f"error: {exc}\n")
        return
    diagnostics = exc.diagnostics
    for d in diagnostics:
        err.write(f"{d}\n")
    errors = sum(1 for d in diagnostics if d.severity == "error")
    warnings = len(diagnostics) - errors
    err.write(
        f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}\n"
    )


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
    token = DEBUG.set(debug)
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
    finally:
        DEBUG.reset(token)


def run() -> None:
    # One short-lived process building tens of thousands of objects without cycles: at the default threshold
    # (700) the cyclic collector ran about 330 times in a 1,000-application plan, 0.2 s of CPU; at 50,000 it
    # runs once or twice (benchmarks/RESULTS.md). Only here, where sfdeclare owns the process.
    gc.set_threshold(50_000, 10, 10)
    sys.exit(main())


if __name__ == "__main__":
    run()
