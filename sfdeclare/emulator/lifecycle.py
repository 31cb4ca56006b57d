"""Services that come and go after the topology was loaded: re-create one (same name, kind and partitioning,
new partition ids) or remove one, as a real cluster does when an application is upgraded or a service deleted.

Service Fabric gives a re-created service new partition ids, and the backup service keeps what it stored
under the old ones: mappings and suspensions stay in its store until something removes them (a policy's Delete
purges the mappings of entities that no longer exist, SF-BACKUP-API.md §2; partition ids are always looked up,
so nothing can address the old ones, §1). So both operations here change the topology only.

A re-created service's ids are derived from its name, partition index and a per-service generation counter kept
in the state, so they are new on every re-creation and the same on every machine.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sfdeclare.emulator.state import Store, Tx
from sfdeclare.emulator.topology import derived_partition_id
from sfdeclare.errors import ConfigError, Diagnostic

_GENERATION_KEY = "generation:"


@dataclass(frozen=True)
class ServiceChange:
    """What a re-creation or removal did: the partition ids the service had and has now (empty: removed)."""

    service: str
    old_ids: tuple[str, ...]
    new_ids: tuple[str, ...]


def _missing(service: str) -> ConfigError:
    return ConfigError([Diagnostic("error", f"service {service} is not in the emulator's topology", None)])


def generation_id(service: str, index: int, generation: int) -> str:
    """The id of partition ``index`` of ``service`` in its ``generation``-th incarnation (0: as loaded)."""
    if generation == 0:
        return derived_partition_id(service, index)
    return str(uuid.uuid5(uuid.UUID(derived_partition_id(service, index)), f"generation {generation}"))


def _partition_rows(tx: Tx, service: str) -> list[tuple[str, int, str, int | None, int | None, str | None]]:
    return [
        (p.id, ordinal, p.kind, p.low_key, p.high_key, p.name)
        for ordinal, p in tx.partitions(service, -1, -1)
    ]


def recreate_service(store: Store, service: str) -> ServiceChange:
    """Delete and create ``service`` again: same partitioning, new partition ids."""
    with store.write() as tx:
        if tx.service(service) is None:
            raise _missing(service)
        rows = _partition_rows(tx, service)
        generation = int(tx.meta(_GENERATION_KEY + service) or "0") + 1
        tx.put_meta(_GENERATION_KEY + service, str(generation))
        tx.conn.execute("DELETE FROM partitions WHERE service = ?", (service,))
        new_rows = [
            (generation_id(service, index, generation), service, ordinal, kind, low, high, name)
            for index, (_, ordinal, kind, low, high, name) in enumerate(rows)
        ]
        tx.conn.executemany(
            "INSERT INTO partitions(id, service, ord, kind, low_key, high_key, pname) VALUES(?,?,?,?,?,?,?)",
            new_rows,
        )
    return ServiceChange(service, tuple(r[0] for r in rows), tuple(r[0] for r in new_rows))


def remove_service(store: Store, service: str) -> ServiceChange:
    """Delete ``service`` and its partitions from the topology."""
    with store.write() as tx:
        if tx.service(service) is None:
            raise _missing(service)
        rows = _partition_rows(tx, service)
        tx.conn.execute("DELETE FROM partitions WHERE service = ?", (service,))
        tx.conn.execute("DELETE FROM services WHERE name = ?", (service,))
    return ServiceChange(service, tuple(r[0] for r in rows), ())
