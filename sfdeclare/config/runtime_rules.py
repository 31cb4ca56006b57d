"""What a runtime accepts, and Microsoft's best practices, checked on declared policies: one wording each, here.

Two kinds of rule:
- ``offline``: rules that hold on every runtime (``AutoRestoreOnDataLoss: true``); ``validate`` and ``plan``
  report them through the loader.
- ``for_runtime``: what depends on the runtime: a field or storage kind the runtime does not accept is an error
  at the line that writes it, naming the runtime that added it; credentials in a policy on runtimes that put a
  health warning on them, and a policy without RetentionPolicy on runtimes that support one, are warnings.
  The loader runs them when ``cluster.runtime`` names a runtime; otherwise ``plan`` runs them against the
  runtime it read from the cluster (``commands.session``), and ``validate`` says so (``DEFERRED``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from sfdeclare.errors import Diagnostic
from sfdeclare.model.declaration import ClusterSettings, PolicyDecl
from sfdeclare.servicefabric import policy_fields, runtimes
from sfdeclare.servicefabric.runtimes import Runtime

DEFERRED = (
    "cluster.runtime is auto: the checks that depend on the cluster's runtime run at plan, against the runtime "
    "it reads from the cluster (set cluster.runtime to check them here)"
)


def not_accepted(what: str, runtime: Runtime, feature: str) -> str:
    return f"{what} is not accepted by runtime {runtime}: {runtimes.introduced(feature)} added it"


def plain_text_credentials(secret: str, kind: str) -> str:
    instead = (
        "use ManagedIdentityAzureBlobStore storage on Azure"
        if kind == "AzureBlobStore"
        else "have the cluster encrypt them with its encryption certificate "
        "(BackupRestoreService SecretEncryptionCertThumbprint)"
    )
    return (
        f"Storage.{secret}: credentials in a backup policy are on the deprecation path (Service Fabric 9.0 CU5 "
        f"and 9.1 CU1 put a health warning on them): {instead}"
    )


AUTO_RESTORE = (
    "AutoRestoreOnDataLoss: true restores the latest backup by itself after data loss, losing what was written "
    "since; Microsoft advises against it in production"
)


def no_retention(runtime: Runtime) -> str:
    return (
        f"no RetentionPolicy: backups are kept for ever (runtime {runtime} supports one, e.g. "
        "RetentionPolicy: {RetentionPolicyType: Basic, RetentionDuration: P30D})"
    )


def validate_storage_ignored(runtime: Runtime) -> str:
    return (
        f"validate_storage: runtime {runtime} does not check storage before accepting a policy "
        f"({runtimes.introduced(runtimes.VALIDATE_CONNECTION)} added ValidateConnection): not sent"
    )


def offline(policy: PolicyDecl) -> list[Diagnostic]:
    """Best practices that hold on every runtime."""
    if policy.body.get("AutoRestoreOnDataLoss") is True:
        return [Diagnostic("warning", AUTO_RESTORE, policy.where("AutoRestoreOnDataLoss"))]
    return []


def _storage(policy: PolicyDecl) -> Mapping[str, Any]:
    storage = policy.body.get("Storage")
    return storage if isinstance(storage, Mapping) else {}


def _policy(policy: PolicyDecl, runtime: Runtime) -> Iterable[Diagnostic]:
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
    if runtime.has(runtimes.PLAIN_TEXT_CREDENTIAL_WARNING) and isinstance(kind, str):
        for secret in policy_fields.SECRET_FIELDS_OF.get(kind, ()):
            if storage.get(secret):
                yield Diagnostic(
                    "warning",
                    f"policy {name}: " + plain_text_credentials(secret, kind),
                    policy.where(f"Storage.{secret}"),
                )
    if runtime.has(runtimes.RETENTION_POLICY) and "RetentionPolicy" not in policy.body:
        yield Diagnostic("warning", f"policy {name}: " + no_retention(runtime), policy.location)


def for_runtime(
    policies: Iterable[PolicyDecl], cluster: ClusterSettings, runtime: Runtime
) -> list[Diagnostic]:
    """Everything that depends on ``runtime``: the cluster settings' fit, then each policy's fields."""
    found: list[Diagnostic] = []
    if cluster.api_version_location is not None:
        conflict = runtimes.api_version_conflict(cluster.api_version, runtime)
        if conflict:
            found.append(Diagnostic("error", conflict, cluster.api_version_location))
    if cluster.validate_storage and not runtime.has(runtimes.VALIDATE_CONNECTION):
        found.append(Diagnostic("warning", validate_storage_ignored(runtime), cluster.location))
    for policy in policies:
        found.extend(_policy(policy, runtime))
    return found


def resolve_cluster(cluster: ClusterSettings, runtime: Runtime) -> ClusterSettings:
    """The settings a run speaks with: the api-version derived from the runtime unless written, and
    validate_storage on exactly where the runtime checks storage (unless written false)."""
    api_version = cluster.api_version if cluster.api_version_location is not None else runtime.api_version
    validate = cluster.validate_storage is not False and runtime.has(runtimes.VALIDATE_CONNECTION)
    return replace(cluster, api_version=api_version, validate_storage=validate)
