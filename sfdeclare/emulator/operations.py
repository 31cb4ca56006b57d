"""On-demand backup and restore of a partition, and their progress, on the emulator's clock.

Rules [SRC 6.4 `FabricBRS/.../Operations/BackupPartitionRequestOperation.cs`, `RestorePartitionRequestOperation.cs`,
`BackupRestorePartitionOperation.cs`, `BackupPartitionController.cs`; codes and statuses from
`BackupRestoreTypes/FabricError.cs`]:
- Backup: the storage is the body's ``BackupStorage``, else the storage of the policy of the partition's own
  mapping, else its service's, else its application's (a suspension does not matter); none -> 404
  FABRIC_E_BACKUP_NOT_ENABLED. ``BackupTimeout`` is in minutes (default 10). The backup is always Full.
- Restore: ``BackupId`` and ``BackupLocation`` are required; the storage is found the same way. The backup at
  BackupLocation must exist in that storage, else 500 FABRIC_E_RESTORE_SAFE_CHECK_FAILED "Unable to Reterive
  Restore Details" [SRC message; that a missing file reaches this branch rather than an I/O error is INF]; its
  BackupId must be the one given, else 400 FABRIC_E_RESTORE_SOURCE_TARGET_PARTITION_MISMATCH "BackupId and Backup
  Locations are mismatch."; its partition must have the target's kind and keys (Int64Range: the same LowKey and
  HighKey; Named: the same name), else the same code -- so a backup of another partition with the same keys
  (another service's) is accepted, as on the server. ``RestoreTimeout`` is in minutes (default 10).
- Either request while a restore of the partition is Accepted or in progress -> 409 FABRIC_E_RESTORE_IN_PROGRESS
  "Restore already in Progress."; while a backup is -> 409 FABRIC_E_BACKUP_IN_PROGRESS "Backup already in Progress".
- Progress of a partition that never had one: 200 ``null``.

Emulator decisions (timing is not a server fact): an operation is ``Accepted`` at the moment of the request,
in progress from the next second, and completes ``BACKUP_SECONDS`` / ``RESTORE_SECONDS`` of emulator time after
it (so with a virtual clock, advance it to see the result). It fails (``Failure``, FailureError ``FAILURE_CODE``)
when its storage is broken (BreakStorage), and it times out (``Timeout``) on a stopped partition (StopBackups)
when its timeout has passed. A successful restore moves the partition to a new data-loss epoch at the backup's
LSN, and its next periodic backup starts a new chain.
"""

from __future__ import annotations

import json
from typing import Any

from sfdeclare.emulator import backups, clock, listing
from sfdeclare.emulator import fabric_errors as fe
from sfdeclare.emulator import storage as storages
from sfdeclare.emulator.backups import Track
from sfdeclare.emulator.fabric_errors import FabricFault
from sfdeclare.emulator.health import FAILURE_EXCEPTION
from sfdeclare.emulator.state import PartitionRow, Tx

BACKUP_SECONDS = 10
RESTORE_SECONDS = 30
DEFAULT_TIMEOUT_MINUTES = 10
FAILURE_CODE = "E_FAIL"  # assumption: the code a storage failure carries in FailureError
BACKUP_IN_PROGRESS = fe.BACKUP_IN_PROGRESS
RESTORE_IN_PROGRESS = fe.RESTORE_IN_PROGRESS
SAFE_CHECK_FAILED = fe.RESTORE_SAFE_CHECK_FAILED
PARTITION_MISMATCH = fe.RESTORE_PARTITION_MISMATCH
_STATES = {"backup": ("BackupInProgress",), "restore": ("RestoreInProgress",)}


def _operation(tx: Tx, partition: str, kind: str) -> tuple[dict[str, Any], int, bool] | None:
    row = tx.conn.execute(
        "SELECT body, done_at, applied FROM backup_operations WHERE partition = ? AND kind = ?",
        (partition, kind),
    ).fetchone()
    return None if row is None else (json.loads(row[0]), int(row[1]), bool(row[2]))


def _running(tx: Tx, partition: str, kind: str) -> bool:
    found = _operation(tx, partition, kind)
    return found is not None and not found[2]


def _check_idle(tx: Tx, partition: str) -> None:
    if _running(tx, partition, "restore"):
        raise FabricFault(RESTORE_IN_PROGRESS, "Restore already in Progress.")
    if _running(tx, partition, "backup"):
        raise FabricFault(BACKUP_IN_PROGRESS, "Backup already in Progress")


def _storage_of(tx: Tx, app: str, service: str, partition: str, override: dict[str, Any] | None) -> str:
    if override is not None:
        return storages.identity(override)
    policy_name = backups.effective_policy(tx, app, service, partition)
    policy = tx.policy(policy_name) if policy_name is not None else None
    if policy is None:
        raise FabricFault(
            fe.BACKUP_NOT_ENABLED,
            "Backup has not been configured/ enabled for this specific partition/ service/ application.",
        )
    return storages.identity(policy["Storage"])


def _broken(tx: Tx, storage_id: str) -> bool:
    for (name,) in tx.conn.execute("SELECT name FROM broken_policies").fetchall():
        policy = tx.policy(name)
        if policy is not None and storages.identity(policy["Storage"]) == storage_id:
            return True
    return False


def _track_for(tx: Tx, app: str, service: str, partition: str) -> Track:
    found = backups.track(tx, partition)
    return found if found is not None else Track(partition, app, service)


def timeout_minutes(raw: str | None, name: str) -> int:
    """A BackupTimeout / RestoreTimeout query value in minutes (default 10); 400 E_INVALIDARG if not an int32."""
    if raw is None or raw == "":
        return DEFAULT_TIMEOUT_MINUTES
    try:
        value = int(raw)
    except ValueError:
        raise fe.invalid(f"Invalid {name} '{raw}'.") from None
    if not -(2**31) <= value < 2**31:
        raise fe.invalid(f"Invalid {name} '{raw}'.")
    return value


def _schedule(
    tx: Tx,
    partition: str,
    kind: str,
    body: dict[str, Any],
    duration: int,
    timeout_minutes: int,
    stopped: bool,
) -> None:
    now = clock.now(tx)
    limit = max(1, timeout_minutes * 60)
    if stopped or limit < duration:
        body["final"] = "Timeout"
        done_at = now + limit
    else:
        done_at = now + duration
    body["accepted"] = now
    tx.conn.execute(
        "INSERT OR REPLACE INTO backup_operations(partition, kind, body, done_at, applied) VALUES(?,?,?,?,0)",
        (partition, kind, json.dumps(body, separators=(",", ":")), done_at),
    )


def request_backup(
    tx: Tx, app: str, service: str, part: PartitionRow, override: dict[str, Any] | None, timeout: str | None
) -> None:
    minutes = timeout_minutes(timeout, "BackupTimeout")
    storage_id = _storage_of(tx, app, service, part.id, override)
    _check_idle(tx, part.id)
    t = _track_for(tx, app, service, part.id)
    body: dict[str, Any] = {
        "storage": storage_id,
        "final": "Failure" if _broken(tx, storage_id) else "Success",
    }
    _schedule(tx, part.id, "backup", body, BACKUP_SECONDS, minutes, t.stopped)


def request_restore(
    tx: Tx, app: str, service: str, part: PartitionRow, request: dict[str, Any], timeout: str | None
) -> None:
    minutes = timeout_minutes(timeout, "RestoreTimeout")
    storage_id = _storage_of(tx, app, service, part.id, request.get("BackupStorage"))
    found = listing.find(tx, storage_id, request["BackupLocation"])
    if found is None:
        raise FabricFault(SAFE_CHECK_FAILED, "Unable to Reterive Restore Details")
    run, k = found
    if run.backup_id(k).lower() != request["BackupId"].strip().lower():
        raise FabricFault(PARTITION_MISMATCH, "BackupId and Backup Locations are mismatch.")
    _check_partition_kind(run.info["PartitionInformation"], part)
    _check_idle(tx, part.id)
    t = _track_for(tx, app, service, part.id)
    body: dict[str, Any] = {
        "storage": storage_id,
        "lsn": run.lsn(k),
        "final": "Failure" if _broken(tx, storage_id) else "Success",
    }
    _schedule(tx, part.id, "restore", body, RESTORE_SECONDS, minutes, t.stopped)


def _check_partition_kind(source: dict[str, Any], target: PartitionRow) -> None:
    kind = source.get("ServicePartitionKind")
    if target.kind == "Int64Range":
        if kind != "Int64Range" or (source.get("LowKey"), source.get("HighKey")) != (
            str(target.low_key),
            str(target.high_key),
        ):
            raise FabricFault(PARTITION_MISMATCH, "Invalid Source and Target Partition Type Or High/Low Key.")
    elif target.kind == "Named":
        if kind != "Named" or source.get("Name") != target.name:
            raise FabricFault(PARTITION_MISMATCH, "Invalid Source and Target Partition Type Or Name.")
    elif kind != "Singleton":
        raise FabricFault(PARTITION_MISMATCH, "Invalid Source and Target Partition Type.")


def completions(tx: Tx, start: int, end: int) -> list[int]:
    """The times in ``(start, end]`` at which pending operations complete, in order."""
    rows = tx.conn.execute(
        "SELECT DISTINCT done_at FROM backup_operations WHERE applied = 0 AND done_at > ? AND done_at <= ?"
        " ORDER BY done_at",
        (start, end),
    ).fetchall()
    return [int(r[0]) for r in rows]


def complete_due(tx: Tx, at: int) -> None:
    """Finish every operation completing at or before ``at``: store the backup, or restore the partition."""
    rows = tx.conn.execute(
        "SELECT partition, kind, body, done_at FROM backup_operations WHERE applied = 0 AND done_at <= ?",
        (at,),
    ).fetchall()
    for partition, kind, raw, done_at in rows:
        body = json.loads(raw)
        info = backups.partition_info(tx, partition)
        if body["final"] == "Success" and info is not None:
            t = _track_for(tx, info["ApplicationName"], info["ServiceName"], partition)
            if kind == "backup":
                run = backups.store_single(tx, t, body["storage"], int(done_at))
                body["result"] = {
                    "BackupId": run.backup_id(0),
                    "BackupLocation": listing.location(run, 0),
                    "Lsn": run.lsn(0),
                    "DataLoss": run.data_loss,
                }
            else:
                t.lsn = int(body["lsn"])
                t.data_loss += 1
                t.chain_count = 0
                t.open_run = None
                body["result"] = {"Lsn": t.lsn, "DataLoss": t.data_loss}
            backups.save_track(tx, t)
        elif body["final"] == "Success":
            body["final"] = "Failure"  # the partition left the cluster meanwhile
        tx.conn.execute(
            "UPDATE backup_operations SET body = ?, applied = 1 WHERE partition = ? AND kind = ?",
            (json.dumps(body, separators=(",", ":")), partition, kind),
        )


def _failure(body: dict[str, Any], kind: str) -> dict[str, Any]:
    if body["final"] == "Timeout":
        return {"Code": fe.TIMEOUT, "Message": f"The {kind} operation timed out."}
    return {"Code": FAILURE_CODE, "Message": FAILURE_EXCEPTION}


def progress(tx: Tx, partition: str, kind: str) -> dict[str, Any] | None:
    """BackupProgressInfo / RestoreProgressInfo at the clock's present, or None (the server's null)."""
    found = _operation(tx, partition, kind)
    if found is None:
        return None
    body, done_at, applied = found
    now = clock.now(tx)
    accepted = int(body["accepted"])
    if applied or now >= done_at:
        state, stamp = body["final"], done_at
    elif now > accepted:
        state, stamp = _STATES[kind][0], accepted + 1
    else:
        state, stamp = "Accepted", accepted
    epoch_key = "EpochOfLastBackupRecord" if kind == "backup" else "RestoredEpoch"
    out: dict[str, Any] = {("BackupState" if kind == "backup" else "RestoreState"): state}
    out["TimeStampUtc"] = clock.format_utc(stamp)
    result = body.get("result") if applied else None
    if kind == "backup":
        out["BackupId"] = result["BackupId"] if result else None
        out["BackupLocation"] = result["BackupLocation"] if result else None
    out[epoch_key] = (
        {"ConfigurationVersion": backups.CONFIGURATION_VERSION, "DataLossVersion": str(result["DataLoss"])}
        if result
        else None
    )
    out["LsnOfLastBackupRecord" if kind == "backup" else "RestoredLsn"] = (
        str(result["Lsn"]) if result else None
    )
    out["FailureError"] = _failure(body, kind) if state in ("Failure", "Timeout") else None
    return out
