"""The values every stage shares: entity references, the declaration (desired state) and the live state.

All are frozen. Policy bodies stay in the REST API's own JSON shape (PascalCase field names) because that is
the configuration language's shape too; ``sfdeclare.servicefabric.policies`` gives them a canonical, comparable form.
Strings in a declared policy body may hold ``${env:NAME}`` / ``${file:PATH}`` references; they are resolved
only where a value must be sent (see ``sfdeclare.model.references``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sfdeclare.errors import Diagnostic, Location

Scope = Literal["declared", "cluster"]
EntityIdStyle = Literal["slash", "tilde"]
SelectorKind = Literal["id", "name", "low_key"]

SECRET_FIELDS: tuple[str, ...] = ("ConnectionString", "PrimaryPassword", "SecondaryPassword")
MASKED_SECRET = "****"


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
