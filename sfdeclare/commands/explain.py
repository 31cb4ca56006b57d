"""`sfdeclare explain`: the effective policy and suspension of one entity, now and after the plan, and why, and
what each means per partition in backups per day and restore points kept (and, for the entity's application,
the plan's totals). The decisions are engine/explain.py's; this module reads the cluster and writes the answer."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from typing import Any, TextIO

from sfdeclare.commands.arguments import add_endpoint, add_parallelism
from sfdeclare.commands.session import plan_paths, write_diagnostics
from sfdeclare.engine.bind import bind
from sfdeclare.engine.explain import Decider, Explanation, explain
from sfdeclare.engine.impact import policies_after
from sfdeclare.errors import EXIT_OK, Location
from sfdeclare.model.inheritance import Effective
from sfdeclare.render import impact
from sfdeclare.render.summaries import effective_text
from sfdeclare.servicefabric.backup_schedule import policy_impact


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH")
    parser.add_argument("address", metavar="ADDRESS", help="application[...], service[...] or partition[...]")
    add_endpoint(parser)
    add_parallelism(parser)
    parser.set_defaults(run=run)


def _why(loc: Location | None) -> str:
    return f"{loc} ({loc.path})" if loc else "the configuration"


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    address: str = args.address
    planned = plan_paths(
        args.paths,
        endpoint=args.endpoint,
        env=os.environ,
        parallelism=args.parallelism,
        err=err,
        also_read=(address,),
        judge=False,
    )
    write_diagnostics(planned.plan.diagnostics, err)
    live = planned.live
    binding = bind(planned.declaration, live)
    answer = explain(planned.declaration, binding, live, planned.plan.changes, address)
    out.write(f"{answer.ref.address}\n")
    out.write(f"  now:   {effective_text(answer.now)}\n")
    unchanged = "" if answer.after != answer.now else "  (unchanged)"
    out.write(f"  after: {effective_text(answer.after)}{unchanged}\n")
    if answer.ineligible is not None:
        out.write(f"  policy: {_ineligible(answer)}\n")
        out.write("  suspension: does not apply (nothing here is backed up)\n")
        return EXIT_OK
    out.write(f"  policy: {_decider(answer.policy, 'policy')}\n")
    out.write(f"  suspension: {_decider(answer.suspension, 'suspended')}\n")
    now = backups_of(answer.now, live.policies)
    after = backups_of(answer.after, policies_after(planned.plan.changes, live))
    out.write(f"  backups per partition now:   {now}\n")
    out.write(f"  backups per partition after: {after}{'' if after != now else '  (unchanged)'}\n")
    app = planned.plan.impact.application(answer.ref.application) if planned.plan.impact else None
    if app is not None:
        out.write(f"  in {impact.application_line(app)}\n")
    if answer.ref.application in live.hidden_application_suspension and not answer.now.suspended:
        # what the cluster does not show is unknown, never "not suspended" (SF-BACKUP-API.md §5.4)
        out.write(
            f"  note: the cluster does not show whether application {answer.ref.application} itself is "
            "suspended: 'not suspended' above may not hold\n"
        )
    return EXIT_OK


def _ineligible(answer: Explanation) -> str:
    service = (
        f"service {answer.ref.service}"
        if answer.ref.partition is None
        else f"its service {answer.ref.service}"
    )
    text = (
        f"not backed up: {service} is {answer.ineligible}, and Service Fabric backs up only stateful services "
        "with persisted state"
    )
    mapped = answer.mapped
    if mapped is not None and mapped.policy is not None:
        level = (mapped.policy_from or "?").lower()
        text += f" (policy {mapped.policy}, mapped at its {level}, does not apply to it)"
    return text


def backups_of(setting: Effective, bodies: Mapping[str, Mapping[str, Any]]) -> str:
    """What one partition with ``setting`` takes and keeps, in words."""
    if setting.policy is None:
        return "none (no backup policy)"
    if setting.suspended:
        return "none (suspended)"
    body = bodies.get(setting.policy)
    if body is None:
        return f"unknown (policy {setting.policy} could not be read)"
    try:
        return impact.policy_text(policy_impact(body))
    except (ValueError, TypeError, KeyError):
        return f"unknown (policy {setting.policy} is not one the server would hold)"


def _decider(decider: Decider, what: str) -> str:
    if decider.kind == "nothing":
        if what == "suspended":
            return "not suspended, and no level declares suspended (the cluster's state is kept)"
        return "no level has a policy: not backed up"
    assert decider.level is not None
    if decider.kind == "declared_false":
        return f"not suspended: {decider.level.address} declares suspended: false at {_why(decider.location)}"
    inherited = f"inherited from {decider.level.address}, " if decider.inherited else ""
    if decider.kind == "cluster":
        return f"{inherited}set on the cluster at {decider.level.address}, not by the configuration"
    return f"{inherited}decided by {_why(decider.location)}"
