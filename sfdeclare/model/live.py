"""The live state: what the cluster holds, as far as this run read it (applications, services, partitions,
policies as read back with secrets masked, explicit mappings and suspensions).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from sfdeclare.model.addresses import EntityRef

ServiceKind = Literal["Stateful", "Stateless"]


PartitionKind = Literal["Singleton", "Int64Range", "Named"]


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
    every listed child suspended at its own level, or an empty answer: nothing mapped). ``runtime`` is the
    cluster's runtime as this run knows it (GetClusterVersion's build, ``before 6.4``, or what
    ``cluster.runtime`` names). ``foreign_policies`` names the live policies the read scope leaves out (another
    team's, under ``scope: declared``): only their names are kept, and they are not part of the live digest.
    ``gone_entities`` holds entities mapped to a pruning candidate that were checked and no longer exist.
    """

    policies: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    applications: Mapping[str, LiveApplication] = field(default_factory=dict)
    mappings: Mapping[EntityRef, str] = field(default_factory=dict)
    suspensions: frozenset[EntityRef] = frozenset()
    configured_applications: frozenset[str] = frozenset()
    policy_entities: Mapping[str, tuple[EntityRef, ...]] = field(default_factory=dict)
    hidden_application_suspension: frozenset[str] = frozenset()
    foreign_policies: frozenset[str] = frozenset()
    gone_entities: frozenset[EntityRef] = frozenset()
    requests: int = 0
    runtime: str = ""

    def exists(self, ref: EntityRef) -> bool | None:
        """Whether the entity a mapping or suspension names is on the cluster: None when this run did not read
        enough to say (an application's services or a service's partitions were not listed)."""
        if ref in self.gone_entities:
            return False
        app = self.applications.get(ref.application)
        if app is None:
            return False if ref.application in self.configured_applications else None
        if ref.service is None:
            return True
        if app.services is None:
            return None
        svc = app.service(ref.service)
        if svc is None:
            return False
        if ref.partition is None:
            return True
        if svc.partitions is None:
            return None
        wanted = ref.partition.lower()
        return any(p.id.lower() == wanted for p in svc.partitions)
