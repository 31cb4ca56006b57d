"""What part of the cluster a run reads, derived from the declaration alone (no I/O): the planner, drift,
the client's read and the plan file's stale check all use the same scope.
"""

from __future__ import annotations

from dataclasses import dataclass

from sfdeclare.model.addresses import application_name, service_name
from sfdeclare.model.declaration import Declaration


@dataclass(frozen=True)
class ReadScope:
    """What part of the cluster a plan read: enough to read the same part again for a stale-plan check."""

    applications: tuple[str, ...] = ()
    partition_services: tuple[str, ...] = ()
    all_applications: bool = False
    prune_candidates: tuple[str, ...] = ()  # ("*",): read the mappings of every policy nothing declares
    declared_policies: tuple[str, ...] = ()
    suspension_probes: tuple[str, ...] = ()  # applications whose own suspension the declaration manages


def read_scope(declaration: Declaration, *, all_applications: bool = False) -> ReadScope:
    """What a plan of ``declaration`` must read from the cluster."""
    partition_services = tuple(
        service_name(app.name, svc.name)
        for app in declaration.applications.values()
        for svc in app.services
        if svc.partitions
    )
    prune = declaration.prune_policies
    return ReadScope(
        applications=tuple(application_name(app.name) for app in declaration.applications.values()),
        partition_services=partition_services,
        all_applications=all_applications or declaration.scope == "cluster",
        prune_candidates=("*",) if prune else (),
        declared_policies=tuple(declaration.policies) if prune else (),
        suspension_probes=tuple(
            application_name(app.name)
            for app in declaration.applications.values()
            if app.settings.suspended is not None
        ),
    )
