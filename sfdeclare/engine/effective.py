"""The effective backup settings a plan changes: for every known entity of the managed applications, its
effective policy and suspension before and after (partition > service > application, ``model.inheritance``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from sfdeclare.engine.plan import EffectiveChange
from sfdeclare.model.addresses import EntityRef, Ref, within
from sfdeclare.model.inheritance import NOTHING, Effective, effective, inherit
from sfdeclare.model.live import LiveApplication, LiveState

# An entity with its effective settings before and after the plan.
_Resolved = tuple[EntityRef, Effective, Effective]


def effective_changes(
    live: LiveState,
    after: Mapping[EntityRef, str],
    after_suspensions: frozenset[EntityRef],
    applications: Iterable[str],
    targets: Sequence[Ref] = (),
) -> tuple[tuple[EffectiveChange, ...], int, int]:
    """Every known entity of ``applications`` (inside ``targets``) whose effective policy or suspension differs
    between ``live`` and the state after the plan; and how many services and partitions change policy."""
    out: list[EffectiveChange] = []
    services = partitions = 0
    before_s = live.suspensions
    mapped_by_app: dict[str, set[EntityRef]] = {}
    for ref in (*live.mappings, *after):
        mapped_by_app.setdefault(ref.application, set()).add(ref)

    def below(parent: _Resolved, ref: EntityRef) -> _Resolved:
        return (
            ref,
            inherit(parent[1], ref, live.mappings, before_s),
            inherit(parent[2], ref, after, after_suspensions),
        )

    for app_name in sorted(applications):
        live_app: LiveApplication | None = live.applications.get(app_name)
        # Top-down: each entity inherits from its parent's result instead of walking its own lineage.
        app_ref = EntityRef(app_name)
        app = below((app_ref, NOTHING, NOTHING), app_ref)
        resolved = [app]
        for svc in (live_app.services or ()) if live_app else ():
            if not svc.backup_eligible:
                continue
            service = below(app, EntityRef(app_name, svc.name))
            resolved.append(service)
            resolved.extend(below(service, EntityRef(app_name, svc.name, p.id)) for p in svc.partitions or ())
        known = {ref for ref, _, _ in resolved}
        extra = mapped_by_app.get(app_name, set()) - known
        for ref in sorted(extra, key=EntityRef.sort_key):
            resolved.append(
                (ref, effective(ref, live.mappings, before_s), effective(ref, after, after_suspensions))
            )
        for ref, b, a in resolved:
            if a == b or (targets and not within(ref, targets)):
                continue
            out.append(EffectiveChange(ref.address, b, a))
            if a.policy != b.policy:
                if ref.level == "Service":
                    services += 1
                elif ref.level == "Partition":
                    partitions += 1
    return tuple(out), services, partitions
