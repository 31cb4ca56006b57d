"""Pure builders for every Service Fabric request sfdeclare sends: method, quoted path, query and JSON body.

No I/O here: the planner stores these requests in the plan file and the client sends them unchanged.
Bodies may hold secret references (``${env:NAME}``) which are resolved only at send time, by the client.

Entity ids (SF-BACKUP-API.md §1, §8): backup routes use ``Applications/{id}``, ``Services/{id}`` and
``Partitions/{guid}``; the id of ``fabric:/A/S`` is ``A/S`` (``slash``, as the server source and the REST
examples) or ``A~S`` (``tilde``, as the SDK documents). Query routes always take the ``~`` form and their own
api-versions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, unquote

from sfdeclare.model.addresses import EntityRef, PolicyRef
from sfdeclare.model.declaration import ClusterSettings
from sfdeclare.model.trees import plain

FABRIC_PREFIX = "fabric:/"

# api-versions of the gateway-native query routes (SF-BACKUP-API.md §8); the backup routes use ApiOptions.
APPLICATIONS_API_VERSION = "6.1"
SERVICES_API_VERSION = "6.0"
PARTITIONS_API_VERSION = "6.4"
PARTITIONS_API_VERSION_PRE_64 = "6.0"
ONE_PARTITION_API_VERSION = "6.0"


@dataclass(frozen=True)
class WireRequest:
    """One HTTP request to the cluster, exactly as it will be sent (secrets as references)."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    body: Mapping[str, Any] | None
    operation: str

    def to_json(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": dict(self.query),
            "body": plain(self.body) if self.body is not None else None,
            "operation": self.operation,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> WireRequest:
        """Read back what ``to_json`` wrote; an optional ``operation`` key names it, else the route does."""
        method = data.get("method")
        path = data.get("path")
        query = data.get("query", {})
        body = data.get("body")
        if not isinstance(method, str) or method not in ("GET", "POST"):
            raise ValueError(f"request method must be GET or POST, not {method!r}")
        if not isinstance(path, str) or not path.startswith("/"):
            raise ValueError(f"request path must start with '/', not {path!r}")
        if not isinstance(query, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in query.items()
        ):
            raise ValueError("request query must map names to strings")
        if body is not None and not isinstance(body, Mapping):
            raise ValueError("request body must be a JSON object or null")
        operation = data.get("operation")
        if not isinstance(operation, str) or not operation:
            operation = f"{method} {unquote(path)}"
        return cls(method, path, tuple(query.items()), body, operation)


@dataclass(frozen=True)
class ApiOptions:
    """How to speak to this cluster: backup api-version, entity-id style, per-call timeout (seconds), and
    whether policy writes ask the cluster to check their storage first (``ValidateConnection=true``)."""

    api_version: str = "6.4"
    entity_ids: Literal["slash", "tilde"] = "slash"
    timeout: int = 60
    validate_connection: bool = False

    @classmethod
    def from_settings(cls, settings: ClusterSettings, timeout: int = 60) -> ApiOptions:
        return cls(
            api_version=settings.api_version,
            entity_ids=settings.entity_ids,
            timeout=timeout,
            validate_connection=settings.validate_storage is True,
        )

    @property
    def is_pre_64(self) -> bool:
        """The 6.2/6.3 API (``6.2-preview``): no RetentionPolicy, DisableBackup without a body."""
        return not _numeric_version_at_least(self.api_version, 6.4)


def _numeric_version_at_least(version: str, minimum: float) -> bool:
    try:
        return float(version) >= minimum
    except ValueError:
        return False


# --- ids and quoting ---------------------------------------------------------------------------------------


def quote_segment(segment: str) -> str:
    """Percent-encode everything but RFC 3986 unreserved characters, and ``~`` too: in the tilde id form it
    separates segments, so a ``~`` inside a name must stay distinguishable from it."""
    return quote(segment, safe="").replace("~", "%7E")


def _name_segments(name: str) -> list[str]:
    if not name.startswith(FABRIC_PREFIX):
        raise ValueError(f"not a fabric:/ name: {name!r}")
    segments = name[len(FABRIC_PREFIX) :].split("/")
    if any(not s for s in segments):
        raise ValueError(f"empty segment in name {name!r}")
    return segments


def entity_id(name: str, style: Literal["slash", "tilde"]) -> str:
    """The quoted id of an application or service: ``fabric:/A/S`` -> ``A/S`` (slash) or ``A~S`` (tilde)."""
    separator = "/" if style == "slash" else "~"
    return separator.join(quote_segment(s) for s in _name_segments(name))


def entity_path(ref: EntityRef, style: Literal["slash", "tilde"]) -> str:
    """The backup-route prefix: ``/Applications/A``, ``/Services/A/S`` or ``/Partitions/<id>``."""
    if ref.partition is not None:
        return "/Partitions/" + quote_segment(ref.partition)
    if ref.service is not None:
        return "/Services/" + entity_id(ref.service, style)
    return "/Applications/" + entity_id(ref.application, style)


def _query(version: str, opts: ApiOptions, *extra: tuple[str, str]) -> tuple[tuple[str, str], ...]:
    return (("api-version", version), *extra, ("timeout", str(opts.timeout)))


def _paging(continuation: str | None, max_results: int | None = None) -> tuple[tuple[str, str], ...]:
    items: list[tuple[str, str]] = []
    if continuation:
        items.append(("ContinuationToken", continuation))
    if max_results is not None:
        items.append(("MaxResults", str(max_results)))
    return tuple(items)


# --- backup policies (§2) ----------------------------------------------------------------------------------

_POLICIES = "/BackupRestore/BackupPolicies"


def _policy_path(name: str) -> str:
    if not name:
        raise ValueError("a backup policy name must not be empty")
    return f"{_POLICIES}/{quote_segment(name)}"


def _named_body(name: str, body: Mapping[str, Any]) -> dict[str, Any]:
    named: dict[str, Any] = {"Name": name}
    named.update((k, v) for k, v in body.items() if k != "Name")
    return named


def _validate(opts: ApiOptions) -> tuple[tuple[str, str], ...]:
    # REST spec 8.0+, Create and Update; Service Fabric Explorer always sends it (SF-BACKUP-API.md, 2026-12 audit)
    return (("ValidateConnection", "true"),) if opts.validate_connection else ()


def create_policy(name: str, body: Mapping[str, Any], opts: ApiOptions) -> WireRequest:
    _policy_path(name)
    return WireRequest(
        "POST",
        f"{_POLICIES}/$/Create",
        _query(opts.api_version, opts, *_validate(opts)),
        _named_body(name, body),
        f"CreateBackupPolicy {PolicyRef(name)}",
    )


def update_policy(name: str, body: Mapping[str, Any], opts: ApiOptions) -> WireRequest:
    return WireRequest(
        "POST",
        f"{_policy_path(name)}/$/Update",
        _query(opts.api_version, opts, *_validate(opts)),
        _named_body(name, body),
        f"UpdateBackupPolicy {PolicyRef(name)}",
    )


def delete_policy(name: str, opts: ApiOptions) -> WireRequest:
    return WireRequest(
        "POST",
        f"{_policy_path(name)}/$/Delete",
        _query(opts.api_version, opts),
        None,
        f"DeleteBackupPolicy {PolicyRef(name)}",
    )


def get_policy(name: str, opts: ApiOptions) -> WireRequest:
    return WireRequest(
        "GET", _policy_path(name), _query(opts.api_version, opts), None, f"GetBackupPolicy {PolicyRef(name)}"
    )


def list_policies(opts: ApiOptions, continuation: str | None = None, max_results: int = 0) -> WireRequest:
    return WireRequest(
        "GET",
        _POLICIES,
        _query(opts.api_version, opts, *_paging(continuation, max_results)),
        None,
        "GetBackupPolicyList",
    )


def policy_entities(name: str, opts: ApiOptions, continuation: str | None = None) -> WireRequest:
    return WireRequest(
        "GET",
        f"{_policy_path(name)}/$/GetBackupEnabledEntities",
        _query(opts.api_version, opts, *_paging(continuation, 0)),
        None,
        f"GetBackupEnabledEntities {PolicyRef(name)}",
    )


# --- backup mappings (§5) ----------------------------------------------------------------------------------


def _entity_op(
    ref: EntityRef, op: str, opts: ApiOptions, body: Mapping[str, Any] | None, method: str
) -> WireRequest:
    return WireRequest(
        method,
        f"{entity_path(ref, opts.entity_ids)}/$/{op}",
        _query(opts.api_version, opts),
        body,
        f"{op} {ref.address}",
    )


def enable_backup(ref: EntityRef, policy: str, opts: ApiOptions) -> WireRequest:
    if not policy:
        raise ValueError("EnableBackup needs a policy name")
    return _entity_op(ref, "EnableBackup", opts, {"BackupPolicyName": policy}, "POST")


def disable_backup(ref: EntityRef, clean_backup: bool, opts: ApiOptions) -> WireRequest:
    """6.4: body ``{"CleanBackup": bool}``; the 6.2-preview API has no body and cannot clean backups."""
    if opts.is_pre_64:
        if clean_backup:
            raise ValueError(
                f"clean_backup needs api-version 6.4 or later; cluster.api_version is {opts.api_version!r}"
            )
        return _entity_op(ref, "DisableBackup", opts, None, "POST")
    return _entity_op(ref, "DisableBackup", opts, {"CleanBackup": bool(clean_backup)}, "POST")


def suspend_backup(ref: EntityRef, opts: ApiOptions) -> WireRequest:
    return _entity_op(ref, "SuspendBackup", opts, None, "POST")


def resume_backup(ref: EntityRef, opts: ApiOptions) -> WireRequest:
    return _entity_op(ref, "ResumeBackup", opts, None, "POST")


def configuration_info(ref: EntityRef, opts: ApiOptions, continuation: str | None = None) -> WireRequest:
    """GetBackupConfigurationInfo; the partition level has no paging (a single object, or null)."""
    paging = () if ref.partition is not None else _paging(continuation, 0)
    return WireRequest(
        "GET",
        f"{entity_path(ref, opts.entity_ids)}/$/GetBackupConfigurationInfo",
        _query(opts.api_version, opts, *paging),
        None,
        f"GetBackupConfigurationInfo {ref.address}",
    )


# --- cluster queries (§8): always the ~ id form, their own api-versions ------------------------------------

CLUSTER_VERSION_API_VERSION = "6.4"  # GetClusterVersion came with 6.4 (REST spec 6.4)


def get_cluster_version(opts: ApiOptions) -> WireRequest:
    """GetClusterVersion: ``{"Version": "<build>"}``; not served before 6.4. A read of a query route, no backup
    involved: the runtime read once per run, and the probe of a refusal."""
    return WireRequest(
        "GET", "/$/GetClusterVersion", _query(CLUSTER_VERSION_API_VERSION, opts), None, "GetClusterVersion"
    )


def list_applications(opts: ApiOptions, continuation: str | None = None) -> WireRequest:
    return WireRequest(
        "GET",
        "/Applications",
        _query(APPLICATIONS_API_VERSION, opts, *_paging(continuation)),
        None,
        "GetApplicationInfoList",
    )


def list_services(app: str, opts: ApiOptions, continuation: str | None = None) -> WireRequest:
    return WireRequest(
        "GET",
        f"/Applications/{entity_id(app, 'tilde')}/$/GetServices",
        _query(SERVICES_API_VERSION, opts, *_paging(continuation)),
        None,
        f"GetServiceInfoList {EntityRef(app).address}",
    )


def list_partitions(service: str, opts: ApiOptions, continuation: str | None = None) -> WireRequest:
    version = PARTITIONS_API_VERSION_PRE_64 if opts.is_pre_64 else PARTITIONS_API_VERSION
    return WireRequest(
        "GET",
        f"/Services/{entity_id(service, 'tilde')}/$/GetPartitions",
        _query(version, opts, *_paging(continuation)),
        None,
        f"GetPartitionInfoList service[{service}]",
    )


def get_service(app: str, service: str, opts: ApiOptions) -> WireRequest:
    return WireRequest(
        "GET",
        f"/Applications/{entity_id(app, 'tilde')}/$/GetServices/{entity_id(service, 'tilde')}",
        _query(SERVICES_API_VERSION, opts),
        None,
        f"GetServiceInfo service[{service}]",
    )


def get_partition(partition_id: str, opts: ApiOptions) -> WireRequest:
    return WireRequest(
        "GET",
        f"/Partitions/{quote_segment(partition_id)}",
        _query(ONE_PARTITION_API_VERSION, opts),
        None,
        f"GetPartitionInfo partition[{partition_id}]",
    )


# --- access: Entra ID discovery and the probe of a refusal --------------------------------------------------


def get_aad_metadata(opts: ApiOptions) -> WireRequest:
    """GET /$/GetAadMetadata (api-version 6.0, unauthenticated): the cluster's Entra ID authority and ids."""
    return WireRequest("GET", "/$/GetAadMetadata", _query("6.0", opts), None, "GetAadMetadata")


def is_backup_route(req: WireRequest) -> bool:
    """Is this a Backup Restore Service route (policies, mappings, suspensions, configuration info)? Every
    such path holds "Backup" (/BackupRestore/..., /$/EnableBackup, /$/GetBackupConfigurationInfo); query
    routes (applications, services, partitions, cluster version) do not."""
    return "Backup" in req.path
