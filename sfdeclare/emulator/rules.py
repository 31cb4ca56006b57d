"""The backup service's rules: policy CRUD, enable / disable / suspend / resume, configuration info.

Each function runs inside one state transaction and either changes the state and returns, or raises a
FabricFault having changed nothing (the caller rolls the transaction back).
"""

from __future__ import annotations

from typing import Any

from sfdeclare.emulator import fabric_errors as fe
from sfdeclare.emulator.entities import Entity, app_key, service_key
from sfdeclare.emulator.fabric_errors import FabricFault
from sfdeclare.emulator.policies import BoundPolicy, normalise, render
from sfdeclare.emulator.state import Assignment, Tx

NOT_SUSPENDED = {"IsSuspended": False, "SuspensionInheritedFrom": "Invalid"}


def _policy_missing() -> FabricFault:
    return FabricFault(fe.POLICY_DOES_NOT_EXIST, "Fabric Backup Policy doesn't exist")


def _not_enabled(message: str) -> FabricFault:
    return FabricFault(fe.BACKUP_NOT_ENABLED, message)


def paged(items: list[Any], token: str | None, max_results: int) -> dict[str, Any]:
    """A page of ``(key, item)`` pairs sorted by key: keys after ``token``, at most ``max_results`` (0 = all)."""
    rest = [(k, v) for k, v in items if token is None or k > token]
    if max_results == 0 or len(rest) <= max_results:
        return {"ContinuationToken": None, "Items": [v for _, v in rest]}
    page = rest[:max_results]
    return {"ContinuationToken": page[-1][0], "Items": [v for _, v in page]}


# policies


def create_policy(tx: Tx, bound: BoundPolicy) -> None:
    policy = normalise(bound)
    if tx.policy(policy["Name"]) is not None:
        raise FabricFault(fe.POLICY_ALREADY_EXISTS, "Fabric Backup Policy already exists.")
    tx.put_policy(policy)


def list_policies(tx: Tx, token: str | None, max_results: int, runtime: str) -> dict[str, Any]:
    limit = -1 if max_results == 0 else max_results + 1
    found = tx.policies(token, limit)
    more = max_results != 0 and len(found) > max_results
    page = found[:max_results] if more else found
    return {
        "ContinuationToken": page[-1]["Name"] if more else None,
        "Items": [render(p, runtime=runtime) for p in page],
    }


def get_policy(tx: Tx, name: str, runtime: str) -> dict[str, Any]:
    policy = tx.policy(name)
    if policy is None:
        raise _policy_missing()
    return render(policy, runtime=runtime)


def update_policy(tx: Tx, name: str, bound: BoundPolicy) -> None:
    if tx.policy(name) is None:
        raise _policy_missing()
    policy = normalise(bound)
    policy["Name"] = name  # the body's Name is ignored: a policy cannot be renamed
    tx.put_policy(policy)


def purge_orphan_mappings(tx: Tx, name: str) -> None:
    """Delete's first step, committed on its own: mappings of entities no longer in the cluster go."""
    for mapping in tx.mappings_of_policy(name):
        if not tx.entity_exists(mapping):
            tx.delete_mapping(mapping.key)


def delete_policy(tx: Tx, name: str) -> None:
    if tx.policy(name) is None:
        raise _policy_missing()
    if tx.mappings_of_policy(name, limit=1):
        raise FabricFault(fe.BACKUP_IS_ENABLED, "Backup Mapping Exist for the Backup Policy")
    tx.delete_policy(name)


def enabled_entities(tx: Tx, name: str, token: str | None, max_results: int) -> dict[str, Any]:
    if tx.policy(name) is None:
        raise _policy_missing()
    limit = -1 if max_results == 0 else max_results + 1
    found = tx.mappings_of_policy(name, token, limit)
    more = max_results != 0 and len(found) > max_results
    page = found[:max_results] if more else found
    return {"ContinuationToken": page[-1].key if more else None, "Items": [_backup_entity(m) for m in page]}


def _backup_entity(mapping: Assignment) -> dict[str, Any]:
    if mapping.kind == "Application":
        return {"EntityKind": "Application", "ApplicationName": mapping.app}
    if mapping.kind == "Service":
        return {"EntityKind": "Service", "ServiceName": mapping.service}
    return {"EntityKind": "Partition", "ServiceName": mapping.service, "PartitionId": mapping.partition}


# mappings and suspensions


def enable(tx: Tx, entity: Entity, policy_name: str) -> None:
    if tx.policy(policy_name) is None:
        raise _policy_missing()
    if entity.kind == "Application":
        if tx.application(entity.app) is None:
            raise FabricFault(fe.APPLICATION_NOT_FOUND, f"Application {entity.app} not found")
    else:
        if entity.service_row is None:
            raise FabricFault(fe.SERVICE_DOES_NOT_EXIST, "Service not found")
        if not entity.service_row.backup_eligible:
            raise FabricFault(
                fe.INVALID_FOR_STATELESS, "Not applicable for stateless or non persisted stateful services."
            )
    tx.put_mapping(entity.assignment(policy_name))


def disable(tx: Tx, entity: Entity) -> None:
    if tx.mapping(entity.key) is None:
        raise _not_enabled(
            "Backup has not been configured/ enabled for this specific partition/ service/ application."
        )
    tx.delete_mapping(entity.key)


def _require_mapping_in_app(tx: Tx, entity: Entity) -> None:
    if not tx.any_mapping_in_app(entity.app):
        raise _not_enabled(f"Backup is not enabled for {entity.app} or any of its services and partitions.")


def suspend(tx: Tx, entity: Entity) -> None:
    _require_mapping_in_app(tx, entity)
    tx.put_suspension(entity.assignment())


def resume(tx: Tx, entity: Entity) -> None:
    _require_mapping_in_app(tx, entity)
    tx.delete_suspension(entity.key)


# configuration info


class _Resolver:
    """Effective policy and suspension for any entity of one application, from that application's rows."""

    def __init__(self, tx: Tx, app: str) -> None:
        self.mappings = {m.key: m for m in tx.mappings_in_app(app)}
        self.suspensions = {s.key: s for s in tx.suspensions_in_app(app)}

    @staticmethod
    def chain(item: Assignment) -> list[tuple[str, str]]:
        """(key, level) from the entity itself up to its application."""
        out = []
        if item.partition is not None:
            out.append((item.key, "Partition"))
        if item.service is not None:
            out.append((service_key(item.app, item.service), "Service"))
        out.append((app_key(item.app), "Application"))
        return out

    def suspension_level(self, item: Assignment) -> str | None:
        return next((level for k, level in self.chain(item) if k in self.suspensions), None)

    def info(self, item: Assignment, queried: Assignment | None = None) -> dict[str, Any]:
        """One item. Listed under ``queried``, a child reports its own suspension, else the queried entity's
        (SF-BACKUP-API.md §5.4: levels in between are not looked at)."""
        chain = self.chain(item)
        policy = next(((self.mappings[k].policy, level) for k, level in chain if k in self.mappings), None)
        if queried is None or item.key in self.suspensions:
            suspended = self.suspension_level(item)
        else:
            suspended = self.suspension_level(queried)
        out: dict[str, Any] = {
            "Kind": item.kind,
            "PolicyName": policy[0] if policy else None,
            "PolicyInheritedFrom": policy[1] if policy else "Invalid",
            "SuspensionInfo": (
                {"IsSuspended": True, "SuspensionInheritedFrom": suspended}
                if suspended
                else dict(NOT_SUSPENDED)
            ),
        }
        if item.kind == "Application":
            out["ApplicationName"] = item.app
        else:
            out["ServiceName"] = item.service
        if item.kind == "Partition":
            out["PartitionId"] = item.partition
        return out

    def has_policy(self, item: Assignment) -> bool:
        """Whether a policy applies to an entity (its own mapping or an ancestor's)."""
        return any(k in self.mappings for k, _ in self.chain(item))


def configuration(tx: Tx, entity: Entity, token: str | None, max_results: int) -> dict[str, Any] | None:
    """GetBackupConfigurationInfo: one object (or None) for a partition, a page of items otherwise.

    A partition answers an item only when a policy applies to it: the 6.4 server builds the item where it finds
    the effective mapping (``GetBackupMappingInfoOperation.cs``, partition case; reviews/fidelity-audit.md
    finding 7), so a partition that is suspended but has no effective policy answers ``null`` like one with
    nothing configured: its suspension cannot be read there."""
    resolver = _Resolver(tx, entity.app)
    target = entity.assignment()
    if entity.kind == "Partition":
        return resolver.info(target) if resolver.has_policy(target) else None
    # The entity itself when a policy applies to it (an application only with its own mapping, §5.4), then
    # every child with its own mapping or its own suspension.
    items: list[tuple[str, dict[str, Any]]] = []
    if entity.kind == "Application":
        listed = entity.key in resolver.mappings
    else:
        listed = entity.key in resolver.mappings or app_key(entity.app) in resolver.mappings
    if listed:
        items.append((entity.key, resolver.info(target)))
    prefix = entity.key + "/"
    children = {**resolver.suspensions, **resolver.mappings}
    for key in sorted(children):
        if key.startswith(prefix):
            items.append((key, resolver.info(children[key], target)))
    if not items:
        raise _not_enabled("Backup Mapping is not existing.")
    return paged(items, token, max_results)
