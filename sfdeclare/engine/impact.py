"""What a plan changes in backups: per-partition figures of the policies involved, and totals before and after
the plan per application and overall. Pure; the figures of one policy come from servicefabric/backup_schedule.py.

Every backup-eligible partition of every application whose configuration the plan read is resolved before and
after the plan (the live mappings and suspensions, then the plan's mapping actions applied, ``state_after``) and
priced with the policy body it has before (live) and after (the body the plan creates or updates). Only
partitions whose backups change are totalled (the others cost the same before and after): partitions whose
effective policy or suspension changes move between policies, a policy update re-prices every partition under
it, suspended partitions take no backups (their restore points are not counted: retention keeps ageing them out
down to the last chain). Services whose partitions the plan did not read are counted with the partition counts
the caller supplies (``services_to_count`` names them), else reported as ``unknown_services``.

The figures themselves and their published JSON form are ``engine/impact_figures.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from sfdeclare.engine.impact_figures import ApplicationImpact, PlanImpact, Totals, priced
from sfdeclare.engine.plan import Action, Change, state_after
from sfdeclare.model.addresses import EntityRef, PolicyRef
from sfdeclare.model.inheritance import NOTHING, Effective, inherit
from sfdeclare.model.live import LiveApplication, LiveState
from sfdeclare.servicefabric.backup_schedule import PolicyImpact, policy_impact

# --- a plan's impact -----------------------------------------------------------------------------------------


def _impacts(bodies: Mapping[str, Mapping[str, Any]]) -> dict[str, PolicyImpact]:
    out: dict[str, PolicyImpact] = {}
    for name, body in bodies.items():
        try:
            out[name] = policy_impact(body)
        except (ValueError, TypeError, KeyError):
            continue  # priced as unknown: a body the server would not hold
    return out


def policies_after(changes: Sequence[Change], live: LiveState) -> dict[str, Mapping[str, Any]]:
    """Every policy body once ``changes`` are applied: live bodies, replaced by what they create or update,
    without what they delete."""
    bodies: dict[str, Mapping[str, Any]] = dict(live.policies)
    for change in changes:
        if not isinstance(change.target, PolicyRef):
            continue
        name = change.target.name
        if change.action in (Action.CREATE_POLICY, Action.UPDATE_POLICY) and isinstance(
            change.after, Mapping
        ):
            bodies[name] = change.after
        elif change.action is Action.DELETE_POLICY:
            bodies.pop(name, None)
    return bodies


def _is_backing_up(e: Effective) -> bool:
    return e.policy is not None and not e.suspended


class _Walk:
    """Resolves every backup-eligible partition of the read applications before and after the changes."""

    def __init__(self, changes: Sequence[Change], live: LiveState) -> None:
        self.live = live
        self.before_policies = _impacts(live.policies)
        self.after_policies = _impacts(policies_after(changes, live))
        self.after_mappings, self.after_suspensions = state_after(live, changes)
        changed = {c.target.name for c in changes if isinstance(c.target, PolicyRef)}
        self.used_before: set[str] = set(changed)
        self.used_after: set[str] = set(changed)
        self._prices: dict[tuple[Effective, Effective], tuple[Totals, Totals] | None] = {}
        # service -> partitions with a mapping or suspension of their own
        self.explicit: dict[str, set[str]] = {}
        for ref in (*live.mappings, *self.after_mappings, *live.suspensions, *self.after_suspensions):
            if ref.partition is not None and ref.service is not None:
                self.explicit.setdefault(ref.service, set()).add(ref.partition)

    def prices(self, before: Effective, after: Effective) -> tuple[Totals, Totals] | None:
        """The two prices of one partition, or None when its backups do not change (memoised: a plan has few
        distinct pairs of settings and many partitions)."""
        key = (before, after)
        if key not in self._prices:
            old = priced(before, self.before_policies.get(before.policy or ""))
            new = priced(after, self.after_policies.get(after.policy or ""))
            self._prices[key] = None if before == after and old == new else (old, new)
        return self._prices[key]

    def note(self, before: Effective, after: Effective) -> None:
        """Remember the policies a changed partition uses, to report their per-partition figures."""
        self.used_before.add(before.policy or "")
        self.used_after.add(after.policy or "")

    def services(self, app: LiveApplication) -> Iterator[tuple[str, Effective, Effective]]:
        app_ref = EntityRef(app.name)
        app_before = inherit(NOTHING, app_ref, self.live.mappings, self.live.suspensions)
        app_after = inherit(NOTHING, app_ref, self.after_mappings, self.after_suspensions)
        for svc in app.services or ():
            if svc.backup_eligible:
                ref = EntityRef(app.name, svc.name)
                yield (
                    svc.name,
                    inherit(app_before, ref, self.live.mappings, self.live.suspensions),
                    inherit(app_after, ref, self.after_mappings, self.after_suspensions),
                )

    def partition(
        self, app: str, svc: str, pid: str, before: Effective, after: Effective
    ) -> tuple[Effective, Effective]:
        ref = EntityRef(app, svc, pid)
        return (
            inherit(before, ref, self.live.mappings, self.live.suspensions),
            inherit(after, ref, self.after_mappings, self.after_suspensions),
        )

    def changed(self, app: LiveApplication, svc_name: str, before: Effective, after: Effective) -> bool:
        """Whether any partition of a service whose partitions were not read can change."""
        if self.prices(before, after) is not None:
            return True
        return any(
            self.prices(*self.partition(app.name, svc_name, pid, before, after)) is not None
            for pid in self.explicit.get(svc_name, ())
        )


def services_to_count(changes: Sequence[Change], live: LiveState) -> tuple[str, ...]:
    """The services whose partitions ``live`` does not hold and whose backups ``changes`` change: the ones whose
    partitions must be counted for :func:`plan_impact` to total them."""
    walk = _Walk(changes, live)
    out: list[str] = []
    for name in sorted(live.configured_applications):
        app = live.applications.get(name)
        if app is None:
            continue
        for svc_name, before, after in walk.services(app):
            svc = app.service(svc_name)
            if svc is not None and svc.partitions is None and walk.changed(app, svc_name, before, after):
                out.append(svc_name)
    return tuple(out)


def plan_impact(
    changes: Sequence[Change], live: LiveState, partition_counts: Mapping[str, int] | None = None
) -> PlanImpact:
    """Backups per day and restore points before and after ``changes`` (a plan's actions), per application and
    overall, over the partitions whose backups change.

    ``partition_counts`` gives, for services whose partitions ``live`` does not hold (service name -> count),
    how many partitions they have (see :func:`services_to_count`); a changed service in neither is counted in
    ``unknown_services``.
    """
    if not changes:
        return PlanImpact({}, {}, (), Totals(), Totals())
    counts = partition_counts or {}
    walk = _Walk(changes, live)
    apps: list[ApplicationImpact] = []
    overall_before = overall_after = Totals()
    for name in sorted(live.configured_applications):
        app = live.applications.get(name)
        if app is None:
            continue
        groups: dict[tuple[Effective, Effective], int] = {}  # partitions by their (before, after) settings
        gaining = losing = unknown = 0
        for svc_name, svc_before, svc_after in walk.services(app):
            if _is_backing_up(svc_after) and not _is_backing_up(svc_before):
                gaining += 1
            elif _is_backing_up(svc_before) and not _is_backing_up(svc_after):
                losing += 1
            uncounted = False
            for pair, count in _partition_groups(walk, app, svc_name, svc_before, svc_after, counts):
                if walk.prices(*pair) is None:
                    continue
                walk.note(*pair)
                if count is None:
                    uncounted = True
                    continue
                groups[pair] = groups.get(pair, 0) + count
            unknown += uncounted
        before_total = after_total = Totals()
        for pair, count in groups.items():
            prices = walk.prices(*pair)
            assert prices is not None
            before_total = before_total.plus(_times(prices[0], count))
            after_total = after_total.plus(_times(prices[1], count))
        if before_total == after_total == Totals() and not (gaining or losing or unknown):
            continue
        apps.append(ApplicationImpact(name, before_total, after_total, gaining, losing, unknown))
        overall_before = overall_before.plus(before_total)
        overall_after = overall_after.plus(after_total)
    return PlanImpact(
        {n: i for n, i in sorted(walk.before_policies.items()) if n in walk.used_before},
        {n: i for n, i in sorted(walk.after_policies.items()) if n in walk.used_after},
        tuple(apps),
        overall_before,
        overall_after,
    )


def _times(totals: Totals, count: int) -> Totals:
    if count == 1:
        return totals
    return Totals(
        totals.partitions * count,
        totals.protected * count,
        totals.suspended * count,
        totals.unpriced * count,
        totals.unbounded * count,
        totals.backups_per_day * count,
        totals.full_per_day * count,
        totals.incremental_per_day * count,
        (totals.restore_points[0] * count, totals.restore_points[1] * count),
    )


def _partition_groups(
    walk: _Walk,
    app: LiveApplication,
    svc_name: str,
    before: Effective,
    after: Effective,
    counts: Mapping[str, int],
) -> Iterator[tuple[tuple[Effective, Effective], int | None]]:
    """(before, after) settings of a service's partitions, with how many share them (None: not known)."""
    svc = app.service(svc_name)
    if svc is not None and svc.partitions is not None:
        for p in svc.partitions:
            yield walk.partition(app.name, svc_name, p.id, before, after), 1
        return
    total = counts.get(svc_name)
    own = sorted(walk.explicit.get(svc_name, ()))
    if total is None:
        yield (before, after), None
        for pid in own:
            yield walk.partition(app.name, svc_name, pid, before, after), None
        return
    own = own[:total]
    if total > len(own):
        yield (before, after), total - len(own)
    for pid in own:
        yield walk.partition(app.name, svc_name, pid, before, after), 1


# --- the published form (a plan file's "impact") ----------------------------------------------------------------
