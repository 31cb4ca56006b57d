"""What part of the cluster a run reads, derived from the declaration alone (no I/O): the planner, drift,
the client's read and the plan file's stale check all use the same scope.

Addresses a run names (``--target``, ``explain``'s entity) are read too, so that it can tell an entity that
exists from one that does not: an undeclared application's services and configuration, a partition's service's
partitions. Under ``scope: declared`` reading them changes no plan (undeclared applications are not managed).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

from sfdeclare.model.addresses import AddressError, EntityRef, application_name, parse_address, service_name
from sfdeclare.model.declaration import Declaration


@dataclass(frozen=True)
class ReadScope:
    """What part of the cluster a plan read: enough to read the same part again for a stale-plan check."""

    applications: tuple[str, ...] = ()
    partition_services: tuple[str, ...] = ()
    all_applications: bool = False
    prune_candidates: tuple[str, ...] = ()  # ("*",): read the mappings of every policy nothing declares
    declared_policies: tuple[str, ...] = ()
    # None: every live policy matters to the plan. Otherwise only these (declared and referenced ones) and those
    # ``prune_match`` selects; the others belong to someone else and stay out of the plan and its digest.
    policy_names: tuple[str, ...] | None = None
    prune_match: str | None = None

    def policy_relevant(self, name: str) -> bool:
        if self.policy_names is None or name in self.policy_names:
            return True
        return self.prune_match is not None and fnmatchcase(name, self.prune_match)


def read_scope(
    declaration: Declaration, *, all_applications: bool = False, also_read: Iterable[str] = ()
) -> ReadScope:
    """What a plan of ``declaration`` must read from the cluster; ``also_read``: addresses the run names (a
    malformed one is left to the address parser's callers to refuse)."""
    applications = [application_name(app.name) for app in declaration.applications.values()]
    partition_services = [
        service_name(app.name, svc.name)
        for app in declaration.applications.values()
        for svc in app.services
        if svc.partitions
    ]
    for address in also_read:
        try:
            ref = parse_address(address, applications)
        except AddressError:
            continue
        if not isinstance(ref, EntityRef):
            continue
        if ref.application not in applications:
            applications.append(ref.application)
        if ref.partition is not None and ref.service not in partition_services:
            assert ref.service is not None
            partition_services.append(ref.service)
    prune = declaration.prune_policies
    every_app = all_applications or declaration.scope == "cluster"
    every_policy = every_app or (prune and declaration.prune_match is None)
    return ReadScope(
        applications=tuple(applications),
        partition_services=tuple(partition_services),
        all_applications=every_app,
        prune_candidates=("*",) if prune else (),
        declared_policies=tuple(declaration.policies) if prune else (),
        policy_names=None
        if every_policy
        else tuple(dict.fromkeys([*declaration.policies, *declaration.referenced_policies()])),
        prune_match=declaration.prune_match if prune else None,
    )
