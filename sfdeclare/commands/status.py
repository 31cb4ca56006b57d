"""`sfdeclare status`: are the partitions the configuration covers backed up as their schedules say?

Reads what a plan reads, then one GetBackups?Latest=true per declared application with a mapping (plus pages),
the partitions of its backup-eligible services a plan did not list, and the backup health only of partitions
that are not ok by their backups. Never writes. Exit 0 when nothing is a problem, 2 when something is, 1 on
error. "Now" is the cluster's clock (the Date header of its answers), else this machine's; ``--now`` overrides
it (for rehearsals and tests).
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from typing import TextIO

from sfdeclare.cluster.evidence import read_evidence, read_health
from sfdeclare.commands.arguments import add_endpoint, add_parallelism
from sfdeclare.commands.debug import DEBUG
from sfdeclare.commands.session import (
    endpoint_label,
    open_client,
    read_live,
    settle_runtime,
    use_color,
    write_diagnostics,
)
from sfdeclare.config.loader import load_declaration
from sfdeclare.engine.status import StatusOptions, health_wanted, status
from sfdeclare.errors import EXIT_CHANGES, EXIT_OK, DiagnosticsError
from sfdeclare.model.addresses import application_name
from sfdeclare.model.scope import read_scope
from sfdeclare.render import formats
from sfdeclare.servicefabric.backups import parse_time
from sfdeclare.servicefabric.durations import parse_duration

EXIT_PROBLEMS = EXIT_CHANGES  # something to look at: a partition not backed up as it should be


def _time(text: str) -> int:
    try:
        return parse_time(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a date-time: {text!r} (write ISO 8601, e.g. 2024-01-01T00:00:00Z)"
        ) from None


def _grace(text: str) -> int:
    try:
        seconds = int(parse_duration(text).total_seconds())
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 duration: {text!r} (e.g. PT2H, P1D)") from None
    if seconds < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return seconds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH")
    add_endpoint(parser)
    parser.add_argument("--format", choices=formats.STATUS.names, default="text")
    parser.add_argument(
        "--since",
        type=_time,
        metavar="TIME",
        help="when the configuration was applied (UTC): a partition with no backup is a problem once its "
        "first run after this is past its grace",
    )
    parser.add_argument(
        "--grace",
        type=_grace,
        metavar="DURATION",
        help="how late a backup may be (ISO 8601, e.g. PT2H); default: half the gap before each run, "
        "at least 30 minutes",
    )
    parser.add_argument(
        "--now",
        type=_time,
        metavar="TIME",
        help="judge as of this UTC time instead of the cluster's clock (rehearsals, tests)",
    )
    add_parallelism(parser, "concurrent requests (default 10)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    env = os.environ
    formats.STATUS.check(args.format)
    try:
        declaration = load_declaration(args.paths)
    except DiagnosticsError as exc:
        out.write(formats.render_stopped(args.format, "status", exc.diagnostics))
        raise
    declared = tuple(application_name(app.name) for app in declaration.applications.values())
    # Status needs no pruning listings. An application's own suspension that the listing hides changes no
    # partition's class: it hides only where every mapped level is suspended itself (or nothing is mapped), so
    # each partition with a policy is already suspended at its own or its service's level (SF-BACKUP-API.md §5.4).
    scope = replace(read_scope(declaration), prune_candidates=())
    with open_client(declaration, args.endpoint, env, args.parallelism, err) as client:
        # the cluster's runtime decides the api-version status speaks; its configuration advice is plan's to give
        declaration = replace(settle_runtime(client, declaration), diagnostics=declaration.diagnostics)
        live = read_live(client, declaration, scope, args.parallelism)
        mapped = {ref.application for ref in live.mappings}
        applications = [app for app in declared if app in live.applications and app in mapped]
        services = [
            svc.name
            for app in declared
            if app in live.applications
            for svc in live.applications[app].services or ()
            if svc.backup_eligible and svc.partitions is None
        ]
        found, partitions = read_evidence(client, applications, services, args.parallelism)
        live = replace(
            live,
            applications={
                name: replace(
                    app,
                    services=tuple(
                        replace(s, partitions=partitions.get(s.name, s.partitions))
                        for s in app.services or ()
                    ),
                )
                if app.services is not None
                else app
                for name, app in live.applications.items()
            },
        )
        if args.now is not None:
            now, source = args.now, "option"
        elif found.cluster_now is not None:
            now, source = found.cluster_now, "cluster"
        else:
            now, source = int(time.time()), "local"
        options = StatusOptions(
            now=now,
            now_source=source,  # type: ignore[arg-type]
            since=args.since,
            grace=args.grace,
            endpoint=endpoint_label(client),
        )
        report = status(declaration, live, found.points, {}, options)
        wanted = health_wanted(report)
        if wanted:
            report = status(
                declaration, live, found.points, read_health(client, wanted, args.parallelism), options
            )
        if DEBUG.get():
            err.write(f"debug: status read {options.endpoint} in {client.requests} requests\n")
    write_diagnostics(declaration.diagnostics, err)
    out.write(formats.STATUS.render(args.format, report, color=use_color(out, env)))
    return EXIT_PROBLEMS if report.has_problems else EXIT_OK
