"""Backup policy bodies in a canonical, comparable form, and their field-level differences.

The server normalises what it stores (SF-BACKUP-API.md §3): durations are truncated and echoed in XmlConvert
form, run times keep only the UTC time of day, lists are de-duplicated, defaults are filled in, secrets are read
back as ``****``. Comparing a declared body with a live one is only meaningful after both are brought to the
form the server would hold; secrets are never compared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sfdeclare.model.declaration import SECRET_FIELDS
from sfdeclare.servicefabric.durations import (
    format_duration,
    format_run_time,
    parse_duration,
    parse_run_time,
    server_interval,
    server_retention,
)

_DAYS = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
_DURATION_FIELDS = {"Schedule.Interval", "RetentionPolicy.RetentionDuration"}


def _int(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return value


def _bool(value: Any) -> Any:
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return value


def _seconds(text: Any, normalise: Any) -> Any:
    try:
        return int(normalise(parse_duration(str(text))).total_seconds())
    except ValueError:
        return text


def _schedule(schedule: Mapping[str, Any]) -> dict[str, Any]:
    kind = schedule.get("ScheduleKind")
    out: dict[str, Any] = {"ScheduleKind": kind}
    if kind == "FrequencyBased":
        out["Interval"] = _seconds(schedule.get("Interval"), server_interval)
        return out
    if kind == "TimeBased":
        out["ScheduleFrequencyType"] = schedule.get("ScheduleFrequencyType")
        times = set()
        for value in schedule.get("RunTimes") or ():
            try:
                times.add(parse_run_time(str(value)).strftime("%H:%M:%S"))
            except ValueError:
                times.add(str(value))
        out["RunTimes"] = sorted(times)
        days = {str(d) for d in schedule.get("RunDays") or ()}
        out["RunDays"] = sorted(days, key=lambda d: _DAYS.index(d) if d in _DAYS else 99)
        return out
    return dict(schedule)


def _storage(storage: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in storage.items() if k not in SECRET_FIELDS and v is not None}
    out.setdefault("FriendlyName", "")
    return out


def _retention(retention: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if retention is None:
        return None
    return {
        "RetentionPolicyType": retention.get("RetentionPolicyType"),
        "RetentionDuration": _seconds(retention.get("RetentionDuration"), server_retention),
        "MinimumNumberOfBackups": _int(retention.get("MinimumNumberOfBackups", 0)),
    }


def canonical(body: Mapping[str, Any]) -> dict[str, Any]:
    """The form the server would hold for ``body``, without secrets; equal forms mean equal policies."""
    schedule = body.get("Schedule")
    storage = body.get("Storage")
    retention = body.get("RetentionPolicy")
    return {
        "AutoRestoreOnDataLoss": bool(_bool(body.get("AutoRestoreOnDataLoss", False))),
        "MaxIncrementalBackups": _int(body.get("MaxIncrementalBackups")),
        "Schedule": _schedule(schedule) if isinstance(schedule, Mapping) else schedule,
        "Storage": _storage(storage) if isinstance(storage, Mapping) else storage,
        "RetentionPolicy": _retention(retention) if isinstance(retention, Mapping) else None,
    }


def request_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` as the server takes it: run times written ``HH:MM[:SS]`` become full UTC date-times
    (``0001-01-01THH:MM:SSZ``, the form the server reads back); everything else is sent as declared."""
    out = dict(body)
    schedule = out.get("Schedule")
    if isinstance(schedule, Mapping) and isinstance(schedule.get("RunTimes"), list):
        times = []
        for value in schedule["RunTimes"]:
            try:
                times.append(format_run_time(parse_run_time(str(value))))
            except ValueError:
                times.append(value)
        out["Schedule"] = {**schedule, "RunTimes": times}
    return out


def _display(path: str, value: Any) -> Any:
    """A canonical value as people read it: durations (held as seconds) back in ISO-8601, also inside a part
    that differs as a whole (a RetentionPolicy only one side has)."""
    if path in _DURATION_FIELDS and isinstance(value, int) and not isinstance(value, bool):
        from datetime import timedelta

        return format_duration(timedelta(seconds=value))
    if isinstance(value, Mapping):
        return {k: _display(f"{path}.{k}", v) for k, v in value.items()}
    return value


_ABSENT = object()


def _dotted(deepdiff_path: str) -> str:
    # "root['Schedule']['Interval']" -> "Schedule.Interval"; list indexes keep their brackets.
    text = deepdiff_path.removeprefix("root")
    parts: list[str] = []
    for piece in text.replace("]", "").split("["):
        if not piece:
            continue
        parts.append(piece.strip("'\"") if piece[0] in "'\"" else f"[{piece}]")
    dotted = ""
    for part in parts:
        dotted += part if part.startswith("[") or not dotted else "." + part
    return dotted


def _lookup(tree: Any, dotted: str, missing: Any = None) -> Any:
    node = tree
    for key in dotted.split("."):
        if isinstance(node, Mapping) and key in node:
            node = node[key]
        else:
            return missing
    return node


def _as_written(body: Mapping[str, Any], canonical_body: Mapping[str, Any], path: str) -> Any:
    """The value at ``path`` as ``body`` spells it (the file's ``PT36H``, the server's ``P1D``); where only the
    canonical form has it (a default the server fills in), that form, readable."""
    written = _lookup(body, path, _ABSENT)
    if written is _ABSENT:
        return _display(path, _lookup(canonical_body, path))
    return _without_secrets(written)


def _without_secrets(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _without_secrets(v) for k, v in value.items() if k not in SECRET_FIELDS}
    return value


def field_changes(live: Mapping[str, Any], desired: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    """Field-level differences between two bodies, after canonicalisation; each value shown as its body writes
    it. Empty when the bodies are equal."""
    before = canonical(live)
    after = canonical(desired)
    if before == after:
        return ()
    # imported here, not at the top: most runs change no policy and need not pay its 60 ms import
    from deepdiff import DeepDiff

    diff = DeepDiff(before, after, ignore_order=True, view="tree")
    paths: set[str] = set()
    for items in diff.values():
        for item in items:
            path = _dotted(item.path())
            # a list-member change is reported for the whole list: that is what a reader compares
            paths.add(path.split("[", 1)[0] if "[" in path else path)
    return tuple(
        FieldChange(p, _as_written(live, before, p), _as_written(desired, after, p)) for p in sorted(paths)
    )


@dataclass(frozen=True)
class FieldChange:
    """One field of a policy that differs: its dotted path, the live value and the declared value."""

    path: str
    before: Any
    after: Any
