"""The values every stage shares: entity references, the declaration (desired state) and the live state.

All are frozen. Policy bodies stay in the REST API's own JSON shape (PascalCase field names) because that is
the configuration language's shape too; ``sfdeclare.policies`` gives them a canonical, comparable form.
Strings in a declared policy body may hold ``${env:NAME}`` / ``${file:PATH}`` references; they are resolved
only where a value must be sent (see ``sfdeclare.interpolate``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sfdeclare.errors import Diagnostic, Location

Level = Literal["Application", "Service", "Partition"]
Scope = Literal["declared", "cluster"]
EntityIdStyle = Literal["slash", "tilde"]
ServiceKind = Literal["Stateful", "Stateless"]
PartitionKind = Literal["Singleton", "Int64Range", "Named"]
SelectorKind = Literal["id", "name", "low_key"]

SECRET_FIELDS: tuple[str, ...] = ("ConnectionString", "PrimaryPassword", "SecondaryPassword")
MASKED_SECRET = "****"


def application_name(name: str) -> str:
    """``CalcApp`` and ``fabric:/CalcApp`` name the same application; return the ``fabric:/`` form."""
    return name if name.startswith("fabric:/") else "fabric:/" + name


def service_name(application: str, name: str) -> str:
    """A service named relative to its application (``CalcService``) or in full (``fabric:/CalcApp/CalcService``)."""
    return name if name.startswith("fabric:/") else application_name(application) + "/" + name


@dataclass(frozen=True)
class EntityRef:
    """An application, a service or a partition, by full name (and partition id).

    ``application`` is ``fabric:/App``; ``service`` is ``fabric:/App/Svc``; ``partition`` is the partition id
    exactly as the cluster spells it (partition keys are case-sensitive on the server).
    """

    application: str
    service: str | None = None
    partition: str | None = None

    @property
    def level(self) -> Level:
        if self.partition is not None:
            return "Partition"
        if self.service is not None:
            return "Service"
        return "Application"

    @property
    def address(self) -> str:
        if self.partition is not None:
            return f"partition[{self.service}/{self.partition}]"
        if self.service is not None:
            return f"service[{self.service}]"
        return f"application[{self.application}]"

    def parent(self) -> EntityRef | None:
        if self.partition is not None:
            return EntityRef(self.application, self.service)
        if self.service is not None:
            return EntityRef(self.application)
        return None

    def lineage(self) -> tuple[EntityRef, ...]:
        """This entity and its ancestors, nearest first (the order Service Fabric resolves overrides in)."""
        chain: list[EntityRef] = []
        node: EntityRef | None = self
        while node is not None:
            chain.append(node)
            node = node.parent()
        return tuple(chain)

    def sort_key(self) -> tuple[str, str, str]:
        return (self.application, self.service or "", self.partition or "")

    def __str__(self) -> str:
        return self.address


@dataclass(frozen=True)
class PolicyRef:
    """The address of a backup policy: ``policy[Name]``."""

    name: str

    @property
    def address(self) -> str:
        return f"policy[{self.name}]"

    def __str__(self) -> str:
        return self.address


# --- the declaration -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyDecl:
    """A declared backup policy. ``body`` is the REST BackupPolicyDescription without ``Name``."""

    name: str
    body: Mapping[str, Any]
    location: Location | None = None

    def secret_fields(self) -> tuple[str, ...]:
        storage = self.body.get("Storage")
        if not isinstance(storage, Mapping):
            return ()
        return tuple(f for f in SECRET_FIELDS if f in storage)


@dataclass(frozen=True)
class LevelSettings:
    """What the file says at one level (application, service or partition); None means "not written"."""

    policy: str | None = None
    suspended: bool | None = None
    clean_backup: bool | None = None
    location: Location | None = None
    policy_location: Location | None = None
    suspended_location: Location | None = None
    clean_backup_location: Location | None = None


@dataclass(frozen=True)
class PartitionSelector:
    """Exactly one way of naming a partition: its id, its Named partition name, or its Int64Range low key."""

    kind: SelectorKind
    value: str | int

    def __str__(self) -> str:
        return f"{self.kind}={self.value}"


@dataclass(frozen=True)
class PartitionDecl:
    selector: PartitionSelector
    settings: LevelSettings = field(default_factory=LevelSettings)


@dataclass(frozen=True)
class ServiceDecl:
    name: str
    settings: LevelSettings = field(default_factory=LevelSettings)
    partitions: tuple[PartitionDecl, ...] = ()


@dataclass(frozen=True)
class ApplicationDecl:
    name: str
    settings: LevelSettings = field(default_factory=LevelSettings)
    services: tuple[ServiceDecl, ...] = ()


@dataclass(frozen=True)
class TlsSettings:
    client_cert: str | None = None
    client_key: str | None = None
    ca_bundle: str | None = None
    server_cert_thumbprint: str | None = None
    verify: bool = True


@dataclass(frozen=True)
class ClusterSettings:
    endpoint: str | None = None
    api_version: str = "6.4"
    entity_ids: EntityIdStyle = "slash"
    tls: TlsSettings = field(default_factory=TlsSettings)
    token: str | None = None
    location: Location | None = None


@dataclass(frozen=True)
class Declaration:
    """The desired state: everything the configuration files say, with where each thing was said."""

    files: tuple[str, ...] = ()
    cluster: ClusterSettings = field(default_factory=ClusterSettings)
    scope: Scope = "declared"
    prune_policies: bool = False
    clean_backup: bool = False
    policies: Mapping[str, PolicyDecl] = field(default_factory=dict)
    applications: Mapping[str, ApplicationDecl] = field(default_factory=dict)
    diagnostics: tuple[Diagnostic, ...] = ()
    digest: str = ""
    base_dir: str = "."

    def iter_levels(self) -> Iterator[tuple[ApplicationDecl, ServiceDecl | None, PartitionDecl | None]]:
        for app in self.applications.values():
            yield app, None, None
            for svc in app.services:
                yield app, svc, None
                for part in svc.partitions:
                    yield app, svc, part


# --- the live state ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LivePartition:
    id: str
    kind: PartitionKind
    low_key: int | None = None
    high_key: int | None = None
    name: str | None = None


@dataclass(frozen=True)
class LiveService:
    name: str
    kind: ServiceKind
    has_persisted_state: bool = False
    partitions: tuple[LivePartition, ...] | None = None  # None: not read (not needed by this plan)

    @property
    def backup_eligible(self) -> bool:
        """The check the backup service itself makes: stateful with persisted state."""
        return self.kind == "Stateful" and self.has_persisted_state


@dataclass(frozen=True)
class LiveApplication:
    name: str
    type_name: str | None = None
    services: tuple[LiveService, ...] | None = None  # None: not read

    def service(self, name: str) -> LiveService | None:
        for svc in self.services or ():
            if svc.name == name:
                return svc
        return None


@dataclass(frozen=True)
class LiveState:
    """What the cluster holds, as far as this run read it.

    ``policies`` are the bodies as read back (secrets masked as ``****``), without ``Name``.
    ``mappings`` are the explicit backup mappings (entity -> policy name) and ``suspensions`` the explicit
    suspensions, for every application in ``configured_applications`` (those whose configuration was read).
    ``policy_entities`` holds, for the policies whose every mapping had to be known (pruning candidates), all
    the entities mapped to them anywhere on the cluster. ``hidden_application_suspension`` names applications
    whose own suspension the cluster's answer did not show (SF-BACKUP-API.md §5.4: no mapping of its own, and
    every listed child suspended at its own level).
    """

    policies: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    applications: Mapping[str, LiveApplication] = field(default_factory=dict)
    mappings: Mapping[EntityRef, str] = field(default_factory=dict)
    suspensions: frozenset[EntityRef] = frozenset()
    configured_applications: frozenset[str] = frozenset()
    policy_entities: Mapping[str, tuple[EntityRef, ...]] = field(default_factory=dict)
    hidden_application_suspension: frozenset[str] = frozenset()
    requests: int = 0
