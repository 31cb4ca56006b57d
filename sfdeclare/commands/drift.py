"""`sfdeclare drift`: read the cluster (reads only, never a write) and report where it differs from the
configuration. Exit 0 without drift, 2 with drift, 1 on error (the report is still printed when the
configuration has errors only the cluster shows)."""

from __future__ import annotations

import argparse
import os
from dataclasses import replace
from typing import TextIO

from sfdeclare.commands.arguments import add_endpoint, add_parallelism
from sfdeclare.commands.session import (
    endpoint_label,
    open_client,
    read_live,
    resolve_values,
    settle_runtime,
    use_color,
    write_diagnostics,
)
from sfdeclare.config.loader import load_declaration
from sfdeclare.engine.drift import DriftOptions, drift
from sfdeclare.errors import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, DiagnosticsError
from sfdeclare.model.scope import read_scope
from sfdeclare.render import formats

EXIT_DRIFT = EXIT_CHANGES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH")
    add_endpoint(parser)
    parser.add_argument("--format", choices=formats.DRIFT.names, default="text")
    parser.add_argument(
        "--all-applications", action="store_true", help="also report mappings in undeclared apps"
    )
    add_parallelism(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    env = os.environ
    all_applications: bool = args.all_applications
    parallelism: int = args.parallelism
    formats.DRIFT.check(args.format)
    try:
        declaration = load_declaration(args.paths)
    except DiagnosticsError as exc:
        out.write(formats.render_stopped(args.format, "drift", exc.diagnostics))
        raise
    # pruning is the plan's business: drift needs no per-policy entity listings
    scope = replace(read_scope(declaration, all_applications=all_applications), prune_candidates=())
    with open_client(declaration, args.endpoint, env, parallelism, err) as client:
        declaration = settle_runtime(client, declaration)
        live = read_live(client, declaration, scope, parallelism)
        label = endpoint_label(client)
    options = DriftOptions(all_applications=all_applications, endpoint=label)
    report = drift(resolve_values(declaration, env), live, options)
    write_diagnostics(report.diagnostics, err)
    out.write(formats.DRIFT.render(args.format, report, color=use_color(out, env)))
    if report.has_errors:
        return EXIT_ERROR
    return EXIT_DRIFT if report.has_drift else EXIT_OK
