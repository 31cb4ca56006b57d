"""The effective backup settings a plan changes: for every entity of the managed applications that this run read,
its effective policy and suspension before and after (partition > service > application, ``model.inheritance``).

Entities that no longer exist are never listed (a mapping kept for a removed service or partition protects
nothing). Partitions are read only where the plan needs them; a service whose partitions were not read is
counted in ``Impact.unread`` (its partitions follow it unless they have settings of their own)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sfdeclare.engine.plan import Action, Change, EffectiveChange
from sfdeclare.model.addresses import EntityRef, Ref, within
from sfdeclare.model.inheritance import NOTHING, Effective, effective, inherit
from sfdeclare.model.live import LiveApplication, LiveState

# An entity with its effective settings before and after the plan.
_Resolved = tuple[EntityRef, Effective, Effective]


@dataclass(frozen=True)
class Impact:
    """What a plan changes in effect: the entities, and how many services and partitions change effective
    policy or suspension; ``unread``: changing services whose partitions were not read."""

    changes: tuple[EffectiveChange, ...]
    services: int
    partitions: int
    unread: int


def effective_changes(
    live: LiveState,
    after: Mapping[EntityRef, str],
    after_suspensions: frozenset[EntityRef],
    applications: Iterable[str],
    targets: Sequence[Ref] = (),
    changes: Sequence[Change] = (),
) -> Impact:
    """Every known entity of ``applications`` (inside ``targets``) whose effective policy or suspension differs
    between ``live`` and the state after the plan. ``changes``: the plan's, to mark the entities whose stored
    backups a clean_backup disable deletes."""
    out: list[EffectiveChange] = []
    services = partitions = unread = 0
    before_s = live.suspensions
    cleaned = [c.target for c in changes if c.action is Action.DISABLE_BACKUP and c.destructive]
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
        not_read: set[EntityRef] = set()
        for svc in (live_app.services or ()) if live_app else ():
            if not svc.backup_eligible:
                continue
            service = below(app, EntityRef(app_name, svc.name))
            resolved.append(service)
            if svc.partitions is None:
                not_read.add(service[0])
            resolved.extend(below(service, EntityRef(app_name, svc.name, p.id)) for p in svc.partitions or ())
        known = {ref for ref, _, _ in resolved}
        extra = mapped_by_app.get(app_name, set()) - known
        for ref in sorted(extra, key=EntityRef.sort_key):
            if live.exists(ref) is False:
                continue  # gone: it protects nothing, before or after
            resolved.append(
                (ref, effective(ref, live.mappings, before_s), effective(ref, after, after_suspensions))
            )
        for ref, b, a in resolved:
            if a == b or (targets and not within(ref, targets)):
                continue
            deleted = (
                a.policy != b.policy and b.policy is not None and any(within(ref, (t,)) for t in cleaned)
            )
            out.append(EffectiveChange(ref.address, b, a, backups_deleted=deleted))
            if a.policy == b.policy and a.suspended == b.suspended:
                continue  # the same policy and suspension, now decided at another level: shown, not counted
            if ref.level == "Service":
                services += 1
                unread += ref in not_read
            elif ref.level == "Partition":
                partitions += 1
    return Impact(tuple(out), services, partitions, unread)
