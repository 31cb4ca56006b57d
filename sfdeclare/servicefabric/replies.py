"""Pure conversion of Service Fabric JSON into model values (SF-BACKUP-API.md §2, §5.4, §8).

Every parser checks the shape it is given: a reply with the wrong shape becomes a ClusterError naming the
operation ("unexpected reply"), never a KeyError. Nothing here does I/O.

Over 400 lines: one small shape-checked parser per reply the client reads (about thirty), which read best
side by side; they share the shape helpers at the top.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from sfdeclare.errors import ClusterError
from sfdeclare.model.addresses import EntityRef, Level
from sfdeclare.model.live import LiveApplication, LivePartition, LiveService, PartitionKind, ServiceKind
from sfdeclare.servicefabric import codes

LEVELS: tuple[Level, ...] = ("Application", "Service", "Partition")


class ShapeError(ValueError):
    """A reply does not have the documented shape; ``reject`` turns it into a ClusterError."""


def reject(operation: str, status: int | None, problem: str) -> ClusterError:
    return ClusterError(operation, f"unexpected reply from the cluster: {problem}", status=status)


# --- generic shape helpers ---------------------------------------------------------------------------------


def _obj(value: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ShapeError(f"{what} is not a JSON object")
    return cast(Mapping[str, Any], value)


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _control_character(text: str) -> str | None:
    found = _CONTROL.search(text)
    return found.group() if found else None


def _str(obj: Mapping[str, Any], key: str, what: str, *, optional: bool = False) -> str | None:
    value = obj.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise ShapeError(f"{what} has no {key}")
    bad = _control_character(value)
    if bad is not None:
        # a name that would reach terminals, CI logs and written YAML with escape sequences in it
        raise ShapeError(f"{what} has a {key} holding the control character {bad!r}")
    return value


def _req_str(obj: Mapping[str, Any], key: str, what: str) -> str:
    value = _str(obj, key, what)
    assert value is not None
    return value


def _int_or_none(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ShapeError(f"{what} is not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise ShapeError(f"{what} is not an integer: {value!r}") from None
    raise ShapeError(f"{what} is not an integer")


def _bool(value: Any, what: str, default: bool = False) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ShapeError(f"{what} is not a boolean")


# --- errors ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FabricError:
    code: str
    message: str


def parse_fabric_error(body: Any) -> FabricError | None:
    """``{"Error":{"Code","Message"}}`` -> FabricError (code normalised), or None when it is not one."""
    if not isinstance(body, Mapping):
        return None
    error = body.get("Error")
    if not isinstance(error, Mapping):
        return None
    code = error.get("Code")
    message = error.get("Message")
    if not isinstance(code, str) or not code:
        return None
    return FabricError(codes.normalise(code), message if isinstance(message, str) else "")


# --- paging ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    items: tuple[Mapping[str, Any], ...]
    continuation: str | None  # None at the end (null, "" and absent all mean the end)


def parse_page(body: Any, operation: str, status: int = 200) -> Page:
    try:
        obj = _obj(body, "the page")
        items = obj.get("Items", [])
        if items is None:
            items = []
        if not isinstance(items, list):
            raise ShapeError("the page's Items is not a list")
        for item in items:
            _obj(item, "a page item")
        token = obj.get("ContinuationToken")
        if token is not None and not isinstance(token, str):
            raise ShapeError("the page's ContinuationToken is not a string")
    except ShapeError as exc:
        raise reject(operation, status, str(exc)) from None
    return Page(tuple(items), token or None)


# --- policies ----------------------------------------------------------------------------------------------


def parse_policy(item: Any, operation: str, status: int = 200) -> tuple[str, dict[str, Any]]:
    """A BackupPolicyDescription -> (name, body without Name), secrets as the cluster masked them."""
    try:
        obj = _obj(item, "the backup policy")
        name = _req_str(obj, "Name", "a backup policy")
        _no_control_characters(obj, f"backup policy {name}", "")
    except ShapeError as exc:
        raise reject(operation, status, str(exc)) from None
    return name, {k: v for k, v in obj.items() if k != "Name"}


def _no_control_characters(value: Any, what: str, path: str) -> None:
    """Policy fields are shown in plans, drift and imported YAML: none may carry escape sequences."""
    if isinstance(value, str):
        bad = _control_character(value)
        if bad is not None:
            raise ShapeError(f"{what} has {path or 'a value'} holding the control character {bad!r}")
    elif isinstance(value, Mapping):
        for key, inner in value.items():
            _no_control_characters(key, what, path + ".(key)")
            _no_control_characters(inner, what, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            _no_control_characters(inner, what, f"{path}[{index}]")


def parse_cluster_version(body: Any, operation: str, status: int = 200) -> str:
    """GetClusterVersion's ``{"Version": "10.1.3033.1"}`` -> the build, checked to be a runtime version."""
    try:
        version = _req_str(_obj(body, "the cluster version"), "Version", "the cluster version")
    except ShapeError as exc:
        raise reject(operation, status, str(exc)) from None
    if not re.fullmatch(r"\d+\.\d+(\.\d+)*", version.strip()):
        raise reject(operation, status, f"the cluster version {version[:40]!r} is not a version number")
    return version.strip()


def parse_backup_entity(item: Any, operation: str, status: int = 200) -> EntityRef:
    """A BackupEntity (GetBackupEnabledEntities) -> EntityRef."""
    try:
        obj = _obj(item, "a backup entity")
        kind = obj.get("EntityKind")
        if kind == "Application":
            return EntityRef(_req_str(obj, "ApplicationName", "an Application entity"))
        if kind == "Service":
            service = _req_str(obj, "ServiceName", "a Service entity")
            return EntityRef(application_of(service), service)
        if kind == "Partition":
            service = _req_str(obj, "ServiceName", "a Partition entity")
            partition = _req_str(obj, "PartitionId", "a Partition entity")
            return EntityRef(application_of(service), service, partition)
        raise ShapeError(f"unknown EntityKind {kind!r}")
    except ShapeError as exc:
        raise reject(operation, status, str(exc)) from None


def application_of(service: str) -> str:
    """The application of a two-segment service name; deeper names need their application from context."""
    if not service.startswith("fabric:/"):
        raise ShapeError(f"not a fabric:/ name: {service!r}")
    rest = service[len("fabric:/") :]
    if "/" not in rest:
        raise ShapeError(f"not a service name: {service!r}")
    return "fabric:/" + rest.split("/", 1)[0]


# --- cluster queries ---------------------------------------------------------------------------------------


def parse_application(item: Any, operation: str, status: int = 200) -> LiveApplication:
    try:
        obj = _obj(item, "an ApplicationInfo")
        name = _req_str(obj, "Name", "an ApplicationInfo")
        type_name = obj.get("TypeName")
        if not name.startswith("fabric:/"):
            raise ShapeError(f"application name {name!r} is not a fabric:/ name")
    except ShapeError as exc:
        raise reject(operation, status, str(exc)) from None
    return LiveApplication(name, type_name if isinstance(type_name, str) else None)


def parse_service(item: Any, operation: str, status: int = 200) -> LiveService:
    try:
        obj = _obj(item, "a ServiceInfo")
        name = _req_str(obj, "Name", "a ServiceInfo")
        kind = obj.get("ServiceKind")
        if kind not in ("Stateful", "Stateless"):
            raise ShapeError(f"service {name} has ServiceKind {kind!r}")
        persisted = _bool(obj.get("HasPersistedState"), f"HasPersistedState of {name}")
    except ShapeError as exc:
        raise reject(operation, status, str(exc)) from None
    return LiveService(name, cast(ServiceKind, kind), persisted and kind == "Stateful")


def parse_partition(item: Any, operation: str, status: int = 200) -> LivePartition:
    try:
        obj = _obj(item, "a ServicePartitionInfo")
        info = _obj(obj.get("PartitionInformation"), "PartitionInformation")
        pid = _req_str(info, "Id", "PartitionInformation")
        kind = info.get("ServicePartitionKind")
        if kind == "Int64Range":
            low = _int_or_none(info.get("LowKey"), f"LowKey of partition {pid}")
            high = _int_or_none(info.get("HighKey"), f"HighKey of partition {pid}")
            if low is None or high is None:
                raise ShapeError(f"Int64Range partition {pid} has no LowKey/HighKey")
            return LivePartition(pid, "Int64Range", low_key=low, high_key=high)
        if kind == "Named":
            return LivePartition(pid, "Named", name=_req_str(info, "Name", f"Named partition {pid}"))
        if kind == "Singleton":
            return LivePartition(pid, cast(PartitionKind, kind))
        raise ShapeError(f"partition {pid} has ServicePartitionKind {kind!r}")
    except ShapeError as exc:
        raise reject(operation, status, str(exc)) from None


# --- backup configuration info (§5.4) ----------------------------------------------------------------------


@dataclass(frozen=True)
class BackupConfigurationItem:
    """One GetBackupConfigurationInfo item as reported: effective values, with the level they come from."""

    ref: EntityRef
    policy: str | None
    policy_inherited_from: str  # a Level, or "Invalid" when no policy applies
    suspended: bool
    suspension_inherited_from: str  # a Level, or "Invalid" when not suspended

    @property
    def kind(self) -> Level:
        return self.ref.level

    @property
    def explicit_policy(self) -> str | None:
        """The policy mapped at exactly this level, if any."""
        return self.policy if self.policy and self.policy_inherited_from == self.kind else None

    @property
    def explicitly_suspended(self) -> bool:
        return self.suspended and self.suspension_inherited_from == self.kind


def _ancestor(ref: EntityRef, level: str) -> EntityRef | None:
    for node in ref.lineage():
        if node.level == level:
            return node
    return None


def parse_configuration_item(
    item: Any, queried: EntityRef, operation: str, status: int = 200
) -> BackupConfigurationItem | None:
    """One item, read in the context of the queried entity (it names the application of deep service names).

    Returns None for an item outside the queried entity: the 6.4 server matches children by string prefix, so
    querying ``fabric:/app`` also lists ``fabric:/app2/...`` (SF-BACKUP-API.md §1).
    """
    try:
        obj = _obj(item, "a BackupConfigurationInfo item")
        kind = obj.get("Kind")
        if kind == "Application":
            name = _req_str(obj, "ApplicationName", "an Application item")
            if name != queried.application:
                return None
            ref = EntityRef(name)
        elif kind == "Service":
            service = _req_str(obj, "ServiceName", "a Service item")
            if not _within(service, queried):
                return None
            ref = EntityRef(queried.application, service)
        elif kind == "Partition":
            service = _req_str(obj, "ServiceName", "a Partition item")
            partition = _req_str(obj, "PartitionId", "a Partition item")
            if not _within(service, queried) or (queried.partition not in (None, partition)):
                return None
            ref = EntityRef(queried.application, service, partition)
        else:
            raise ShapeError(f"unknown Kind {kind!r}")
        policy = _str(obj, "PolicyName", "an item", optional=True)
        inherited = obj.get("PolicyInheritedFrom", "Invalid" if policy is None else None)
        if not isinstance(inherited, str):
            raise ShapeError(f"item {ref.address} has no PolicyInheritedFrom")
        suspension = obj.get("SuspensionInfo")
        suspended, suspension_from = False, "Invalid"
        if suspension is not None:
            info = _obj(suspension, f"SuspensionInfo of {ref.address}")
            suspended = _bool(info.get("IsSuspended"), f"IsSuspended of {ref.address}")
            origin = info.get("SuspensionInheritedFrom", "Invalid")
            if not isinstance(origin, str):
                raise ShapeError(f"SuspensionInheritedFrom of {ref.address} is not a string")
            suspension_from = origin if suspended else "Invalid"
        if suspended and suspension_from not in LEVELS:
            raise ShapeError(
                f"item {ref.address} is suspended but SuspensionInheritedFrom is {suspension_from!r}"
            )
        if policy is not None and inherited not in LEVELS:
            raise ShapeError(f"item {ref.address} has PolicyInheritedFrom {inherited!r}")
    except ShapeError as exc:
        raise reject(operation, status, str(exc)) from None
    return BackupConfigurationItem(ref, policy, inherited, suspended, suspension_from)


def _within(service: str, queried: EntityRef) -> bool:
    if queried.service is not None:
        return service == queried.service
    return service.startswith(queried.application + "/")


def parse_partition_configuration(
    body: Any, queried: EntityRef, operation: str, status: int = 200
) -> list[BackupConfigurationItem]:
    """The partition level answers one object, or ``null`` when nothing is configured (an empty result)."""
    if body is None:
        return []
    item = parse_configuration_item(body, queried, operation, status)
    return [item] if item is not None else []


@dataclass(frozen=True)
class ExplicitConfiguration:
    """The explicit mappings and suspensions that configuration items reveal."""

    mappings: Mapping[EntityRef, str]
    suspensions: frozenset[EntityRef]
    application_suspension_shown: bool = True


def explicit_configuration(items: Iterable[BackupConfigurationItem]) -> ExplicitConfiguration:
    """Apply the rules of SF-BACKUP-API.md §5.4.

    - an item has an explicit mapping at its level exactly when PolicyInheritedFrom == Kind;
    - an item inheriting its policy from an ancestor level reveals that ancestor's mapping (the ancestor's own
      item, when listed, wins);
    - an item is suspended at its own level exactly when SuspensionInheritedFrom == Kind; a child reporting an
      ancestor level (e.g. "Application") reveals a suspension at that ancestor.
    """
    own: dict[EntityRef, str] = {}
    revealed: dict[EntityRef, str] = {}
    suspensions: set[EntityRef] = set()
    items_seen = list(items)
    for item in items_seen:
        if item.policy and item.policy_inherited_from in LEVELS:
            origin = _ancestor(item.ref, item.policy_inherited_from)
            if origin == item.ref:
                own[item.ref] = item.policy
            elif origin is not None:
                revealed.setdefault(origin, item.policy)
        if item.suspended:
            origin = _ancestor(item.ref, item.suspension_inherited_from)
            if origin is not None:
                suspensions.add(origin)
    # An application-level answer shows the application's own suspension through the application's item, or
    # through any child that is not suspended at its own level (it reports the queried entity's suspension).
    # An empty answer (404: nothing mapped, nothing suspended below) shows nothing: a suspension outlives the
    # mappings (SF-BACKUP-API.md §5.2), so it is no proof that the application is not suspended.
    shown = any(
        item.ref.level == "Application"
        or not (item.suspended and item.suspension_inherited_from == item.ref.level)
        for item in items_seen
    )
    return ExplicitConfiguration({**revealed, **own}, frozenset(suspensions), shown)


# --- Entra ID discovery ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AadMetadata:
    """GetAadMetadata's ``metadata`` (sfclient-model-aadmetadata): ``login`` is the login host URL, ``tenant``
    the tenant id, ``cluster`` the cluster application (the tokens' audience), ``client`` the client
    application, ``authority`` the login host with the tenant."""

    authority: str
    client: str
    cluster: str
    login: str
    redirect: str
    tenant: str


def parse_aad_metadata(body: Any, operation: str, status: int = 200) -> AadMetadata | None:
    """``{type: "aad", metadata: {...}}`` -> AadMetadata; None when the cluster does not use Entra ID (any
    other ``type``, or no metadata)."""
    try:
        obj = _obj(body, "the answer")
        kind = obj.get("type")
        if not isinstance(kind, str) or kind.lower() != "aad":
            return None
        meta = _obj(obj.get("metadata"), "metadata")
        values = {
            key: (_str(meta, key, f"metadata.{key}", optional=True) or "")
            for key in ("authority", "client", "cluster", "login", "redirect", "tenant")
        }
    except ShapeError as exc:
        raise reject(operation, status, str(exc)) from None
    return AadMetadata(**values)
