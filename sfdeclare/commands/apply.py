"""`sfdeclare apply`: plan (or load a reviewed plan), confirm, execute, check convergence, report."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from sfdeclare.cluster.client import Client
from sfdeclare.cluster.endpoint import ENV_VAR
from sfdeclare.commands.arguments import add_endpoint, add_targeting
from sfdeclare.commands.session import (
    check_writable,
    endpoint_label,
    guarded_plan,
    named_guardrails,
    open_client,
    read_for_guardrails,
    read_live,
    read_plan_file,
    resolve_values,
    settle_runtime,
    use_color,
    with_counted_impact,
    write_atomically,
    write_diagnostics,
)
from sfdeclare.commands.show import READS
from sfdeclare.config.loader import load_declaration
from sfdeclare.engine.applier import ApplyResult, apply_plan
from sfdeclare.engine.digest import live_digest
from sfdeclare.engine.plan import Change, Plan
from sfdeclare.engine.planner import PlanOptions, plan
from sfdeclare.errors import (
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_OK,
    ApplyError,
    ConfigError,
    Location,
    SfdeclareError,
)
from sfdeclare.model.declaration import ClusterSettings, Declaration, EntityIdStyle
from sfdeclare.model.references import resolve_tree
from sfdeclare.model.scope import read_scope
from sfdeclare.render import formats
from sfdeclare.render.progress import Progress, print_result
from sfdeclare.render.report import ApplyReport
from sfdeclare.servicefabric.routes import WireRequest

PROMPT = "Do you want to perform these actions? Only 'yes' will be accepted: "


class _ClientSender:
    """The applier's view of a client: send a request, read a policy back."""

    def __init__(self, client: Client, env: Mapping[str, str]) -> None:
        self.client = client
        self.env = env

    def execute(self, request: WireRequest) -> int:
        return self.client.send(request, secrets_env=self.env).attempts

    def get_policy(self, name: str) -> Mapping[str, Any] | None:
        return self.client.get_policy(name)


def _check_secrets(
    changes: Sequence[Change], declaration: Declaration | None, env: Mapping[str, str]
) -> None:
    """Every reference a request will send must resolve now, to a value: a missing one, or one set but empty
    (CI turns a missing secret into ""), stops apply before any change."""
    base = declaration.base_dir if declaration else "."
    problems: list[str] = []
    for change in changes:
        if change.request.body is None:
            continue
        try:
            resolve_tree(dict(change.request.body), env=env, base_dir=base, refuse_empty=True)
        except ConfigError as exc:
            problems.extend(f"{change.address}: {d.message}" for d in exc.diagnostics)
    if problems:
        raise ApplyError("nothing was changed: " + "; ".join(dict.fromkeys(problems)))


def _confirm(stdin: TextIO, out: TextIO) -> bool:
    isatty = getattr(stdin, "isatty", None)
    if not (isatty and isatty()):
        raise ApplyError(
            "apply needs a terminal to confirm the plan; pass --auto-approve in CI (nothing was changed)"
        )
    out.write(PROMPT)
    out.flush()
    answer = stdin.readline()
    return answer.strip() == "yes"


@contextmanager
def _stop_on_interrupt(stop: threading.Event) -> Iterator[None]:
    """Ctrl-C sets ``stop``: running actions finish, no new ones start. A second Ctrl-C is the default again."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        stop.set()
        signal.signal(signal.SIGINT, previous)

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _reviewed_cluster(reviewed: Plan, plan_file: str) -> ClusterSettings:
    """Cluster settings for applying a plan file alone: its endpoint and API options (its api-version as
    written: the runtime is still read, and a changed one makes the plan stale)."""
    style: EntityIdStyle = "tilde" if reviewed.entity_ids == "tilde" else "slash"
    return ClusterSettings(
        endpoint=reviewed.endpoint,
        api_version=reviewed.api_version,
        entity_ids=style,
        api_version_location=Location(plan_file, 1, 1, "$.api_version"),
    )


def _check_reviewed(
    reviewed: Plan, client: Client, declaration: Declaration, endpoint: str, parallelism: int
) -> None:
    """Refuse, changing nothing, a plan made elsewhere, for another configuration, or from another live state."""
    if reviewed.endpoint != endpoint:
        raise ApplyError(f"the plan was made for {reviewed.endpoint}, not {endpoint}: nothing was changed")
    if declaration.files and declaration.digest != reviewed.config_digest:
        raise ApplyError(
            "the configuration changed since this plan was made: plan again (nothing was changed)"
        )
    live = read_live(client, declaration, reviewed.read_scope, parallelism)
    if live_digest(live) != reviewed.live_digest:
        raise ApplyError("the cluster changed since this plan was made: plan again (nothing was changed)")


def _fresh_plan(
    client: Client,
    declaration: Declaration,
    endpoint: str,
    env: Mapping[str, str],
    parallelism: int,
    refresh_secrets: bool,
    targets: Sequence[str],
    replace_addresses: Sequence[str] = (),
    exclude: Sequence[str] = (),
    *,
    judge: bool = True,
    counted: bool = True,
) -> Plan:
    """A plan made now; ``judge``: also by the guardrails, ``counted``: with its impact totalled (the convergence
    check after applying needs neither, only the actions)."""
    scope = read_scope(declaration, also_read=targets)
    live = read_live(client, declaration, scope, parallelism)
    options = PlanOptions(
        endpoint=endpoint,
        refresh_secrets=refresh_secrets,
        targets=tuple(targets),
        replace=tuple(replace_addresses),
        exclude=tuple(exclude),
        impact=False,  # totalled below when counted, with the partitions it needs counted
    )
    if judge:
        guarded = read_for_guardrails(client, declaration, live, scope, parallelism)
        made = guarded_plan(declaration, live, options, env, guarded)
    else:
        made = plan(resolve_values(declaration, env), live, options)
    return with_counted_impact(client, made, live, parallelism) if counted else made


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", metavar="PATH")
    parser.add_argument(
        "--plan", dest="plan_file", metavar="FILE", help="apply exactly this reviewed plan file"
    )
    add_endpoint(parser)
    parser.add_argument("--auto-approve", action="store_true", help="do not ask for confirmation")
    parser.add_argument(
        "--allow-destructive", action="store_true", help="allow deleting backups and policies"
    )
    parser.add_argument("--report", dest="report_file", metavar="FILE", help="write a report of every action")
    parser.add_argument("--report-format", choices=formats.REPORT.names, default="json")
    add_targeting(parser)
    versions = f"--plan: {READS}"
    parser.epilog = f"{parser.epilog}. {versions}" if parser.epilog else versions
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    env = os.environ
    stdin = sys.stdin
    paths: Sequence[str] = args.paths
    plan_file: str | None = args.plan_file
    endpoint: str | None = args.endpoint
    auto_approve: bool = args.auto_approve
    allow_destructive: bool = args.allow_destructive
    refresh_secrets: bool = args.refresh_secrets
    targets: Sequence[str] = args.targets
    parallelism: int = args.parallelism
    report_file: str | None = args.report_file
    report_format: str = args.report_format
    formats.REPORT.check(report_format)
    if plan_file is None and not paths:
        raise SfdeclareError("apply needs configuration paths or --plan FILE")
    if report_file:
        check_writable(report_file)
    reviewed = read_plan_file(plan_file) if plan_file else None
    if paths:
        declaration = load_declaration(paths, named_guardrails(args.guardrails, env))
    else:
        assert reviewed is not None
        assert plan_file is not None
        declaration = Declaration(cluster=_reviewed_cluster(reviewed, plan_file))
    if reviewed is not None and not (endpoint or env.get(ENV_VAR) or declaration.cluster.endpoint):
        endpoint = reviewed.endpoint
    with open_client(declaration, endpoint, env, parallelism, err) as client:
        declaration = settle_runtime(client, declaration)
        url = endpoint_label(client)
        if reviewed is not None:
            _check_reviewed(reviewed, client, declaration, url, parallelism)
            the_plan = reviewed
        else:
            the_plan = _fresh_plan(
                client,
                declaration,
                url,
                env,
                parallelism,
                refresh_secrets,
                targets,
                args.replace,
                args.exclude,
            )
        write_diagnostics(the_plan.diagnostics, err)
        out.write(formats.PLAN.render("text", the_plan, color=use_color(out, env)))
        if the_plan.empty:
            # nothing to do is still a result a pipeline records: 0 actions, and the plan just read shows
            # the cluster matching (a reviewed plan was checked against the cluster above)
            if report_file:
                document = ApplyReport(the_plan, ApplyResult(()), converged=True)
                write_atomically(report_file, formats.REPORT.render(report_format, document))
            return EXIT_OK
        destructive = [c for c in the_plan.changes if c.destructive]
        if destructive and not allow_destructive:
            listing = ", ".join(f"{c.action.value} {c.address}" for c in destructive)
            raise ApplyError(
                f"the plan has {len(destructive)} destructive action(s) ({listing}); "
                "pass --allow-destructive to apply them (nothing was changed)"
            )
        _check_secrets(the_plan.changes, declaration, env)
        if reviewed is None and not auto_approve and not _confirm(stdin, out):
            out.write("Apply cancelled. Nothing was changed.\n")
            return EXIT_ERROR
        stop = threading.Event()
        progress = Progress(len(the_plan.changes), out, err, live=use_color(err, env))
        with _stop_on_interrupt(stop):
            result = apply_plan(
                the_plan,
                _ClientSender(client, env),
                parallelism=parallelism,
                on_result=progress.on_result,
                on_phase=progress.on_phase,
                stop=stop,
            )
        progress.finish()
        converged: bool | None = None
        remainder: tuple[Change, ...] = ()
        recheck_error: SfdeclareError | None = None
        if declaration.files and not result.interrupted:
            try:
                again = _fresh_plan(
                    client,
                    declaration,
                    url,
                    env,
                    parallelism,
                    False,
                    targets,
                    (),
                    args.exclude,
                    judge=False,
                    counted=False,
                )
            except SfdeclareError as exc:  # what was applied must still be reported
                recheck_error = exc
            else:
                remainder = again.changes
                converged = again.empty
    print_result(result, out)
    if converged is False:
        err.write(f"error: not converged: a fresh plan still has {len(remainder)} action(s):\n")
        for c in remainder[:20]:
            err.write(f"  {c.action.value} {c.address}\n")
    elif recheck_error is not None:
        err.write(f"error: convergence not checked: {recheck_error}\n")
    elif converged is None and not result.interrupted:
        err.write("note: convergence not checked (pass the configuration paths with --plan to check it)\n")
    if report_file:
        document = ApplyReport(the_plan, result, converged, remainder)
        write_atomically(report_file, formats.REPORT.render(report_format, document))
    if result.interrupted:
        return EXIT_INTERRUPTED
    return EXIT_OK if result.ok and converged is not False and recheck_error is None else EXIT_ERROR
