"""Addresses of the things a plan acts on: ``policy[Name]``, ``application[fabric:/A]``, ``service[fabric:/A/S]``,
``partition[fabric:/A/S/<id>]``, as values (EntityRef, PolicyRef), and their one parser (``parse_address``) and
containment rule (``contains``): ``--target``, ``explain`` and the plan-file check all read addresses here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, TypeAlias

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


Ref: TypeAlias = EntityRef | PolicyRef

_SYNTAX = (
    "write policy[Name], application[fabric:/App], service[fabric:/App/Svc] "
    "or partition[fabric:/App/Svc/<partition-id>]"
)


class AddressError(ValueError):
    """A string that is not an address; the message says what was given and the four forms there are."""


def application_of(service: str, applications: Iterable[str] = ()) -> str:
    """The application a full service name belongs to.

    Service Fabric application names may themselves hold slashes (``fabric:/A/B``), so ``fabric:/A/B/S`` is
    ambiguous on its own. The rule: the longest of the known ``applications`` (the declared and the live ones)
    that the name continues (``<application>/...``) owns it; when none does, the first segment does
    (``fabric:/A``). A name without an application part raises AddressError.
    """
    owners = [app for app in applications if service.startswith(app + "/")]
    if owners:
        return max(owners, key=len)
    head, slash, rest = service.removeprefix("fabric:/").partition("/")
    if not service.startswith("fabric:/") or not head or not slash or not rest:
        raise AddressError(f"{service!r} is not a full service name (fabric:/App/Svc)")
    return "fabric:/" + head


def parse_address(text: str, applications: Iterable[str] = ()) -> Ref:
    """``policy[P]`` -> PolicyRef; ``application[..]``, ``service[..]``, ``partition[../<id>]`` -> EntityRef.

    ``applications`` are the application names known to the caller, used to tell where the application ends in
    a service or partition name (see ``application_of``). Raises AddressError for anything else.
    """
    kind, bracket, rest = text.partition("[")
    name = rest[:-1]
    if not bracket or not rest.endswith("]") or not name or "[" in name or "]" in name:
        raise AddressError(f"{text!r} is not an address: {_SYNTAX}")
    try:
        if kind == "policy":
            return PolicyRef(name)
        if kind == "application":
            return EntityRef(name)
        if kind == "service":
            return EntityRef(application_of(name, applications), name)
        if kind == "partition":
            service, _, partition = name.rpartition("/")
            if service and partition:
                return EntityRef(application_of(service, applications), service, partition)
    except AddressError as exc:
        raise AddressError(f"{text!r} is not an address: {exc}; {_SYNTAX}") from None
    raise AddressError(f"{text!r} is not an address: {_SYNTAX}")


def contains(outer: Ref, inner: Ref) -> bool:
    """Whether ``inner`` is ``outer`` or lies inside it (an application holds its services and partitions, a
    service its partitions; a policy holds only itself)."""
    if isinstance(outer, PolicyRef) or isinstance(inner, PolicyRef):
        return outer == inner
    return outer in inner.lineage()


def within(inner: Ref, targets: Iterable[Ref]) -> bool:
    """Whether ``inner`` lies inside any of ``targets``."""
    return any(contains(target, inner) for target in targets)
