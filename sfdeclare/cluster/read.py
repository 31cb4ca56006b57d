"""Reading the live state a plan needs: the orchestration of a whole read, independent requests in parallel.

The scope (model/scope.py) says what to read, and is required: a plan made from a declaration and a reviewed
plan file re-read for apply both name theirs, so the two reads cannot differ. The requests themselves are the
Client's typed calls; this module decides which to make, in which order, and assembles a LiveState.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from sfdeclare.cluster.client import Client
from sfdeclare.errors import ClusterError
from sfdeclare.model.addresses import EntityRef, application_name
from sfdeclare.model.live import LiveApplication, LivePartition, LiveService, LiveState
from sfdeclare.model.scope import ReadScope
from sfdeclare.servicefabric import codes, replies

_MISSING_ENTITY_CODES = frozenset({codes.APPLICATION_NOT_FOUND, codes.SERVICE_DOES_NOT_EXIST})


def read_state(client: Client, scope: ReadScope, *, parallelism: int = 10) -> LiveState:
    """The live state ``scope`` names (model/scope.py: what a declaration, or a reviewed plan, reads), with the
    fewest requests, independent reads in parallel.

    Round one:
    - every policy: one request (MaxResults=0 means all), more only if the cluster pages anyway;
    - per declared application: its services, and its application-level GetBackupConfigurationInfo, which lists
      every explicit mapping in the application and its suspended children (so one request covers them all);
    - partitions only of services that declare partition-level settings;
    - every application (GET /Applications, plus each one's configuration) only when the scope reads them all
      (``scope: cluster`` or ``--all-applications``).
    Round two, only where round one found backup configuration it cannot place:
    - the services of each undeclared application read in round one that has backup configured (to list what
      a plan changes there);
    - the partitions of each service holding a partition-level mapping or suspension whose partitions were not
      read (a service re-created since has new partition ids: the old ones are orphans no request can address).

    No request is spent on an application's own suspension that the listing hides: none can show it (a 6.4
    partition without an effective policy answers null, SF-BACKUP-API.md §5.4), so it stays unknown
    (``LiveState.hidden_application_suspension``).

    A declared application that does not exist is left out of ``applications`` (the planner reports it).
    Policies the scope leaves out (``ReadScope.policy_relevant``) are kept by name only (``foreign_policies``).
    """
    start = client.requests
    every_app = scope.all_applications
    declared = [application_name(app) for app in scope.applications]
    partition_services = list(scope.partition_services)
    with ThreadPoolExecutor(max_workers=max(1, parallelism), thread_name_prefix="sfdeclare-read") as pool:
        try:
            policies = pool.submit(client.list_policies)
            listing = pool.submit(client.list_applications) if every_app else None
            services = {app: pool.submit(_services_or_none, client, app) for app in declared}
            configs = {app: pool.submit(client.configuration_info, EntityRef(app)) for app in declared}
            partitions = {svc: pool.submit(_partitions_or_none, client, svc) for svc in partition_services}
            applications: dict[str, LiveApplication] = {}
            if listing is not None:
                for app in listing.result():
                    applications[app.name] = app
                    if app.name not in configs:
                        configs[app.name] = pool.submit(client.configuration_info, EntityRef(app.name))
            # In the order the reads were queued, so this thread digests answers while later ones are in flight.
            for app_name, future in services.items():
                found = future.result()
                if found is None:
                    applications.pop(app_name, None)
                    continue
                known = applications.get(app_name, LiveApplication(app_name))
                applications[app_name] = replace(known, services=tuple(found))
            mappings: dict[EntityRef, str] = {}
            suspensions: set[EntityRef] = set()
            hidden: set[str] = set()
            configured_here: set[str] = set()
            for app_name, config_future in configs.items():
                explicit = replies.explicit_configuration(config_future.result())
                mappings.update(explicit.mappings)
                suspensions.update(explicit.suspensions)
                if explicit.mappings or explicit.suspensions:
                    configured_here.add(app_name)
                if not explicit.application_suspension_shown:
                    hidden.add(app_name)
            read_partitions: dict[str, tuple[LivePartition, ...] | None] = {
                svc: future.result() for svc, future in partitions.items()
            }
            # round two
            more_services = {
                app: pool.submit(_services_or_none, client, app)
                for app in sorted(configured_here)
                if app in applications and applications[app].services is None
            }
            more_partitions = {
                svc: pool.submit(_partitions_or_none, client, svc)
                for svc in _unplaced_partition_services(mappings, suspensions, applications, read_partitions)
            }
            for app_name, future in more_services.items():
                found = future.result()
                applications[app_name] = replace(applications[app_name], services=tuple(found or ()))
            read_partitions.update({svc: future.result() for svc, future in more_partitions.items()})
            for app_name, app in applications.items():
                listed = app.services or ()
                if any(s.name in read_partitions for s in listed):
                    with_partitions = tuple(
                        replace(s, partitions=read_partitions.get(s.name, s.partitions)) for s in listed
                    )
                    applications[app_name] = replace(app, services=with_partitions)
            live_policies = policies.result()
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return LiveState(
        policies={name: body for name, body in live_policies.items() if scope.policy_relevant(name)},
        applications=applications,
        mappings=mappings,
        suspensions=frozenset(suspensions),
        configured_applications=frozenset(configs),
        hidden_application_suspension=frozenset(hidden),
        foreign_policies=frozenset(name for name in live_policies if not scope.policy_relevant(name)),
        requests=client.requests - start,
    )


def _unplaced_partition_services(
    mappings: Mapping[EntityRef, str],
    suspensions: set[EntityRef],
    applications: Mapping[str, LiveApplication],
    read: Mapping[str, tuple[LivePartition, ...] | None],
) -> list[str]:
    """Services holding a partition-level mapping or suspension whose partitions this read has not listed (and
    that, as far as it knows, exist)."""
    out: set[str] = set()
    for ref in (*mappings, *suspensions):
        if ref.partition is None or ref.service is None or ref.service in read:
            continue
        app = applications.get(ref.application)
        svc = app.service(ref.service) if app is not None else None
        if app is not None and app.services is not None and svc is None:
            continue  # the service itself is gone
        if svc is None or svc.partitions is None:
            out.add(ref.service)
    return sorted(out)


def entity_gone(client: Client, ref: EntityRef) -> bool:
    """Whether an entity a policy is mapped to has left the cluster (one request; pruning's existence check)."""
    try:
        if ref.partition is not None:
            return client.get_partition(ref.partition) is None
        if ref.service is not None:
            return client.get_service(ref.application, ref.service) is None
        client.list_services(ref.application)
        return False
    except ClusterError as exc:
        if exc.status == 404 and exc.code in _MISSING_ENTITY_CODES:
            return True
        raise


def count_partitions(client: Client, services: Sequence[str], parallelism: int = 10) -> dict[str, int]:
    """How many partitions each of ``services`` has (one paged GetPartitions each, in parallel): what a plan's
    impact needs for the services whose backups it changes and whose partitions it did not read. A service
    that no longer exists is left out."""
    if not services:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, parallelism), thread_name_prefix="sfdeclare-count") as pool:
        try:
            futures = {svc: pool.submit(_partitions_or_none, client, svc) for svc in services}
            found = {svc: future.result() for svc, future in futures.items()}
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return {svc: len(parts) for svc, parts in found.items() if parts is not None}


def _services_or_none(client: Client, app: str) -> list[LiveService] | None:
    try:
        return client.list_services(app)
    except ClusterError as exc:
        if exc.status == 404 and exc.code in _MISSING_ENTITY_CODES:
            return None
        raise


def _partitions_or_none(client: Client, service: str) -> tuple[LivePartition, ...] | None:
    try:
        return tuple(client.list_partitions(service))
    except ClusterError as exc:
        if exc.status == 404 and exc.code in _MISSING_ENTITY_CODES:
            return None
        raise
