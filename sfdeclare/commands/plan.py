"""`sfdeclare plan`: read the live state, print the changes in apply order, optionally write the plan file."""

from __future__ import annotations

import argparse
import os
from typing import TextIO

from sfdeclare.commands.arguments import add_endpoint, add_targeting
from sfdeclare.commands.session import (
    check_writable,
    plan_paths,
    use_color,
    write_atomically,
    write_diagnostics,
)
from sfdeclare.errors import EXIT_CHANGES, EXIT_OK, DiagnosticsError
from sfdeclare.render import formats


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH")
    add_endpoint(parser)
    parser.add_argument("--format", choices=formats.PLAN.names, default="text")
    parser.add_argument("--out", metavar="FILE", help="write the plan file (JSON) for apply --plan")
    parser.add_argument("--detailed-exitcode", action="store_true", help="exit 2 when there are changes")
    add_targeting(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    env = os.environ
    out_file: str | None = args.out
    formats.PLAN.check(args.format)
    if out_file:
        check_writable(out_file)
    try:
        planned = plan_paths(
            args.paths,
            endpoint=args.endpoint,
            env=env,
            parallelism=args.parallelism,
            err=err,
            refresh_secrets=args.refresh_secrets,
            targets=args.targets,
            guardrails=args.guardrails,
            replace_addresses=args.replace,
            exclude=args.exclude,
        )
    except DiagnosticsError as exc:
        out.write(formats.render_stopped(args.format, "plan", exc.diagnostics))
        raise
    plan = planned.plan
    write_diagnostics(plan.diagnostics, err)
    out.write(formats.PLAN.render(args.format, plan, color=use_color(out, env)))
    if out_file:
        write_atomically(out_file, formats.PLAN.render("json", plan))
        err.write(f"Plan written to {out_file}; apply it with: sfdeclare apply --plan {out_file}\n")
    return EXIT_CHANGES if args.detailed_exitcode and not plan.empty else EXIT_OK
