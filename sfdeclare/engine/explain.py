"""``explain``'s decisions: the effective policy and suspension of one entity now and after the plan, and which
level (and which line of the configuration, if any) decides each. Pure; it answers from the same bound levels
(``engine.bind``) the planner and drift compare, and from the plan's changes (``plan.state_after``).

Every entity gets its true answer: one the cluster does not have is an error (with a "did you mean" where only
the case differs); a stateless or non-persisted service, and its partitions, are never backed up, whatever
policy is mapped above them (the backup service's own check, SF-BACKUP-API.md §5); an undeclared application
is explained from the cluster alone (``explain`` reads the entity it is asked about).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from sfdeclare.engine.bind import Binding
from sfdeclare.engine.plan import Change, state_after
from sfdeclare.errors import Location, SfdeclareError
from sfdeclare.model.addresses import AddressError, EntityRef, parse_address
from sfdeclare.model.declaration import Declaration, LevelSettings
from sfdeclare.model.inheritance import Effective, effective
from sfdeclare.model.live import LiveState

DeciderKind = Literal["configuration", "cluster", "declared_false", "nothing"]


@dataclass(frozen=True)
class Decider:
    """What decides one setting (the policy, or the suspension) of an entity after the plan.

    - ``configuration``: the level ``level`` sets it, written at ``location``;
    - ``cluster``: ``level`` holds it on the cluster, and the configuration does not say it there;
    - ``declared_false`` (suspension only): nothing suspends it; ``level`` declares ``suspended: false``;
    - ``nothing``: no level sets it (no policy: not backed up; no suspension, none declared).

    ``inherited`` says ``level`` is an ancestor of the entity."""

    kind: DeciderKind
    level: EntityRef | None = None
    location: Location | None = None
    inherited: bool = False


@dataclass(frozen=True)
class Explanation:
    """``ineligible``: why Service Fabric never backs this entity up ("stateless", "stateful without persisted
    state"), or None; then ``now`` and ``after`` are "no backup" and ``mapped`` is the policy that would apply
    to it otherwise (after the plan)."""

    ref: EntityRef
    now: Effective
    after: Effective
    policy: Decider
    suspension: Decider
    ineligible: str | None = None
    mapped: Effective | None = None


def entity_ref(address: str, applications: Iterable[str]) -> EntityRef:
    """The entity ``address`` names (``applications``: the names known, see ``model.addresses``)."""
    try:
        ref = parse_address(address, applications)
    except AddressError as exc:
        raise SfdeclareError(str(exc)) from None
    if not isinstance(ref, EntityRef):
        raise SfdeclareError(
            f"{address!r} is a policy: explain takes application[fabric:/App], service[fabric:/App/Svc] "
            "or partition[fabric:/App/Svc/<partition-id>]"
        )
    return ref


def explain(
    declaration: Declaration, binding: Binding, live: LiveState, changes: Iterable[Change], address: str
) -> Explanation:
    """Explain the entity at ``address``; raises SfdeclareError for a bad address or an entity the cluster lacks."""
    ref = entity_ref(address, sorted({*declaration.applications, *live.applications}))
    ineligible = _check_exists(ref, live)
    after_maps, after_susp = state_after(live, changes)
    now = effective(ref, live.mappings, live.suspensions)
    after = effective(ref, after_maps, after_susp)
    if ineligible is not None:
        nothing = Effective()
        return Explanation(
            ref, nothing, nothing, Decider("nothing"), Decider("nothing"), ineligible, mapped=after
        )
    return Explanation(
        ref,
        now,
        after,
        _policy_decider(binding, ref, after),
        _suspension_decider(binding, ref, after),
    )


def _check_exists(ref: EntityRef, live: LiveState) -> str | None:
    """Raise SfdeclareError when the cluster lacks the entity; return why it is never backed up, or None."""
    app = live.applications.get(ref.application)
    if app is None:
        raise SfdeclareError(
            f"application {ref.application} does not exist on the cluster"
            + _did_you_mean(EntityRef(ref.application), [EntityRef(a) for a in live.applications])
        )
    if ref.service is None:
        return None
    svc = app.service(ref.service)
    if svc is None:
        there = [EntityRef(app.name, s.name) for s in app.services or ()]
        raise SfdeclareError(
            f"service {ref.service} does not exist on the cluster"
            + _did_you_mean(EntityRef(app.name, ref.service), there)
        )
    if ref.partition is not None:
        if svc.partitions is None:
            raise SfdeclareError(f"the partitions of {svc.name} were not read from the cluster")
        if ref.partition not in {p.id for p in svc.partitions}:
            there = [EntityRef(app.name, svc.name, p.id) for p in svc.partitions]
            raise SfdeclareError(
                f"partition {ref.partition} of {svc.name} does not exist on the cluster"
                + _did_you_mean(ref, there)
            )
    if svc.backup_eligible:
        return None
    return "stateless" if svc.kind == "Stateless" else "stateful without persisted state"


def _did_you_mean(ref: EntityRef, there: Iterable[EntityRef]) -> str:
    near = [t.address for t in there if t.address.casefold() == ref.address.casefold()]
    return f"; did you mean {' or '.join(sorted(near))}? (names are case-sensitive)" if near else ""


def _policy_decider(binding: Binding, ref: EntityRef, after: Effective) -> Decider:
    if after.policy_from is None:
        return Decider("nothing")
    node = next(n for n in ref.lineage() if n.level == after.policy_from)
    settings = binding.settings_at(node)
    if settings is None or settings.policy is None:
        return Decider("cluster", node, None, node != ref)
    return Decider("configuration", node, settings.policy_location, node != ref)


def _suspension_decider(binding: Binding, ref: EntityRef, after: Effective) -> Decider:
    if after.suspended_from is None:
        written = [
            (node, settings)
            for node in ref.lineage()
            if (settings := binding.settings_at(node)) is not None and settings.suspended is not None
        ]
        if written:
            node, settings = written[0]
            return Decider("declared_false", node, settings.suspended_location, node != ref)
        return Decider("nothing")
    node = next(n for n in ref.lineage() if n.level == after.suspended_from)
    found: LevelSettings | None = binding.settings_at(node)
    if found is None or found.suspended is None:
        return Decider("cluster", node, None, node != ref)
    return Decider("configuration", node, found.suspended_location, node != ref)
