"""Retention and CleanBackup: deleting stored backups as the 6.4 RetentionManager does.

Rule [SRC microsoft/service-fabric 6.4 `FabricBRS/.../Service/RetentionManager.cs` DeleteFilesForPartition], for
one partition's backups in its policy's storage at time ``now``:
1. when the partition has at most MinimumNumberOfBackups backups, nothing is deleted;
2. the expired backups (CreationTimeUtc < now - RetentionDuration) are walked newest first; everything up to and
   including the newest expired Full backup is kept (a chain is never cut);
3. the older ones are deleted, newest first, while more than MinimumNumberOfBackups backups remain -- so when
   the minimum stops it, the *oldest* backups are the ones left, as on the server.
So backups older than RetentionDuration can remain, exactly as on a real cluster.

The server runs this on a timer per policy; the emulator runs it, for every partition whose effective policy
has a RetentionPolicy, whenever its clock moves (the rule is the same whether it runs once or at every step).

CleanBackup (DisableBackup with ``CleanBackup: true``) deletes every backup the partition has in the disabled
policy's storage (the same function with no minimum and every backup expired, ``isCleanupTask``), for the
partitions the server picks (``DisableBackupMappingOperation`` / RetentionManager.DisablePolicyAsync): an
application's partitions without a partition-level mapping of their own, a service's partitions without one, or
the partition itself; skipped where the mapping they fall back to names a policy with the same storage.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Any

from sfdeclare.emulator import storage as storages
from sfdeclare.emulator.backups import RUN_COLUMNS, Run, insert_run, run_from_row
from sfdeclare.emulator.durations import parse_duration
from sfdeclare.emulator.entities import Entity, app_key, service_key
from sfdeclare.emulator.state import Tx


def apply_all(tx: Tx, now: int) -> None:
    for name, body in _policies_with_retention(tx):
        retention = body["RetentionPolicy"]
        duration = int(parse_duration(retention["RetentionDuration"]).total_seconds())
        minimum = int(retention.get("MinimumNumberOfBackups") or 0)
        storage = storages.identity(body["Storage"])
        rows = tx.conn.execute(
            f"SELECT {', '.join('r.' + c.strip() for c in RUN_COLUMNS.split(','))} FROM backup_runs r"
            " JOIN backup_tracks t ON t.partition = r.partition WHERE t.policy = ? AND r.storage = ?"
            " ORDER BY r.partition, r.first_time",
            (name, storage),
        ).fetchall()
        by_partition: dict[str, list[Run]] = defaultdict(list)
        for row in rows:
            run = run_from_row(row)
            by_partition[run.partition].append(run)
        changes = Changes()
        for runs in by_partition.values():
            prune(runs, now - duration, minimum, changes)
        changes.write(tx)


def _policies_with_retention(tx: Tx) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for (name,) in tx.conn.execute(
        "SELECT DISTINCT policy FROM backup_tracks WHERE policy IS NOT NULL"
    ).fetchall():
        body = tx.policy(name)
        if body is not None and body.get("RetentionPolicy"):
            out.append((name, body))
    return out


def deletion_range(runs: list[Run], cutoff: int, minimum: int) -> tuple[int, int] | None:
    """Global indices ``[lo, hi]`` (oldest first) the rule deletes, or None."""
    total = sum(r.count for r in runs)
    if total <= minimum:
        return None
    offset = total
    newest_full: int | None = None
    for run in reversed(runs):
        offset -= run.count
        if run.first_time >= cutoff:
            continue
        last_expired = min(run.last_k, run.pattern.first_at_or_after(cutoff) - 1)
        full = run.last_full_at_or_before(last_expired)
        if full >= run.first_k:
            newest_full = offset + (full - run.first_k)
            break
    if newest_full is None or newest_full == 0:
        return None
    count = min(newest_full, total - minimum)
    if count <= 0:
        return None
    return newest_full - count, newest_full - 1


class Changes:
    """Row changes collected over many partitions and written in a few statements."""

    def __init__(self) -> None:
        self.deleted: list[int] = []
        self.trimmed: list[tuple[int, int, int]] = []  # (first_k, first_time, id)
        self.copies: list[Run] = []

    def write(self, tx: Tx) -> None:
        tx.conn.executemany("UPDATE backup_runs SET first_k = ?, first_time = ? WHERE id = ?", self.trimmed)
        for run in self.copies:
            insert_run(tx, run)
        for start in range(0, len(self.deleted), 500):
            chunk = self.deleted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            tx.conn.execute(f"DELETE FROM backup_runs WHERE id IN ({marks})", chunk)
            tx.conn.execute(f"UPDATE backup_tracks SET open_run = NULL WHERE open_run IN ({marks})", chunk)


def prune(runs: list[Run], cutoff: int, minimum: int, changes: Changes) -> None:
    found = deletion_range(runs, cutoff, minimum)
    if found is not None:
        delete_range(runs, *found, changes)


def delete_range(runs: list[Run], lo: int, hi: int, changes: Changes) -> None:
    """Delete the backups at global indices lo..hi of ``runs`` (oldest first), splitting a run if needed. A split
    run keeps its id for the later part, so a partition's open run stays open."""
    offset = 0
    for run in runs:
        start, end = offset, offset + run.count - 1
        offset += run.count
        if end < lo or start > hi:
            continue
        cut_first = run.first_k + max(lo, start) - start
        cut_last = run.first_k + min(hi, end) - start
        if cut_first > run.first_k:  # an earlier part survives: store it as its own run
            changes.copies.append(replace(run, id=0, last_k=cut_first - 1))
        if cut_last < run.last_k:
            changes.trimmed.append((cut_last + 1, run.pattern.at(cut_last + 1), run.id))
        else:
            changes.deleted.append(run.id)


def clean(tx: Tx, partition: str, storage: str) -> None:
    """Delete every backup of a partition in one storage (the cleanup task)."""
    ids = [
        r[0]
        for r in tx.conn.execute(
            "SELECT id FROM backup_runs WHERE partition = ? AND storage = ?", (partition, storage)
        )
    ]
    tx.conn.execute("DELETE FROM backup_runs WHERE partition = ? AND storage = ?", (partition, storage))
    for run_id in ids:
        tx.conn.execute("UPDATE backup_tracks SET open_run = NULL WHERE open_run = ?", (run_id,))
    tx.conn.execute(
        "UPDATE backup_tracks SET chain_count = 0 WHERE partition = ? AND chain_storage = ?",
        (partition, storage),
    )


def clean_on_disable(tx: Tx, entity: Entity, policy_name: str) -> None:
    """CleanBackup for a DisableBackup of ``entity``'s mapping to ``policy_name``, run after the mapping is gone."""
    policy = tx.policy(policy_name)
    if policy is None:
        return
    storage = storages.identity(policy["Storage"])
    if entity.kind == "Partition":
        assert entity.service is not None and entity.partition is not None
        targets = [entity.partition]
        fallback = tx.mapping(service_key(entity.app, entity.service)) or tx.mapping(app_key(entity.app))
    else:
        targets = []
        services = [entity.service_row] if entity.kind == "Service" and entity.service_row is not None else []
        if entity.kind == "Application":
            services = list(tx.services(entity.app, None, -1, None))
        for svc in services:
            if svc is None:
                continue
            skey = service_key(svc.app, svc.name)
            for _, part in tx.partitions(svc.name, -1, -1):
                if tx.mapping(f"{skey}/{part.id}") is None:
                    targets.append(part.id)
        # The 6.4 server looks for an inherited mapping only for a service (its application's); for an
        # application there is none, so an application's partitions are always cleaned.
        fallback = tx.mapping(app_key(entity.app)) if entity.kind == "Service" else None
    if fallback is not None and fallback.policy is not None:
        inherited = tx.policy(fallback.policy)
        if inherited is not None and storages.identity(inherited["Storage"]) == storage:
            return
    for pid in targets:
        clean(tx, pid, storage)
