"""Partition health as the backup service reports it, and the GetPartitionHealth answer.

Facts [SRC microsoft/service-fabric 6.4, `src/prod/src/managed/Api/src/System/Fabric/BackupRestore/`
BackupRestoreManager.cs "Health Reporting Functions", BackupRestoreConstants.cs, and the SR.resx strings]:
- the replica's backup manager reports on its partition with SourceId ``System.BackupRestoreManager`` and
  Property ``Backup``;
- a failed periodic backup: HealthState Warning, TTL infinite, Description "Failed to take periodic backup for
  this partition with error:\\n{exception}" (service-fabric-issues#1370 shows the text on a real cluster);
- a successful one: HealthState Ok, TTL infinite, "Partition successfully backed up at {time} GMT", which
  replaces a warning;
- disabling backup: an Ok report "Periodic backup successfully disabled" with a 1 s TTL and RemoveWhenExpired,
  so the event disappears (the emulator removes it at once).

Assumptions (no public source), modelled here and nowhere else:
- ``FAILURE_EXCEPTION``: the exception text of a broken storage (a real one depends on the storage kind and
  on what broke).
- ``TIME_FORMAT``: how ``{time}`` renders (.NET ``DateTime.ToString()`` under the invariant culture).
- The Failover Manager's partition event (SourceId ``System.FM``, Property ``State``, Ok, "Partition is
  healthy.") that every real partition carries; replicas are not emulated (``ReplicaHealthStates`` is empty,
  HealthStatistics counts three healthy replicas).
- Sequence numbers and the TTL of an infinite report rendered as ``TimeSpan.MaxValue`` in ISO form.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from sfdeclare.emulator import fabric_errors as fe
from sfdeclare.emulator.clock import format_utc

SOURCE_ID = "System.BackupRestoreManager"
PROPERTY = "Backup"
FAILURE_TEMPLATE = "Failed to take periodic backup for this partition with error:\n{0}"
SUCCESS_TEMPLATE = "Partition successfully backed up at {0} GMT"
FAILURE_EXCEPTION = (
    "System.Fabric.FabricException: Unable to access the backup storage: the server failed to authenticate "
    "the request."
)
TIME_FORMAT = "%m/%d/%Y %H:%M:%S"
INFINITE_TTL = "P10675199DT2H48M5.4775807S"  # TimeSpan.MaxValue
FM_SOURCE_ID = "System.FM"
FM_PROPERTY = "State"
FM_DESCRIPTION = "Partition is healthy."
MIN_TRANSITION = "0001-01-01T00:00:00.000Z"
_FILTER_BITS = {"Ok": 2, "Warning": 4, "Error": 8}


def report_success(previous: str | None, first: int, last: int) -> str:
    """The report after successful backups at ``first``..``last`` (one report each; the last one shows)."""
    return _report(previous, "Ok", first, last)


def report_failure(previous: str | None, first: int, last: int) -> str:
    return _report(previous, "Warning", first, last)


def _report(previous: str | None, state: str, first: int, at: int) -> str:
    old = json.loads(previous) if previous else None
    since = old["since"] if old is not None and old["state"] == state else first
    seq = (old["seq"] + 1) if old is not None else 1
    ok_at = old.get("ok_at") if old is not None else None
    warning_at = old.get("warning_at") if old is not None else None
    if state == "Ok" and (old is None or old["state"] != "Ok"):
        ok_at = first
    if state == "Warning" and (old is None or old["state"] != "Warning"):
        warning_at = first
    value = {"state": state, "at": at, "since": since, "seq": seq, "ok_at": ok_at, "warning_at": warning_at}
    return json.dumps(value, separators=(",", ":"))


def backup_event(health: str | None) -> dict[str, Any] | None:
    """The backup manager's HealthEvent for a track's stored report, or None when there is none."""
    if not health:
        return None
    h = json.loads(health)
    moment = datetime.fromtimestamp(h["at"], timezone.utc).strftime(TIME_FORMAT)
    description = (
        SUCCESS_TEMPLATE.format(moment) if h["state"] == "Ok" else FAILURE_TEMPLATE.format(FAILURE_EXCEPTION)
    )
    return _event(
        SOURCE_ID, PROPERTY, h["state"], description, h["seq"], h["at"], h["ok_at"], h["warning_at"]
    )


def _event(
    source: str,
    prop: str,
    state: str,
    description: str,
    seq: int,
    at: int,
    ok_at: int | None,
    warning_at: int | None,
) -> dict[str, Any]:
    return {
        "SourceId": source,
        "Property": prop,
        "HealthState": state,
        "TimeToLiveInMilliSeconds": INFINITE_TTL,
        "Description": description,
        "SequenceNumber": str(seq),
        "RemoveWhenExpired": False,
        "IsExpired": False,
        "SourceUtcTimestamp": format_utc(at),
        "LastModifiedUtcTimestamp": format_utc(at),
        "LastOkTransitionAt": format_utc(ok_at) if ok_at is not None else MIN_TRANSITION,
        "LastWarningTransitionAt": format_utc(warning_at) if warning_at is not None else MIN_TRANSITION,
        "LastErrorTransitionAt": MIN_TRANSITION,
    }


def events_filter(raw: str | None) -> int:
    """EventsHealthStateFilter: flags (Ok 2, Warning 4, Error 8, All 65535); 0 or absent means all."""
    if raw is None or raw == "":
        return 0
    try:
        value = int(raw)
    except ValueError:
        raise fe.invalid(f"Invalid EventsHealthStateFilter '{raw}'.") from None
    return value


def aggregated(health: str | None) -> str:
    event = json.loads(health) if health else None
    return "Warning" if event is not None and event["state"] == "Warning" else "Ok"


def partition_health(
    partition: str, health: str | None, created_at: int, flags: int, exclude_statistics: bool
) -> dict[str, Any]:
    """The PartitionHealth answer of GET /Partitions/{id}/$/GetHealth."""
    events = [_event(FM_SOURCE_ID, FM_PROPERTY, "Ok", FM_DESCRIPTION, 1, created_at, created_at, None)]
    backup = backup_event(health)
    if backup is not None:
        events.append(backup)
    state = aggregated(health)
    if flags not in (0, 65535):
        events = [e for e in events if flags & _FILTER_BITS[e["HealthState"]]]
    unhealthy: list[dict[str, Any]] = []
    if backup is not None and state == "Warning":
        unhealthy.append(
            {
                "HealthEvaluation": {
                    "Kind": "Event",
                    "AggregatedHealthState": "Warning",
                    "Description": f"Event: SourceId='{SOURCE_ID}', Property='{PROPERTY}', HealthState='Warning', "
                    "ConsiderWarningAsError=false.",
                    "ConsiderWarningAsError": False,
                    "UnhealthyEvent": backup,
                }
            }
        )
    answer: dict[str, Any] = {
        "AggregatedHealthState": state,
        "HealthEvents": events,
        "UnhealthyEvaluations": unhealthy,
        "HealthStatistics": None
        if exclude_statistics
        else {
            "HealthStateCountList": [
                {
                    "EntityKind": "Replica",
                    "HealthStateCount": {"OkCount": 3, "WarningCount": 0, "ErrorCount": 0},
                }
            ]
        },
        "PartitionId": partition,
        "ReplicaHealthStates": [],
    }
    return answer
