"""GetBackups: the BackupInfo items a storage holds for an application, service or partition.

Rules [SRC 6.4 `FabricBRS/.../Operations/GetRestorePointsOperation.cs`, `RestorePointOperation.cs`,
`BackupRestoreCommon/FileShareRecoveryPointManager.cs`]:
- GetBackups on an entity lists the storages of the mappings that concern it (a partition: its own mapping, else
  its service's, else its application's; a service: every mapping under it and its application's; an
  application: every mapping under it); none -> 404 FABRIC_E_BACKUP_NOT_ENABLED. Within each storage it lists
  what is stored under the entity's folder, whoever wrote it (backups of a partition whose mapping moved on are
  still there).
- Items come per storage, then per partition folder (``App\\Service\\PartitionId``, sorted), oldest first.
- ``Latest=true``: the newest backup of each partition (within the date filters) in each storage.
- ``StartDateTimeFilter`` / ``EndDateTimeFilter`` bound CreationTimeUtc, both inclusive [INF: the filter code
  is not in the 6.4 source]; MaxResults 0 = everything, no token; otherwise a page and an opaque token while more
  remain, null on the last page.
- BackupLocation is ``App\\Service\\PartitionId\\yyyy-MM-dd HH.mm.ss.zip`` (BackupRestoreManager's
  GetBackupRelativePath and BackupFolderNameFormat; a ``/`` inside an application or service name is ``$``).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sfdeclare.emulator import fabric_errors as fe
from sfdeclare.emulator.backups import CONFIGURATION_VERSION, RUN_COLUMNS, Run, run_from_row
from sfdeclare.emulator.clock import format_utc
from sfdeclare.emulator.state import Tx

FOLDER_TIME = "%Y-%m-%d %H.%M.%S"


@dataclass(frozen=True)
class Scope:
    """The folder a listing covers: an application, a service or one partition (names as ``fabric:/...``)."""

    app: str
    service: str | None = None
    partition: str | None = None


def relative_folder(app: str, service: str, partition: str) -> str:
    app_part = app[len("fabric:/") :].replace("/", "$")
    service_part = service[len(app) + 1 :].replace("/", "$")
    return f"{app_part}\\{service_part}\\{partition}"


def location(run: Run, k: int) -> str:
    moment = datetime.fromtimestamp(run.pattern.at(k), timezone.utc).strftime(FOLDER_TIME)
    return f"{relative_folder(run.app, run.service, run.partition)}\\{moment}.zip"


def backup_info(run: Run, k: int) -> dict[str, Any]:
    info = run.info
    return {
        "BackupId": run.backup_id(k),
        "BackupChainId": run.chain_id(k),
        "ApplicationName": info["ApplicationName"],
        "ServiceName": info["ServiceName"],
        "PartitionInformation": info["PartitionInformation"],
        "BackupLocation": location(run, k),
        "BackupType": "Full" if run.is_full(k) else "Incremental",
        "EpochOfLastBackupRecord": {
            "ConfigurationVersion": CONFIGURATION_VERSION,
            "DataLossVersion": str(run.data_loss),
        },
        "LsnOfLastBackupRecord": str(run.lsn(k)),
        "CreationTimeUtc": format_utc(run.pattern.at(k)),
        "ServiceManifestVersion": info["Version"],
        "FailureError": None,
    }


def runs_in(tx: Tx, storage_ids: list[str], scope: Scope) -> list[Run]:
    where = ["app = ?"]
    args: list[Any] = [scope.app]
    if scope.service is not None:
        where.append("service = ?")
        args.append(scope.service)
    if scope.partition is not None:
        where.append("partition = ?")
        args.append(scope.partition)
    marks = ",".join("?" * len(storage_ids))
    rows = tx.conn.execute(
        f"SELECT {RUN_COLUMNS} FROM backup_runs WHERE storage IN ({marks}) AND {' AND '.join(where)}",
        (*storage_ids, *args),
    ).fetchall()
    return [run_from_row(r) for r in rows]


def _order(run: Run) -> tuple[str, str, int]:
    return (
        run.storage,
        relative_folder(run.app, run.service, run.partition),
        run.first_time,
    )


def _token(position: tuple[str, str, int]) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(position)).encode()).decode().rstrip("=")


def _position(token: str | None) -> tuple[str, str, int] | None:
    if not token:
        return None
    try:
        sid, folder, at = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return str(sid), str(folder), int(at)
    except (ValueError, TypeError, binascii.Error):
        raise fe.invalid(f"Invalid ContinuationToken '{token}'.") from None


def list_backups(
    tx: Tx,
    storage_ids: list[str],
    scope: Scope,
    *,
    start: int | None,
    end: int | None,
    latest: bool,
    token: str | None,
    max_results: int,
) -> dict[str, Any]:
    """A PagedBackupInfoList."""
    runs = sorted(runs_in(tx, storage_ids, scope), key=_order) if storage_ids else []
    after = _position(token)
    selected: list[tuple[tuple[str, str, int], Run, int]] = []
    limit = max_results + 1 if max_results > 0 else None
    for run in runs:
        sid, folder, _ = _order(run)
        k_lo = run.first_k if start is None else max(run.first_k, run.pattern.first_at_or_after(start))
        k_hi = run.last_k if end is None else min(run.last_k, run.pattern.first_after(end) - 1)
        if after is not None:
            if (sid, folder) < after[:2]:
                continue
            if (sid, folder) == after[:2]:
                k_lo = max(k_lo, run.pattern.first_after(after[2]))
        if k_lo > k_hi:
            continue
        if latest:
            if selected and selected[-1][0][:2] == (sid, folder):
                selected.pop()  # a newer run of the same partition folder
            selected.append(((sid, folder, run.pattern.at(k_hi)), run, k_hi))
            continue
        for k in range(k_lo, k_hi + 1):
            selected.append(((sid, folder, run.pattern.at(k)), run, k))
            if limit is not None and len(selected) >= limit:
                break
        if limit is not None and len(selected) >= limit:
            break
    next_token = None
    if max_results > 0 and len(selected) > max_results:
        selected = selected[:max_results]
        next_token = _token(selected[-1][0])
    return {"ContinuationToken": next_token, "Items": [backup_info(run, k) for _, run, k in selected]}


def find(tx: Tx, storage_id: str, backup_location: str) -> tuple[Run, int] | None:
    """The backup stored at ``backup_location`` in a storage (``\\`` or ``/`` separators), or None."""
    parts = backup_location.replace("/", "\\").strip("\\").split("\\")
    if len(parts) != 4 or not parts[3].lower().endswith(".zip"):
        return None
    try:
        moment = datetime.strptime(parts[3][: -len(".zip")], FOLDER_TIME).replace(tzinfo=timezone.utc)
    except ValueError:
        return None
    at = int(moment.timestamp())
    rows = tx.conn.execute(
        f"SELECT {RUN_COLUMNS} FROM backup_runs WHERE storage = ? AND partition = ? AND first_time <= ?",
        (storage_id, parts[2], at),
    ).fetchall()
    folder = "\\".join(parts[:3])
    for run in map(run_from_row, rows):
        if relative_folder(run.app, run.service, run.partition).lower() != folder.lower():
            continue
        k = run.pattern.first_at_or_after(at)
        if run.first_k <= k <= run.last_k and run.pattern.at(k) == at:
            return run, k
    return None
