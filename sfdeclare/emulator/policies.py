"""BackupPolicyDescription: binding (shape and types), the server's normalisation, and masked read-back.

Binding errors correspond to the server's model validation and are reported before the api-version check;
value rules (interval and retention limits) belong to the operation and come after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sfdeclare.emulator import policy_fields, runtimes
from sfdeclare.emulator.durations import (
    format_duration,
    minutes_component,
    parse_duration,
    total_hours,
    total_minutes,
)
from sfdeclare.emulator.fabric_errors import FabricFault, invalid
from sfdeclare.emulator.run_times import parse_run_time

MASK = "****"
SECRET_FIELDS = ("ConnectionString", "PrimaryPassword", "SecondaryPassword")
SCHEDULE_KINDS = ("FrequencyBased", "TimeBased")
STORAGE_KINDS = ("AzureBlobStore", "FileShare", "DsmsAzureBlobStore", "ManagedIdentityAzureBlobStore")
MANAGED_IDENTITY = "ManagedIdentityAzureBlobStore"
MANAGED_IDENTITY_TYPES = ("VMSS", "Cluster")
CLIENT_ID = "ManagedIdentityClientId"
FREQUENCY_TYPES = ("Daily", "Weekly")
DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
MAX_INTERVAL = timedelta(days=15)

_STORAGE_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # kind: (required fields, optional fields), FriendlyName is optional everywhere
    "AzureBlobStore": (("ConnectionString", "ContainerName"), ()),
    "FileShare": (
        ("Path",),
        ("PrimaryUserName", "PrimaryPassword", "SecondaryUserName", "SecondaryPassword"),
    ),
    "DsmsAzureBlobStore": (("StorageCredentialsSourceLocation", "ContainerName"), ()),
    # ManagedIdentityType (an enum) is bound on its own; ManagedIdentityClientId only where the runtime has it.
    MANAGED_IDENTITY: (("BlobServiceUri", "ContainerName"), ()),
}


def model_state_error(field: str, message: str) -> FabricFault:
    """The Web API ModelState message, quotes removed, as the server reports binding failures."""
    return invalid(f"{{Message:The request is invalid.,ModelState:{{{field}:[{message}]}}}}")


def _required(field: str) -> FabricFault:
    return model_state_error(field, f"The {field.rsplit('.', 1)[-1]} field is required.")


def _string(obj: dict[str, Any], key: str, where: str, *, required: bool) -> str | None:
    value = obj.get(key)
    if value is None or (required and isinstance(value, str) and not value.strip()):
        if required:
            raise _required(f"{where}.{key}")
        return None
    if not isinstance(value, str):
        raise model_state_error(f"{where}.{key}", f"Error converting value to type 'String' for {key}.")
    return value


def _integer(obj: dict[str, Any], key: str, where: str, *, required: bool, default: int = 0) -> int:
    value = obj.get(key)
    if value is None:
        if required:
            raise _required(f"{where}.{key}")
        return default
    bad = model_state_error(f"{where}.{key}", f"Could not convert value to integer for {key}.")
    if isinstance(value, bool):
        raise bad
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            raise bad from None
    raise bad


def json_boolean(obj: dict[str, Any], key: str, where: str) -> bool:
    """A boolean field as Json.NET binds it: absent is false, "true" and "false" strings are read, anything else
    is a ModelState error."""
    value = obj.get(key)
    if value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise model_state_error(f"{where}.{key}", f"Could not convert value to boolean for {key}.")


def _object(obj: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = obj.get(key)
    if value is None:
        raise _required(f"{where}.{key}")
    if not isinstance(value, dict):
        raise model_state_error(f"{where}.{key}", f"Expected a JSON object for {key}.")
    return value


@dataclass(frozen=True)
class BoundPolicy:
    """A request body that passed model binding; ``normalise`` applies the operation's value rules."""

    body: dict[str, Any]


def bind_policy(body: Any, *, runtime: str) -> BoundPolicy:
    """Model binding and data annotations for a BackupPolicyDescription body."""
    where = "backupPolicy"
    if not isinstance(body, dict):
        raise model_state_error(where, "Expected a JSON object.")
    name = _string(body, "Name", where, required=True)
    assert name is not None
    max_incremental = _integer(body, "MaxIncrementalBackups", where, required=True)
    if not 0 <= max_incremental <= 255:
        raise model_state_error(
            f"{where}.MaxIncrementalBackups", "The field MaxIncrementalBackups must be between 0 and 255."
        )
    bound: dict[str, Any] = {
        "Name": name,
        "AutoRestoreOnDataLoss": json_boolean(body, "AutoRestoreOnDataLoss", where),
        "MaxIncrementalBackups": max_incremental,
        "Schedule": _bind_schedule(_object(body, "Schedule", where)),
        "Storage": _bind_storage(_object(body, "Storage", where), runtime),
        "RetentionPolicy": None,
    }
    retention = body.get("RetentionPolicy")
    if retention is not None:
        if not runtimes.supports(runtime, runtimes.RETENTION_POLICY):
            raise invalid("RetentionPolicy is not supported by this runtime (api-version 6.2-preview).")
        if not isinstance(retention, dict):
            raise model_state_error(f"{where}.RetentionPolicy", "Expected a JSON object for RetentionPolicy.")
        bound["RetentionPolicy"] = _bind_retention(retention)
    bound.update(policy_fields.bind(body, runtime))
    return BoundPolicy(bound)


def _bind_schedule(schedule: dict[str, Any]) -> dict[str, Any]:
    kind = schedule.get("ScheduleKind")
    if kind is None:
        raise invalid(" ScheduleKind is Required")
    if kind not in SCHEDULE_KINDS:
        raise invalid(f"Invalid Schedule Type {kind}")
    where = "backupPolicy.Schedule"
    if kind == "FrequencyBased":
        return {"ScheduleKind": kind, "Interval": _string(schedule, "Interval", where, required=True)}
    frequency = schedule.get("ScheduleFrequencyType")
    if frequency is None:
        raise _required(f"{where}.ScheduleFrequencyType")
    canonical = _enum_name(frequency, FREQUENCY_TYPES)
    if canonical is None:
        raise model_state_error(f"{where}.ScheduleFrequencyType", f"Error converting value {frequency}.")
    run_times = schedule.get("RunTimes")
    if run_times is None:
        raise _required(f"{where}.RunTimes")
    if not isinstance(run_times, list) or not all(isinstance(t, str) for t in run_times):
        raise model_state_error(f"{where}.RunTimes", "Expected a list of date-time strings.")
    run_days = schedule.get("RunDays")
    days: list[str] = []
    if run_days is not None:
        if not isinstance(run_days, list):
            raise model_state_error(f"{where}.RunDays", "Expected a list of days.")
        for day in run_days:
            name = _day(day)
            if name is None:
                raise model_state_error(
                    f"{where}.RunDays", f"Error converting value {day} to type 'DayOfWeek'."
                )
            if name not in days:
                days.append(name)
    if canonical == "Weekly" and not days:
        raise invalid("The RunDays field is required.")
    return {"ScheduleKind": kind, "ScheduleFrequencyType": canonical, "RunDays": days, "RunTimes": run_times}


def _enum_name(value: Any, names: tuple[str, ...]) -> str | None:
    if isinstance(value, str):
        for name in names:
            if name.lower() == value.strip().lower():
                return name
    return None


def _day(value: Any) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(DAYS):
        return DAYS[value]
    return _enum_name(value, DAYS)


def _bind_storage(storage: dict[str, Any], runtime: str) -> dict[str, Any]:
    kind = storage.get("StorageKind")
    if kind is None:
        raise invalid("StorageType is Required")
    known = kind in STORAGE_KINDS and (
        kind != MANAGED_IDENTITY or runtimes.supports(runtime, runtimes.MANAGED_IDENTITY_STORAGE)
    )
    if not known:
        raise invalid(f"Invalid StorageKind {kind}")
    required, optional = _STORAGE_FIELDS[kind]
    where = "backupPolicy.Storage"
    bound: dict[str, Any] = {"StorageKind": kind}
    bound["FriendlyName"] = _string(storage, "FriendlyName", where, required=False) or ""
    for field in required:
        bound[field] = _string(storage, field, where, required=True)
    for field in optional:
        bound[field] = _string(storage, field, where, required=False)
    if kind == MANAGED_IDENTITY:
        identity = storage.get("ManagedIdentityType")
        if identity is None:
            raise _required(f"{where}.ManagedIdentityType")
        canonical = _enum_name(identity, MANAGED_IDENTITY_TYPES)
        if canonical is None:
            raise model_state_error(
                f"{where}.ManagedIdentityType",
                f"Error converting value {identity} to type 'ManagedIdentityType'.",
            )
        bound["ManagedIdentityType"] = canonical
        if runtimes.supports(runtime, runtimes.MANAGED_IDENTITY_CLIENT_ID):
            bound[CLIENT_ID] = _string(storage, CLIENT_ID, where, required=False)
    return bound


def _bind_retention(retention: dict[str, Any]) -> dict[str, Any]:
    kind = retention.get("RetentionPolicyType")
    if kind is None:
        raise invalid("RetentionPolicyType is Required")
    if kind != "Basic":
        raise invalid(f"Invalid RetentionPolicyType {kind}")
    where = "backupPolicy.RetentionPolicy"
    return {
        "RetentionPolicyType": kind,
        "RetentionDuration": _string(retention, "RetentionDuration", where, required=True),
        "MinimumNumberOfBackups": _integer(retention, "MinimumNumberOfBackups", where, required=False),
    }


def normalise(bound: BoundPolicy) -> dict[str, Any]:
    """The operation's value rules; returns the policy as stored (secrets in clear, like an unencrypted BRS)."""
    policy = dict(bound.body)
    schedule = dict(policy["Schedule"])
    if schedule["ScheduleKind"] == "FrequencyBased":
        schedule["Interval"] = _normalise_interval(schedule["Interval"])
    else:
        times: list[str] = []
        for text in schedule["RunTimes"]:
            try:
                value = parse_run_time(text)
            except ValueError as exc:
                raise invalid(str(exc)) from None
            if value not in times:
                times.append(value)
        schedule["RunTimes"] = times
    policy["Schedule"] = schedule
    retention = policy.get("RetentionPolicy")
    if retention is not None:
        retention = dict(retention)
        duration = _duration(retention["RetentionDuration"])
        hours = total_hours(duration)
        if hours < 1:
            raise invalid("Minimum retention duration supported is 1 hour.")
        retention["RetentionDuration"] = format_duration(timedelta(hours=hours))
        policy["RetentionPolicy"] = retention
    return policy


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise invalid(str(exc)) from None


def _normalise_interval(text: str) -> str:
    interval = _duration(text)
    if interval > MAX_INTERVAL:
        raise invalid("Allowed maximum time interval between consecutive backups is 15 days.")
    if minutes_component(interval) != 0:
        stored = timedelta(minutes=total_minutes(interval))
    else:
        stored = timedelta(hours=total_hours(interval))
    # The 6.4 server rejects only an exact zero; its message states the intent: at least one minute.
    if stored <= timedelta(0):
        raise invalid(
            "Minimum time interval supported is 1 minute and precision in seconds is not supported."
        )
    return format_duration(stored)


def render(policy: dict[str, Any], *, runtime: str) -> dict[str, Any]:
    """A stored policy as every read returns it: secrets masked, passwords masked even when unset."""
    storage = dict(policy["Storage"])
    for field in SECRET_FIELDS:
        if field in storage:
            storage[field] = MASK
    if storage["StorageKind"] == MANAGED_IDENTITY:
        if runtimes.supports(runtime, runtimes.MANAGED_IDENTITY_CLIENT_ID):
            storage.setdefault(CLIENT_ID, None)
        else:
            storage.pop(CLIENT_ID, None)
    out: dict[str, Any] = {
        "Name": policy["Name"],
        "AutoRestoreOnDataLoss": policy["AutoRestoreOnDataLoss"],
        "MaxIncrementalBackups": policy["MaxIncrementalBackups"],
        "Schedule": policy["Schedule"],
        "Storage": storage,
    }
    if runtimes.supports(runtime, runtimes.RETENTION_POLICY):
        out["RetentionPolicy"] = policy.get("RetentionPolicy")
    out.update(policy_fields.render(policy, runtime))
    return out
