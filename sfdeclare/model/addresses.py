"""Addresses of the things a plan acts on: ``policy[Name]``, ``application[fabric:/A]``, ``service[fabric:/A/S]``,
``partition[fabric:/A/S/<id>]``, as values (EntityRef, PolicyRef), and their one parser.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Level = Literal["Application", "Service", "Partition"]


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


def _address_within(address: str, target: str) -> bool:
    if address == target:
        return True
    # application[fabric:/A] contains service[fabric:/A/...] and partition[fabric:/A/...]
    for kind in ("application[", "service["):
        if target.startswith(kind) and target.endswith("]"):
            inner = target[len(kind) : -1]
            body = address[address.index("[") + 1 : -1] if "[" in address else ""
            if not address.startswith("policy[") and body.startswith(inner + "/"):
                return True
    return False


def parse_entity_address(address: str, application: str) -> EntityRef:
    """``service[fabric:/A/S]`` -> EntityRef; ``application`` says where the application name ends."""
    kind, _, rest = address.partition("[")
    if not rest.endswith("]") or kind not in ("application", "service", "partition"):
        raise ValueError(f"not an entity address: {address!r}")
    name = rest[:-1]
    if kind == "application":
        return EntityRef(name)
    if kind == "service":
        return EntityRef(application, name)
    service, _, partition = name.rpartition("/")
    return EntityRef(application, service, partition)
