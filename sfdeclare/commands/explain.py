"""`sfdeclare explain`: the effective policy and suspension of one entity, now and after the plan, and why."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import TextIO

from sfdeclare.commands.session import plan_paths, write_diagnostics
from sfdeclare.engine.bind import resolve_declaration
from sfdeclare.engine.plan import state_after
from sfdeclare.errors import Location, SfdeclareError
from sfdeclare.model.addresses import EntityRef, parse_entity_address
from sfdeclare.model.declaration import Declaration, LevelSettings
from sfdeclare.model.inheritance import Effective, effective
from sfdeclare.model.live import LiveState


def _application_of(name: str, candidates: Sequence[str]) -> str:
    owners = [app for app in candidates if name.startswith(app + "/")]
    if owners:
        return max(owners, key=len)
    head = name.removeprefix("fabric:/").split("/", 1)[0]
    return "fabric:/" + head


def _settings_at(declaration: Declaration, ref: EntityRef, live: LiveState) -> LevelSettings | None:
    """What the file says at exactly this entity's level, if it names it."""
    for level in resolve_declaration(declaration, live).levels:
        if level.ref == ref:
            return level.settings
    return None


def _why(loc: Location | None) -> str:
    return f"{loc} ({loc.path})" if loc else "the configuration"


def run(
    paths: Sequence[str],
    address: str,
    *,
    endpoint: str | None,
    parallelism: int,
    out: TextIO,
    err: TextIO,
    env: Mapping[str, str] | None = None,
) -> int:
    env = os.environ if env is None else env
    planned = plan_paths(paths, endpoint=endpoint, env=env, parallelism=parallelism, err=err)
    write_diagnostics(planned.plan.diagnostics, err)
    live = planned.live
    candidates = sorted({*planned.declaration.applications, *live.applications})
    kind = address.partition("[")[0]
    try:
        inner = address[len(kind) + 1 : -1]
        app = _application_of(inner, candidates) if kind != "application" else inner
        ref = parse_entity_address(address, app)
    except ValueError:
        raise SfdeclareError(
            f"{address!r} is not an address: write application[fabric:/App], service[fabric:/App/Svc] "
            "or partition[fabric:/App/Svc/<partition-id>]"
        ) from None
    if ref.application not in live.applications:
        raise SfdeclareError(f"application {ref.application} does not exist on the cluster")
    after_maps, after_susp = state_after(live, planned.plan.changes)
    now = effective(ref, live.mappings, live.suspensions)
    after = effective(ref, after_maps, after_susp)
    out.write(f"{ref.address}\n")
    out.write(f"  now:   {_describe(now)}\n")
    out.write(f"  after: {_describe(after)}{'' if after != now else '  (unchanged)'}\n")
    out.write(f"  policy: {_decider(planned.declaration, live, ref, after, 'policy')}\n")
    out.write(f"  suspension: {_decider(planned.declaration, live, ref, after, 'suspended')}\n")
    return 0


def _describe(e: Effective) -> str:
    return e.describe()


def _decider(declaration: Declaration, live: LiveState, ref: EntityRef, after: Effective, what: str) -> str:
    level = after.policy_from if what == "policy" else after.suspended_from
    if level is None:
        written = [
            node
            for node in ref.lineage()
            if (s := _settings_at(declaration, node, live)) is not None and getattr(s, what) is not None
        ]
        if what == "suspended" and written:
            s = _settings_at(declaration, written[0], live)
            assert s is not None
            return f"not suspended: {written[0].address} declares suspended: false at {_why(s.suspended_location)}"
        if what == "suspended":
            return "not suspended, and no level declares suspended (the cluster's state is kept)"
        return "no level has a policy: not backed up"
    node = next(n for n in ref.lineage() if n.level == level)
    settings = _settings_at(declaration, node, live)
    inherited = "" if node == ref else f"inherited from {node.address}, "
    if settings is None or getattr(settings, what) is None:
        return f"{inherited}set on the cluster at {node.address}, not by the configuration"
    loc = settings.policy_location if what == "policy" else settings.suspended_location
    return f"{inherited}decided by {_why(loc)}"
