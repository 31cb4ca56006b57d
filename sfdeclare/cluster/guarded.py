"""The extra reads ``require_backup`` costs: the applications a guardrail covers that the plan's own read left
out or read only in part.

- with application patterns: one GET /Applications (unless the run listed them already), then, for each
  matching application the run did not read: its services (GetServices) and its explicit mappings (one
  application-level GetBackupConfigurationInfo), in parallel;
- for an application the run listed without its services (``scope: cluster``): its services.

Partitions are not read: a service is judged by its service-level effective policy, and by its partitions'
own mappings only where the run read its partitions. The answer is a LiveState of its own, kept apart from the
plan's (the plan, its digest and a reviewed plan's stale check never see it).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from sfdeclare.cluster.client import Client
from sfdeclare.model.addresses import EntityRef
from sfdeclare.model.guardrails import Guardrails, matches_any
from sfdeclare.model.live import LiveApplication, LiveState
from sfdeclare.servicefabric import replies


def guarded_applications(rules: Guardrails, live: LiveState, listed: list[str] | None = None) -> list[str]:
    """The applications ``require_backup`` covers: those the run read that a rule covers, and, with
    patterns, every matching one in ``listed`` (the cluster's applications)."""
    names = set(live.applications)
    if listed is not None:
        names |= {name for name in listed if matches_any(name, rules.backup_patterns())}
    return sorted(name for name in names if rules.requiring_backup(name) is not None)


def read_guarded(
    client: Client, rules: Guardrails, live: LiveState, parallelism: int, *, listed_all: bool = False
) -> LiveState:
    """What ``require_backup`` needs beyond ``live``: services and mappings of the covered applications
    (``listed_all``: the run listed every application already, scope: cluster or --all-applications)."""
    start = client.requests
    listed: list[str] | None = None
    if rules.backup_patterns():
        listed = sorted(live.applications) if listed_all else [a.name for a in client.list_applications()]
    wanted = guarded_applications(rules, live, listed)
    need_services = [
        name for name in wanted if name not in live.applications or live.applications[name].services is None
    ]
    need_config = [name for name in wanted if name not in live.configured_applications]
    applications: dict[str, LiveApplication] = {}
    mappings: dict[EntityRef, str] = {}
    with ThreadPoolExecutor(max_workers=max(1, parallelism), thread_name_prefix="sfdeclare-guard") as pool:
        services = {name: pool.submit(client.list_services, name) for name in need_services}
        configs = {name: pool.submit(client.configuration_info, EntityRef(name)) for name in need_config}
        for name, future in services.items():
            known = live.applications.get(name, LiveApplication(name))
            applications[name] = replace(known, services=tuple(future.result()))
        for config in configs.values():
            mappings.update(replies.explicit_configuration(config.result()).mappings)
    return LiveState(
        applications=applications,
        mappings=mappings,
        configured_applications=frozenset(need_config),
        requests=client.requests - start,
    )
