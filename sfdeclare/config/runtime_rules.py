"""What a runtime accepts, checked on declared policies: one wording each, here.

``for_runtime``: what depends on the runtime: a field or storage kind the runtime does not accept is an error
  at the line that writes it, naming the runtime that added it. The best practices that depend on the runtime
  (credentials in a policy on runtimes that put a health warning on them, a policy without RetentionPolicy on
  runtimes that support one) are warnings of the one rules engine (``servicefabric/policy_rules.py``), which
  this calls with the runtime; the ones that hold on every runtime (``AutoRestoreOnDataLoss: true``) the
  loader runs itself.
  The loader runs them when ``cluster.runtime`` names a runtime; otherwise ``plan`` runs them against the
  runtime it read from the cluster (``commands.session``), and ``validate`` says so (``DEFERRED``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from sfdeclare.errors import Diagnostic
from sfdeclare.model.declaration import ClusterSettings, PolicyDecl
from sfdeclare.model.guardrails import NO_GUARDRAILS, Guardrails
from sfdeclare.servicefabric import policy_fields, policy_rules, runtimes
from sfdeclare.servicefabric.runtimes import Runtime

DEFERRED = (
    "cluster.runtime is auto: the checks that depend on the cluster's runtime run at plan, against the runtime "
    "it reads from the cluster (set cluster.runtime to check them here)"
)


def not_accepted(what: str, runtime: Runtime, feature: str) -> str:
    return f"{what} is not accepted by runtime {runtime}: {runtimes.introduced(feature)} added it"


def validate_storage_ignored(runtime: Runtime) -> str:
    return (
        f"validate_storage: runtime {runtime} does not check storage before accepting a policy "
        f"({runtimes.introduced(runtimes.VALIDATE_CONNECTION)} added ValidateConnection): not sent"
    )


def _storage(policy: PolicyDecl) -> Mapping[str, Any]:
    storage = policy.body.get("Storage")
    return storage if isinstance(storage, Mapping) else {}


def _policy(policy: PolicyDecl, runtime: Runtime, rules: Guardrails) -> Iterable[Diagnostic]:
    storage = _storage(policy)
    kind = storage.get("StorageKind")
    name = policy.name
    if kind == policy_fields.MANAGED_IDENTITY and not runtime.has(runtimes.MANAGED_IDENTITY_STORAGE):
        yield Diagnostic(
            "error",
            f"policy {name}: "
            + not_accepted(f"StorageKind {kind}", runtime, runtimes.MANAGED_IDENTITY_STORAGE),
            policy.where("Storage.StorageKind"),
        )
    elif policy_fields.CLIENT_ID in storage and not runtime.has(runtimes.MANAGED_IDENTITY_CLIENT_ID):
        yield Diagnostic(
            "error",
            f"policy {name}: "
            + not_accepted(policy_fields.CLIENT_ID, runtime, runtimes.MANAGED_IDENTITY_CLIENT_ID),
            policy.where(f"Storage.{policy_fields.CLIENT_ID}"),
        )
    for field, feature in (
        (policy_fields.QUICK_RECOVERY, runtimes.QUICK_RECOVERY),
        (policy_fields.COMPRESSION, runtimes.COMPRESSION),
    ):
        if field in policy.body and not runtime.has(feature):
            yield Diagnostic(
                "error", f"policy {name}: " + not_accepted(field, runtime, feature), policy.where(field)
            )
    yield from policy_rules.runtime_practices(name, policy.body, rules, policy.where, runtime)


def for_runtime(
    policies: Iterable[PolicyDecl],
    cluster: ClusterSettings,
    runtime: Runtime,
    rules: Guardrails = NO_GUARDRAILS,
) -> list[Diagnostic]:
    """Everything that depends on ``runtime``: the cluster settings' fit, then each policy's fields and the
    best practices that depend on the runtime (the rules engine's, ``servicefabric/policy_rules.py``)."""
    found: list[Diagnostic] = []
    if cluster.api_version_location is not None:
        conflict = runtimes.api_version_conflict(cluster.api_version, runtime)
        if conflict:
            found.append(Diagnostic("error", conflict, cluster.api_version_location))
    if cluster.validate_storage and not runtime.has(runtimes.VALIDATE_CONNECTION):
        found.append(Diagnostic("warning", validate_storage_ignored(runtime), cluster.location))
    for policy in policies:
        found.extend(_policy(policy, runtime, rules))
    return found


def resolve_cluster(cluster: ClusterSettings, runtime: Runtime) -> ClusterSettings:
    """The settings a run speaks with: the api-version derived from the runtime unless written, and
    validate_storage on exactly where the runtime checks storage (unless written false)."""
    api_version = cluster.api_version if cluster.api_version_location is not None else runtime.api_version
    validate = cluster.validate_storage is not False and runtime.has(runtimes.VALIDATE_CONNECTION)
    return replace(cluster, api_version=api_version, validate_storage=validate)
