"""Stored backups as runs: consecutive successful ticks of one partition's schedule in one storage.

Backup ``k`` of a run falls at ``pattern.at(k)``; its place in its chain, its chain id, its LSN and its BackupId
are arithmetic on ``k`` (``backup_tables`` explains why backups are not stored one row each). BackupIds are
deterministic: one partition has at most one periodic (``p``) and one on-demand (``o``) backup per second and
storage, so the id is a UUID5 of those.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sfdeclare.emulator.schedule import Pattern
from sfdeclare.emulator.state import Tx

NAMESPACE = uuid.UUID("6c1f3f0e-8f4e-4d55-9a57-6a1f0e0b5c21")
LSN_STEP = 100  # LSNs grow by this much between two backups of a partition (the number is arbitrary)
CONFIGURATION_VERSION = "1"  # the partition queries' PrimaryEpoch.ConfigurationVersion


def backup_id(partition: str, storage: str, at: int, tag: str = "p") -> str:
    """Deterministic and unique: one partition has at most one periodic (``p``) and one on-demand (``o``)
    backup per second and storage."""
    return str(uuid.uuid5(NAMESPACE, f"{partition}|{storage}|{at}|{tag}"))


@dataclass
class Run:
    id: int
    partition: str
    storage: str
    app: str
    service: str
    info: dict[str, Any]
    pattern: Pattern
    k0: int
    first_k: int
    last_k: int
    first_time: int
    chain_len: int
    pos0: int
    chain0: str
    lsn0: int
    data_loss: int
    tag: str

    @property
    def count(self) -> int:
        return self.last_k - self.first_k + 1

    def position(self, k: int) -> int:
        return self.pos0 + k - self.k0

    def is_full(self, k: int) -> bool:
        return self.position(k) % self.chain_len == 0

    def last_full_at_or_before(self, k: int) -> int:
        return k - self.position(k) % self.chain_len

    def backup_id(self, k: int) -> str:
        return backup_id(self.partition, self.storage, self.pattern.at(k), self.tag)

    def chain_id(self, k: int) -> str:
        number = self.position(k) // self.chain_len
        if number == 0:
            return self.chain0
        return self.backup_id(self.k0 + number * self.chain_len - self.pos0)

    def lsn(self, k: int) -> int:
        return self.lsn0 + (k - self.k0 + 1) * LSN_STEP


RUN_COLUMNS = (
    "id, partition, storage, app, service, info, pattern, k0, first_k, last_k, first_time, chain_len, pos0,"
    " chain0, lsn0, data_loss, seed"
)


def _pack(info: dict[str, Any]) -> str:
    """A partition's recorded information, compactly: ``[kind, low, high, name, version]``."""
    part = info["PartitionInformation"]
    packed = [
        part["ServicePartitionKind"],
        part.get("LowKey"),
        part.get("HighKey"),
        part.get("Name"),
        info["Version"],
    ]
    return json.dumps(packed, separators=(",", ":"))


def _unpack(text: str, partition: str, app: str, service: str) -> dict[str, Any]:
    kind, low, high, name, version = json.loads(text)
    information: dict[str, Any] = {"ServicePartitionKind": kind, "Id": partition}
    if kind == "Int64Range":
        information.update(LowKey=low, HighKey=high)
    elif kind == "Named":
        information["Name"] = name
    return {
        "ApplicationName": app,
        "ServiceName": service,
        "PartitionInformation": information,
        "Version": version,
    }


def run_from_row(row: Iterable[Any]) -> Run:
    v = list(row)
    return Run(
        v[0], v[1], v[2], v[3], v[4], _unpack(v[5], v[1], v[3], v[4]), Pattern.from_json(v[6]), v[7], v[8], v[9], v[10], v[11],
        v[12], v[13], v[14], v[15], v[16],
    )  # fmt: skip


def insert_run(tx: Tx, run: Run) -> int:
    cursor = tx.conn.execute(
        "INSERT INTO backup_runs(partition, storage, app, service, info, pattern, k0, first_k, last_k,"
        " first_time, chain_len, pos0, chain0, lsn0, data_loss, seed) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            run.partition, run.storage, run.app, run.service, _pack(run.info),
            run.pattern.to_json(), run.k0, run.first_k, run.last_k, run.first_time, run.chain_len, run.pos0,
            run.chain0, run.lsn0, run.data_loss, run.tag,
        ),
    )  # fmt: skip
    return int(cursor.lastrowid or 0)


def partition_info(tx: Tx, partition: str) -> dict[str, Any] | None:
    """What every backup of a partition records about it: names, PartitionInformation, manifest version."""
    row = tx.conn.execute(
        "SELECT p.id, p.kind, p.low_key, p.high_key, p.pname, s.name, s.app, a.type_version"
        " FROM partitions p JOIN services s ON s.name = p.service JOIN applications a ON a.name = s.app"
        " WHERE p.id = ?",
        (partition,),
    ).fetchone()
    if row is None:
        return None
    pid, kind, low, high, pname, service, app, version = row
    information: dict[str, Any] = {"ServicePartitionKind": kind, "Id": pid}
    if kind == "Int64Range":
        information["LowKey"] = str(low)
        information["HighKey"] = str(high)
    elif kind == "Named":
        information["Name"] = pname
    # Emulator assumption: the topology has no service manifests; ServiceManifestVersion is the application
    # type's version.
    return {
        "ApplicationName": app,
        "ServiceName": service,
        "PartitionInformation": information,
        "Version": version,
    }
