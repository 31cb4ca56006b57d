"""Periodic backups: arming each partition's schedule from its effective policy, and taking the due backups.

Rules (SF-BACKUP-API.md §5, the 6.4 BackupRestoreManager/BackupTimer, docs/emulator.md "Backups"):
- A partition is backed up when it belongs to a Stateful service with persisted state, a policy applies to it
  (partition > service > application) and it is not suspended (at any level) or stopped (StopBackups).
- Its schedule is (re)armed whenever what applies to it changes: the policy, the policy's schedule, storage or
  MaxIncrementalBackups, a suspension, StopBackups/StartBackups, the topology. Emulator decision: the first
  backup after arming falls at the first schedule time strictly after the arming time -- one Interval after it
  for FrequencyBased (the 6.4 BackupTimer arms a partition without backups this way), the next RunTime (on a
  RunDay for Weekly) for TimeBased. Later ticks follow the pattern whether a backup succeeded or failed, as the
  server re-arms after a failure.
- A chain is a Full backup then up to MaxIncrementalBackups Incrementals (the server takes a Full when the chain
  is empty or longer than MaxIncrementalBackups); a chain continues across suspension and policy updates as long
  as the storage stays the same; a failed tick adds nothing to it. BackupChainId is the chain's Full BackupId.
- A tick whose policy's storage is broken (BreakStorage) writes no backup and sets the partition's health
  warning; the next successful tick replaces it with the Ok report (``health``).
- Configuration writes only mark the application dirty (``mark_dirty``); ``sync`` arms the dirty applications'
  partitions at the clock's processed time, which is the time of the write (see ``timeline``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sfdeclare.emulator import storage as storages
from sfdeclare.emulator.entities import app_key, service_key
from sfdeclare.emulator.health import report_failure, report_success
from sfdeclare.emulator.runs import (
    CONFIGURATION_VERSION,
    LSN_STEP,
    RUN_COLUMNS,
    Run,
    backup_id,
    insert_run,
    partition_info,
    run_from_row,
)
from sfdeclare.emulator.schedule import Pattern, pattern_for, single
from sfdeclare.emulator.state import Tx


def mark_dirty(tx: Tx, app: str) -> None:
    tx.conn.execute("INSERT OR IGNORE INTO backup_dirty(app) VALUES(?)", (app,))


def mark_policy_dirty(tx: Tx, policy: str) -> None:
    tx.conn.execute(
        "INSERT OR IGNORE INTO backup_dirty(app) SELECT DISTINCT app FROM mappings WHERE policy = ?",
        (policy,),
    )


def is_dirty(tx: Tx) -> bool:
    return tx.conn.execute("SELECT 1 FROM backup_dirty LIMIT 1").fetchone() is not None


# tracks


@dataclass
class Track:
    partition: str
    app: str
    service: str
    armed_key: str | None = None
    policy: str | None = None
    storage: str | None = None
    pattern: str | None = None
    next_k: int = 0
    active: bool = False
    stopped: bool = False
    chain_storage: str | None = None
    chain_id: str | None = None
    chain_count: int = 0
    lsn: int = 0
    data_loss: int = 1
    open_run: int | None = None
    health: str | None = None


_TRACK_COLUMNS = (
    "partition, app, service, armed_key, policy, storage, pattern, next_k, active, stopped, chain_storage,"
    " chain_id, chain_count, lsn, data_loss, open_run, health"
)


def _track(row: Iterable[Any]) -> Track:
    values = list(row)
    values[8] = bool(values[8])
    values[9] = bool(values[9])
    return Track(*values)


def track(tx: Tx, partition: str) -> Track | None:
    row = tx.conn.execute(
        f"SELECT {_TRACK_COLUMNS} FROM backup_tracks WHERE partition = ?", (partition,)
    ).fetchone()
    return None if row is None else _track(row)


def save_track(tx: Tx, t: Track) -> None:
    tx.conn.execute(
        f"INSERT OR REPLACE INTO backup_tracks({_TRACK_COLUMNS}) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (
            t.partition, t.app, t.service, t.armed_key, t.policy, t.storage, t.pattern, t.next_k, int(t.active),
            int(t.stopped), t.chain_storage, t.chain_id, t.chain_count, t.lsn, t.data_loss, t.open_run, t.health,
        ),
    )  # fmt: skip


def _signature(policy: dict[str, Any]) -> str:
    """What re-arms a schedule when it changes: schedule, storage location and chain length."""
    relevant = {
        "Schedule": policy["Schedule"],
        "Storage": storages.identity(policy["Storage"]),
        "MaxIncrementalBackups": policy["MaxIncrementalBackups"],
    }
    return hashlib.sha256(json.dumps(relevant, sort_keys=True).encode()).hexdigest()[:16]


class _Policies:
    """Policies read once per transaction."""

    def __init__(self, tx: Tx) -> None:
        self.tx = tx
        self._cache: dict[str, dict[str, Any] | None] = {}

    def get(self, name: str) -> dict[str, Any] | None:
        if name not in self._cache:
            self._cache[name] = self.tx.policy(name)
        return self._cache[name]


def effective_policy(tx: Tx, app: str, service: str, partition: str) -> str | None:
    """The policy that applies to a partition: its own mapping, else its service's, else its application's."""
    for key in (f"{service_key(app, service)}/{partition}", service_key(app, service), app_key(app)):
        found = tx.mapping(key)
        if found is not None:
            return found.policy
    return None


def sync(tx: Tx, at: int) -> None:
    """Arm, at time ``at``, every partition of the applications whose configuration changed."""
    dirty = [str(r[0]) for r in tx.conn.execute("SELECT app FROM backup_dirty")]
    if not dirty:
        return
    if "*" in dirty:
        tx.conn.execute("DELETE FROM backup_tracks WHERE partition NOT IN (SELECT id FROM partitions)")
        dirty = [str(r[0]) for r in tx.conn.execute("SELECT name FROM applications")]
    policies = _Policies(tx)
    for app in dirty:
        _sync_app(tx, app, at, policies)
    tx.conn.execute("DELETE FROM backup_dirty")


def _sync_app(tx: Tx, app: str, at: int, policies: _Policies) -> None:
    mappings = {m.key: m.policy for m in tx.mappings_in_app(app)}
    suspended = {s.key for s in tx.suspensions_in_app(app)}
    tracks = {
        t.partition: t
        for t in map(
            _track, tx.conn.execute(f"SELECT {_TRACK_COLUMNS} FROM backup_tracks WHERE app = ?", (app,))
        )
    }
    seen: set[str] = set()
    for svc in tx.services(app, None, -1, None):
        if not svc.backup_eligible:
            continue
        skey = service_key(app, svc.name)
        for _, part in tx.partitions(svc.name, -1, -1):
            seen.add(part.id)
            chain = (f"{skey}/{part.id}", skey, app_key(app))
            policy_name = next((mappings[k] for k in chain if k in mappings), None)
            current = tracks.get(part.id)
            if policy_name is None and current is None:
                continue  # never reached by a policy: nothing to keep
            t = current if current is not None else Track(part.id, app, svc.name)
            policy = policies.get(policy_name) if policy_name is not None else None
            is_suspended = any(k in suspended for k in chain)
            key = json.dumps(
                [policy_name, _signature(policy) if policy else None, is_suspended, t.stopped],
                separators=(",", ":"),
            )
            if key != t.armed_key or current is None:
                _arm(t, key, policy, is_suspended, at)
                save_track(tx, t)
    for pid in tracks:
        if pid not in seen:  # the service left the application or stopped being eligible
            tx.conn.execute("DELETE FROM backup_tracks WHERE partition = ?", (pid,))


def _arm(t: Track, key: str, policy: dict[str, Any] | None, is_suspended: bool, at: int) -> None:
    t.armed_key = key
    t.open_run = None
    if policy is None:
        t.policy = t.storage = t.pattern = None
        t.active = False
        t.chain_count = 0
        t.health = None  # "Periodic backup successfully disabled": an Ok report that removes itself at once
        return
    pattern = pattern_for(policy["Schedule"], at)
    t.policy = policy["Name"]
    t.storage = storages.identity(policy["Storage"])
    t.pattern = pattern.to_json() if pattern is not None else None
    t.next_k = pattern.first_after(at) if pattern is not None else 0
    t.active = pattern is not None and not is_suspended and not t.stopped
    if t.chain_storage != t.storage:
        t.chain_count = 0


def take_ticks(tx: Tx, until: int, broken: set[str]) -> None:
    """Take (or fail) every periodic backup due at or before ``until`` on every active partition."""
    policies = _Policies(tx)
    patterns: dict[str, Pattern] = {}
    rows = tx.conn.execute(f"SELECT {_TRACK_COLUMNS} FROM backup_tracks WHERE active = 1").fetchall()
    extend: list[tuple[int, int]] = []
    changed: list[Track] = []
    for t in map(_track, rows):
        assert t.pattern is not None and t.policy is not None and t.storage is not None
        pattern = patterns.get(t.pattern)
        if pattern is None:
            pattern = patterns[t.pattern] = Pattern.from_json(t.pattern)
        k_end = pattern.first_after(until) - 1
        if k_end < t.next_k:
            continue
        last_time = pattern.at(k_end)
        if t.policy in broken:
            t.health = report_failure(t.health, pattern.at(t.next_k), last_time)
            t.open_run = None
        else:
            policy = policies.get(t.policy)
            assert policy is not None
            _succeed(tx, t, pattern, k_end, int(policy["MaxIncrementalBackups"]) + 1, extend)
            t.health = report_success(t.health, pattern.at(t.next_k), last_time)
        t.next_k = k_end + 1
        changed.append(t)
    tx.conn.executemany("UPDATE backup_runs SET last_k = ? WHERE id = ?", extend)
    tx.conn.executemany(
        "UPDATE backup_tracks SET next_k = ?, chain_storage = ?, chain_id = ?, chain_count = ?, lsn = ?,"
        " open_run = ?, health = ? WHERE partition = ?",
        [
            (t.next_k, t.chain_storage, t.chain_id, t.chain_count, t.lsn, t.open_run, t.health, t.partition)
            for t in changed
        ],
    )


def _succeed(
    tx: Tx, t: Track, pattern: Pattern, k_end: int, chain_len: int, extend: list[tuple[int, int]]
) -> None:
    assert t.storage is not None
    count = k_end - t.next_k + 1
    continuing = t.chain_storage == t.storage and 0 < t.chain_count < chain_len
    pos_start = t.chain_count if continuing else 0
    first_time = pattern.at(t.next_k)
    if t.open_run is not None:
        extend.append((k_end, t.open_run))
    else:
        info = partition_info(tx, t.partition)
        assert info is not None
        chain0 = t.chain_id if continuing and t.chain_id else backup_id(t.partition, t.storage, first_time)
        run = Run(
            0, t.partition, t.storage, t.app, t.service, info, pattern, t.next_k, t.next_k, k_end, first_time,
            chain_len, pos_start, chain0, t.lsn, t.data_loss, "p",
        )  # fmt: skip
        t.open_run = insert_run(tx, run)
    last_position = pos_start + count - 1
    number = last_position // chain_len
    if number > 0 or not continuing:
        full_k = t.next_k + number * chain_len - pos_start
        t.chain_id = backup_id(t.partition, t.storage, pattern.at(full_k))
    t.chain_storage = t.storage
    t.chain_count = last_position % chain_len + 1
    t.lsn += count * LSN_STEP


def store_single(tx: Tx, t: Track, storage: str, at: int) -> Run:
    """An on-demand backup: always Full (the 6.4 BackupNow takes BackupOption.Full), its own chain."""
    info = partition_info(tx, t.partition)
    assert info is not None
    bid = backup_id(t.partition, storage, at, "o")
    run = Run(
        0,
        t.partition,
        storage,
        t.app,
        t.service,
        info,
        single(at),
        0,
        0,
        0,
        at,
        1,
        0,
        bid,
        t.lsn,
        t.data_loss,
        "o",
    )
    run.id = insert_run(tx, run)
    t.lsn += LSN_STEP
    t.open_run = None  # the periodic run resumes as a new run, so runs of one storage never interleave
    return run


__all__ = [
    "CONFIGURATION_VERSION",
    "LSN_STEP",
    "RUN_COLUMNS",
    "Run",
    "Track",
    "backup_id",
    "insert_run",
    "partition_info",
    "run_from_row",
]
