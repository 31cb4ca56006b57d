"""The evidence routes `status` reads, as pure code: GetBackups at application level (``Latest=true``), a
partition's health, and the parsers of their answers (BackupInfo, PartitionHealth) and of the HTTP Date header.

Facts (SF-BACKUP-API.md audit corrections; REST spec ``BackupInfo`` / ``PagedBackupInfoList``; SDK 8.2
``get_application_backup_list``, ``get_partition_health``):
- ``GET /Applications/{id}/$/GetBackups`` takes the backup api-version, ``Latest``, ``StartDateTimeFilter``,
  ``EndDateTimeFilter``, ``ContinuationToken`` and ``MaxResults``; with ``Latest=true`` it lists the newest
  backup of each partition in each storage the application's mappings use (so a partition can appear once per
  storage); nothing mapped under the application -> 404 ``FABRIC_E_BACKUP_NOT_ENABLED``.
- A BackupInfo is a backup point: ``ApplicationName``, ``ServiceName``, ``PartitionInformation.Id``,
  ``BackupType`` (Full | Incremental), ``CreationTimeUtc``; ``FailureError`` (an object with Code and Message)
  is set only when the server could not read that point, which is then not a backup.
- ``GET /Partitions/{id}/$/GetHealth`` (api-version 6.0) answers ``HealthEvents``; a failed periodic backup is
  an event with SourceId ``System.BackupRestoreManager``, Property ``Backup`` and HealthState Warning, Description
  "Failed to take periodic backup for this partition ..." (6.4 source BackupRestoreManager.cs,
  service-fabric-issues#1370). The emulator keeps the same facts in ``sfdeclare/emulator/health.py``; a test
  holds the two copies equal.
- The cluster's time is the ``Date`` header of its answers (RFC 9110 §6.6.1: an origin server with a clock
  sends it; HTTP.sys, which serves Windows clusters' gateways, always does). An answer without one leaves the
  decision to the caller.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from sfdeclare.model.addresses import EntityRef
from sfdeclare.servicefabric.replies import ShapeError, reject
from sfdeclare.servicefabric.routes import ApiOptions, WireRequest, entity_path, quote_segment

HEALTH_API_VERSION = "6.0"
BACKUP_SOURCE_ID = "System.BackupRestoreManager"
BACKUP_PROPERTY = "Backup"
UNHEALTHY_STATES = ("Warning", "Error")


def latest_backups(app: str, opts: ApiOptions, continuation: str | None = None) -> WireRequest:
    """GetApplicationBackupList with ``Latest=true``: the newest backup of each partition of ``app``."""
    query: list[tuple[str, str]] = [("api-version", opts.api_version), ("Latest", "true")]
    if continuation:
        query.append(("ContinuationToken", continuation))
    query += [("MaxResults", "0"), ("timeout", str(opts.timeout))]
    return WireRequest(
        "GET",
        f"{entity_path(EntityRef(app), opts.entity_ids)}/$/GetBackups",
        tuple(query),
        None,
        f"GetBackups {EntityRef(app).address}",
    )


def partition_health(partition_id: str, opts: ApiOptions) -> WireRequest:
    """GetPartitionHealth without the replica list and statistics: only the partition's own events."""
    return WireRequest(
        "GET",
        f"/Partitions/{quote_segment(partition_id)}/$/GetHealth",
        (
            ("api-version", HEALTH_API_VERSION),
            ("ReplicasHealthStateFilter", "1"),  # None: no replica list
            ("ExcludeHealthStatistics", "true"),
            ("timeout", str(opts.timeout)),
        ),
        None,
        f"GetPartitionHealth partition[{partition_id}]",
    )


@dataclass(frozen=True)
class BackupPoint:
    """One listed backup: whose it is and when it was taken (seconds since the epoch, UTC)."""

    service: str
    partition: str
    created: int
    backup_type: str


def parse_time(text: str) -> int:
    """An ISO 8601 UTC date-time as the server writes it (``Z`` or an offset; up to 7 fractional digits, as
    .NET writes them) -> whole seconds since the epoch. ValueError when it is not one."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    head, dot, rest = value.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        value = head + "." + rest[: min(digits, 6)].ljust(1, "0") + rest[digits:]
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())


def parse_backup_info(item: Any, operation: str, status: int = 200) -> BackupPoint | None:
    """A BackupInfo -> BackupPoint; None for an item the server marks with a FailureError (not a backup)."""
    try:
        if not isinstance(item, Mapping):
            raise ShapeError("a BackupInfo is not a JSON object")
        if item.get("FailureError") not in (None, {}):
            return None
        service = item.get("ServiceName")
        info = item.get("PartitionInformation")
        created = item.get("CreationTimeUtc")
        if not isinstance(service, str) or not service.startswith("fabric:/"):
            raise ShapeError("a BackupInfo has no ServiceName")
        if not isinstance(info, Mapping) or not isinstance(info.get("Id"), str) or not info["Id"]:
            raise ShapeError(f"a BackupInfo of {service} has no PartitionInformation.Id")
        if not isinstance(created, str):
            raise ShapeError(f"a BackupInfo of {service} has no CreationTimeUtc")
        try:
            moment = parse_time(created)
        except ValueError:
            raise ShapeError(f"a BackupInfo of {service} has CreationTimeUtc {created!r}") from None
        kind = item.get("BackupType")
        return BackupPoint(service, info["Id"], moment, kind if isinstance(kind, str) else "Invalid")
    except ShapeError as exc:
        raise reject(operation, status, str(exc)) from None


@dataclass(frozen=True)
class BackupHealth:
    """The backup manager's report on a partition: unhealthy (Warning or Error) and its description."""

    unhealthy: bool
    description: str = ""


def parse_partition_health(body: Any, operation: str, status: int = 200) -> BackupHealth:
    """The backup service's event in a PartitionHealth answer (healthy when it has none)."""
    try:
        if not isinstance(body, Mapping):
            raise ShapeError("the PartitionHealth is not a JSON object")
        events = body.get("HealthEvents") or []
        if not isinstance(events, list):
            raise ShapeError("the PartitionHealth's HealthEvents is not a list")
        for event in events:
            if not isinstance(event, Mapping):
                raise ShapeError("a HealthEvent is not a JSON object")
            if event.get("SourceId") != BACKUP_SOURCE_ID or event.get("Property") != BACKUP_PROPERTY:
                continue
            if event.get("HealthState") in UNHEALTHY_STATES and not event.get("IsExpired", False):
                description = event.get("Description")
                return BackupHealth(True, description if isinstance(description, str) else "")
        return BackupHealth(False)
    except ShapeError as exc:
        raise reject(operation, status, str(exc)) from None


def parse_http_date(value: str | None) -> int | None:
    """An HTTP ``Date`` header -> seconds since the epoch; None when absent or unreadable."""
    if not value:
        return None
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return int(moment.timestamp())
