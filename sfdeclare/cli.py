"""Command-line wiring: the only module that knows argparse, and the one error handler.

Every subcommand is a module in ``sfdeclare.commands`` with ``add_arguments(parser)`` (which also sets
``run``) and ``run(args, out, err) -> exit code``; this module only builds the parser from them and calls
``args.run``; exit codes are named in errors.py. Here: expected errors -> one line on stderr and exit 1,
Ctrl-C -> 130, anything else is a bug in sfdeclare -> one line saying so and how to report it, exit 3 (the
traceback only with ``--debug``).
"""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from typing import TextIO

from sfdeclare import __version__
from sfdeclare.commands.debug import DEBUG
from sfdeclare.errors import EXIT_ERROR, EXIT_INTERNAL, EXIT_INTERRUPTED, DiagnosticsError, SfdeclareError

# name -> (module, help, epilog), in the order ``sfdeclare --help`` lists them. A command's module, and all it
# imports, loads only when that command runs or shows its help: `sfdeclare validate` never loads the HTTP client.
COMMANDS: dict[str, tuple[str, str, str | None]] = {
    "validate": (
        "sfdeclare.commands.validate",
        "check configuration files offline",
        "exit status: 0 valid (warnings allowed), 1 problems found, 3 internal error (a bug)",
    ),
    "plan": (
        "sfdeclare.commands.plan",
        "show what apply would change on the cluster, and why",
        "exit status: 0 success, 1 error, 2 changes (only with --detailed-exitcode), 3 internal error (a bug), "
        "130 interrupted",
    ),
    "apply": (
        "sfdeclare.commands.apply",
        "make the cluster match the configuration (or a reviewed plan file)",
        "exit status: 0 applied and converged (or nothing to do), 1 error, a failed action or not "
        "converged (the report says what changed), 3 internal error (a bug), 130 interrupted",
    ),
    "show": (
        "sfdeclare.commands.show",
        "render a saved plan file (checked as apply --plan checks it), without reading the cluster",
        "exit status: 0 shown, 1 the file is not an intact plan file (nothing is shown, nothing changes), "
        "3 internal error (a bug).",
    ),
    "drift": (
        "sfdeclare.commands.drift",
        "report where the cluster differs from the configuration",
        "exit status: 0 no drift, 2 drift, 1 error, 3 internal error (a bug); drift never changes the cluster",
    ),
    "status": (
        "sfdeclare.commands.status",
        "check that the partitions the configuration covers are backed up as their schedules say",
        "exit status: 0 nothing is a problem, 2 something is (late, failing, ...), 1 error; "
        "status never changes the cluster",
    ),
    "import": ("sfdeclare.commands.import_config", "write YAML for the live backup configuration", None),
    "explain": (
        "sfdeclare.commands.explain",
        "the effective policy of one entity, now and after the plan, and why",
        None,
    ),
    "schema": (
        "sfdeclare.commands.schema",
        "print the configuration's JSON schema (or the plan, report, drift or status one)",
        None,
    ),
    "emulator": ("sfdeclare.commands.emulator", "the local Service Fabric backup emulator", None),
    "completion": (
        "sfdeclare.commands.completion",
        "print a bash or zsh completion script (addresses come from the configuration on the line)",
        None,
    ),
}
HIDDEN_COMPLETER = "__complete"  # what the completion scripts call; not a command people type


def _command_in(argv: Sequence[str]) -> str | None:
    """The subcommand ``argv`` names: its first word that is not an option (the top level has no option that
    takes a value)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def _add_debug_to_leaves(parser: argparse.ArgumentParser) -> None:
    """Every runnable (sub)command also takes ``--debug`` after its own options."""
    groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not groups:
        parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks")
    for group in groups:
        for child in dict.fromkeys(group.choices.values()):
            _add_debug_to_leaves(child)


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The command line: each command module registers its own arguments and its ``run``. Given ``argv``, only
    the command it names is registered (the others could not be parsed anyway); without, every command."""
    parser = argparse.ArgumentParser(
        prog="sfdeclare",
        description="Declarative Service Fabric periodic backup configuration: validate, plan, apply, drift.",
    )
    parser.add_argument("--version", action="version", version=f"sfdeclare {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="show tracebacks and how many requests reading the cluster took"
    )
    # `completion` describes every command: it gets the way to build the whole parser, not an import of cli
    parser.set_defaults(whole_parser=build_parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    wanted = None if argv is None else _command_in(argv)
    for name, (module, help, epilog) in COMMANDS.items():
        p = sub.add_parser(name, help=help, epilog=epilog)
        if argv is None or name == wanted:
            importlib.import_module(module).add_arguments(p)
            _add_debug_to_leaves(p)
    return parser


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


def internal_error_line(exc: BaseException) -> str:
    """The one line for an exception no command expected: a bug in sfdeclare, and how to report it."""
    what = " ".join(f"{type(exc).__name__}: {exc}".split())  # one line, whatever the exception says
    return (
        f"error: internal error: {what} -- this is a bug in sfdeclare {__version__}; please report it with the "
        "command you ran and its output with --debug (which adds the traceback)"
    )


def main(argv: Sequence[str] | None = None, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == HIDDEN_COMPLETER:  # before any parser: completion must stay fast
        from sfdeclare.commands import complete

        return complete.run(argv[1:], out)
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: usage errors exit 2 by default; ours is 1
        code = exc.code if isinstance(exc.code, int) else 1
        return EXIT_ERROR if code == 2 else code
    debug = bool(getattr(args, "debug", False)) or os.environ.get("SFDECLARE_DEBUG") == "1"
    token = DEBUG.set(debug)
    try:
        exit_code: int = args.run(args, out, err)
        return exit_code
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
        err.write(internal_error_line(exc) + "\n")
        return EXIT_INTERNAL
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
