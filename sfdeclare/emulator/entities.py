"""Entity ids in URLs -> the server's internal keys (``fabric:/App``, ``fabric:/App/Svc``, ``.../<partition>``).

A ``/`` nested inside an application or service name is stored as ``$`` in keys, as the server does, so a key's
segments are always application, service, partition. Ids arrive as ``App~Svc`` or ``App/Svc``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sfdeclare.emulator import fabric_errors as fe
from sfdeclare.emulator.fabric_errors import FabricFault
from sfdeclare.emulator.state import Assignment, PartitionRow, ServiceRow, Tx
from sfdeclare.emulator.topology import is_guid


@dataclass(frozen=True)
class Entity:
    """A resolved backup target. ``service_row`` is the topology's record when the service exists."""

    kind: str
    app: str
    service: str | None = None
    partition: str | None = None
    service_row: ServiceRow | None = None

    @property
    def app_key(self) -> str:
        return app_key(self.app)

    @property
    def service_key(self) -> str:
        assert self.service is not None
        return service_key(self.app, self.service)

    @property
    def key(self) -> str:
        if self.partition is not None:
            return f"{self.service_key}/{self.partition}"
        if self.service is not None:
            return self.service_key
        return self.app_key

    def assignment(self, policy: str | None = None) -> Assignment:
        return Assignment(self.key, self.kind, self.app, self.service, self.partition, policy)


def app_key(app: str) -> str:
    return "fabric:/" + app[len("fabric:/") :].replace("/", "$")


def service_key(app: str, service: str) -> str:
    return app_key(app) + "/" + service[len(app) + 1 :].replace("/", "$")


def name_from_id(raw: str, what: str) -> str:
    """``a~b`` or ``a/b`` -> ``fabric:/a/b``; 400 for an id with empty segments."""
    relative = raw.replace("~", "/")
    if relative.startswith("fabric:/"):
        relative = relative[len("fabric:/") :]
    if not relative or any(not part for part in relative.split("/")):
        raise fe.invalid(f"Invalid {what} id '{raw}'.")
    return "fabric:/" + relative


def application(raw: str) -> Entity:
    """Applications are never looked up during resolution."""
    return Entity("Application", name_from_id(raw, "application"))


def service(tx: Tx, raw: str) -> Entity:
    """A known service resolves to its application; an unknown two-segment name splits without a lookup."""
    name = name_from_id(raw, "service")
    row = tx.service(name)
    if row is not None:
        return Entity("Service", row.app, name, service_row=row)
    segments = name[len("fabric:/") :].split("/")
    if len(segments) == 2:
        return Entity("Service", "fabric:/" + segments[0], name)
    raise FabricFault(fe.SERVICE_DOES_NOT_EXIST, "Service not found")


def partition(tx: Tx, raw: str) -> tuple[Entity, PartitionRow]:
    """Partitions are always looked up; the key keeps the id exactly as sent (keys are case-sensitive)."""
    if not is_guid(raw):
        raise fe.invalid(f"Invalid partition id '{raw}': a partition id is a GUID.")
    row = tx.partition(raw)
    if row is None:
        raise FabricFault(fe.PARTITION_NOT_FOUND, f"Partition {raw} not found")
    svc = tx.service(row.service)
    assert svc is not None, "partitions always belong to a service of the topology"
    return Entity("Partition", svc.app, svc.name, raw, service_row=svc), row
