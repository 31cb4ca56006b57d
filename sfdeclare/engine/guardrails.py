"""The guardrails only the live cluster can decide, checked on a plan (pure; the reads are cluster/guarded.py).

- ``require_backup``: every stateful service with persisted state in a covered application has a backup policy
  once the plan is applied (its effective policy at service level, or every one of its partitions mapped where
  its partitions were read). The violation points at the service's declaration, else its application's, else
  (an application the configuration does not declare) at the rule's line. Suspensions are not judged: they are
  temporary by design, and drift and status report them.
- a policy the configuration maps but does not declare is judged by the body rules (``servicefabric/policy_rules.py``) as the
  cluster reads it back, at the line that references it.

Declared policies were judged by the loader already (validate and plan alike).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from sfdeclare.engine.plan import Plan, state_after
from sfdeclare.errors import Diagnostic, Location, PlanError
from sfdeclare.model import guardrails as g
from sfdeclare.model.addresses import EntityRef, application_name, service_name
from sfdeclare.model.declaration import Declaration, LevelSettings
from sfdeclare.model.inheritance import effective
from sfdeclare.model.live import LiveApplication, LivePartition, LiveState
from sfdeclare.servicefabric import policy_rules as body_rules

_NOT_SUSPENDED: frozenset[EntityRef] = frozenset()


def _declared_levels(declaration: Declaration) -> dict[EntityRef, LevelSettings]:
    levels: dict[EntityRef, LevelSettings] = {}
    for app in declaration.applications.values():
        name = application_name(app.name)
        levels[EntityRef(name)] = app.settings
        for svc in app.services:
            levels[EntityRef(name, service_name(name, svc.name))] = svc.settings
    return levels


def _policy_references(declaration: Declaration) -> dict[str, Location | None]:
    found: dict[str, Location | None] = {}
    for app, svc, part in declaration.iter_levels():
        settings = (part or svc or app).settings
        if settings.policy is not None and settings.policy not in found:
            found[settings.policy] = settings.policy_location or settings.location
    return found


def _at(where: Location | None) -> body_rules.Where:
    """Every field of a policy read from the cluster points at the line that references the policy."""

    def point(_field: str) -> Location | None:
        return where

    return point


def check_plan(declaration: Declaration, live: LiveState, plan: Plan, guarded: LiveState) -> list[Diagnostic]:
    """Every guardrail the plan's outcome breaks that the files alone could not decide."""
    rules = declaration.guardrails
    found: list[Diagnostic] = []
    for name, where in _policy_references(declaration).items():
        body = live.policies.get(name)
        if name in declaration.policies or body is None:
            continue
        found.extend(body_rules.check_policy(name, body, rules, _at(where)))
    if not rules.require_backup:
        return found
    after, _ = state_after(live, plan.changes)
    mappings = {**guarded.mappings, **after}
    applications: dict[str, LiveApplication] = {**live.applications, **guarded.applications}
    levels = _declared_levels(declaration)
    for app_name in sorted(applications):
        setting = rules.requiring_backup(app_name)
        if setting is None:
            continue
        for svc in applications[app_name].services or ():
            if not svc.backup_eligible:
                continue
            ref = EntityRef(app_name, svc.name)
            if effective(ref, mappings, _NOT_SUSPENDED).policy is not None or _partitions_covered(
                ref, svc.partitions, mappings
            ):
                continue
            declared = levels.get(ref) or levels.get(EntityRef(app_name))
            if declared is not None:
                where, note = declared.location, ""
            else:
                where, note = setting.location, f" (application {app_name} is not declared)"
            found.append(
                Diagnostic(
                    "error",
                    body_rules.guardrail_prefix(g.REQUIRE_BACKUP, setting)
                    + f"service {svc.name} is stateful with persisted state and has no backup policy after "
                    f"this plan{note}",
                    where,
                    rule=f"guardrail/{g.REQUIRE_BACKUP}",
                )
            )
    return found


def _partitions_covered(
    ref: EntityRef, partitions: tuple[LivePartition, ...] | None, mappings: Mapping[EntityRef, str]
) -> bool:
    """Whether every partition of a service whose partitions were read has a mapping of its own."""
    if not partitions:
        return False
    return all(EntityRef(ref.application, ref.service, p.id) in mappings for p in partitions)


def judged(declaration: Declaration, live: LiveState, plan: Plan, guarded: LiveState) -> Plan:
    """``plan`` with the guardrails' findings among its diagnostics; raises PlanError when one is an error."""
    found = check_plan(declaration, live, plan, guarded)
    if not found:
        return plan
    diagnostics = (*plan.diagnostics, *found)
    if any(d.severity == "error" for d in found):
        raise PlanError(list(diagnostics))
    return replace(plan, diagnostics=diagnostics)
