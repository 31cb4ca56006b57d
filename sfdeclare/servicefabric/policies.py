"""Backup policy bodies in a canonical, comparable form, their field-level differences, and the fields
sfdeclare does not model.

The server normalises what it stores (SF-BACKUP-API.md §3): durations are truncated and echoed in XmlConvert
form, run times keep only the UTC time of day, lists are de-duplicated, defaults are filled in, secrets are read
back as ``****``. Comparing a declared body with a live one is only meaningful after both are brought to the
form the server would hold; secrets are never compared.

No field is ever silently lost (the server replaces a whole policy on update):
- a modelled field (``policy_fields.MODELLED``) the declaration leaves out means the server's default, so a live
  value that differs is a field change;
- an unmodelled live field is *kept*: carried over unchanged into the update (``update_body``) and listed
  (``kept_fields``), unless the declaration's ``unmodelled_fields`` block writes it, in which case it is compared
  and sent like any modelled field; a kept field whose value is masked (``****``) cannot be carried over
  (``masked_kept``): the caller must refuse to update that policy.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sfdeclare.model.declaration import SECRET_FIELDS
from sfdeclare.servicefabric import policy_fields
from sfdeclare.servicefabric.durations import (
    format_duration,
    format_run_time,
    parse_duration,
    parse_run_time,
    server_interval,
    server_retention,
)
from sfdeclare.servicefabric.policy_fields import MASKED, MODELLED, UNMODELLED_BLOCK

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
    out = {
        k: v
        for k, v in storage.items()
        if k in MODELLED["Storage"] and k not in SECRET_FIELDS and v is not None
    }
    out.setdefault("FriendlyName", "")
    if isinstance(out.get("ManagedIdentityType"), str):
        out["ManagedIdentityType"] = policy_fields.enum_name(
            out["ManagedIdentityType"], policy_fields.MANAGED_IDENTITY_TYPES
        )
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
    """The form the server would hold for ``body``'s modelled fields, without secrets; equal forms mean equal
    modelled fields. The 11.3 fields appear only when set to something other than the server's default."""
    schedule = body.get("Schedule")
    storage = body.get("Storage")
    retention = body.get("RetentionPolicy")
    out = {
        "AutoRestoreOnDataLoss": bool(_bool(body.get("AutoRestoreOnDataLoss", False))),
        "MaxIncrementalBackups": _int(body.get("MaxIncrementalBackups")),
        "Schedule": _schedule(schedule) if isinstance(schedule, Mapping) else schedule,
        "Storage": _storage(storage) if isinstance(storage, Mapping) else storage,
        "RetentionPolicy": _retention(retention) if isinstance(retention, Mapping) else None,
    }
    quick = policy_fields.quick_recovery(body)
    if quick is not None:
        out[policy_fields.QUICK_RECOVERY] = quick
    compression = policy_fields.compression(body)
    if compression is not None:
        out[policy_fields.COMPRESSION] = compression
    return out


# --- unmodelled fields -------------------------------------------------------------------------------------

_OBJECTS = ("Schedule", "Storage", "RetentionPolicy")


def unmodelled(body: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a live body that sfdeclare does not model, by dotted path (``BackupValidation``,
    ``Storage.SasTokenExpiry``); null values count as absent."""
    found: dict[str, Any] = {}
    for key, value in body.items():
        if key == UNMODELLED_BLOCK:
            continue
        if key not in MODELLED[""]:
            if value is not None:
                found[key] = value
        elif key in _OBJECTS and isinstance(value, Mapping):
            for inner, item in value.items():
                if inner not in MODELLED[key] and item is not None:
                    found[f"{key}.{inner}"] = item
    return found


def declared_unmodelled(body: Mapping[str, Any]) -> dict[str, Any]:
    """A declared body's ``unmodelled_fields`` block, by dotted path (``Storage: {X: 1}`` is ``Storage.X``)."""
    block = body.get(UNMODELLED_BLOCK)
    if not isinstance(block, Mapping):
        return {}
    found: dict[str, Any] = {}
    for key, value in block.items():
        if key in _OBJECTS and isinstance(value, Mapping):
            found.update((f"{key}.{inner}", item) for inner, item in value.items())
        else:
            found[str(key)] = value
    return found


def modelled_path(path: str) -> bool:
    """Whether a dotted path names a field sfdeclare models (so it belongs in the body, not the block)."""
    head, _, inner = path.partition(".")
    if not inner:
        return head in MODELLED[""]
    return head in MODELLED and inner in MODELLED[head]


def kept_fields(live: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    """Unmodelled live fields the declaration does not write: carried over unchanged by an update."""
    written = declared_unmodelled(desired)
    return {path: value for path, value in unmodelled(live).items() if path not in written}


def masked_kept(live: Mapping[str, Any], desired: Mapping[str, Any]) -> tuple[str, ...]:
    """Kept fields whose live value is masked: sending ``****`` back would store ``****``."""
    return tuple(path for path, value in kept_fields(live, desired).items() if value == MASKED)


def _put(body: dict[str, Any], path: str, value: Any) -> None:
    head, _, inner = path.partition(".")
    if inner and head in _OBJECTS:
        nested = body.get(head)
        body[head] = {**(nested if isinstance(nested, Mapping) else {}), inner: value}
    else:
        body[path] = value


def update_body(live: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    """The body of an update: the declared body as sent (``request_body``) with every kept, unmasked field of
    the live policy carried over unchanged."""
    out = request_body(desired)
    for path, value in kept_fields(live, desired).items():
        if value != MASKED:
            _put(out, path, value)
    return out


def request_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """``body`` as the server takes it: run times written ``HH:MM[:SS]`` become full UTC date-times
    (``0001-01-01THH:MM:SSZ``, the form the server reads back); the ``unmodelled_fields`` block is merged into
    the body at its paths; everything else is sent as declared."""
    out = {k: v for k, v in body.items() if k != UNMODELLED_BLOCK}
    for path, value in declared_unmodelled(body).items():
        _put(out, path, value)
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
    return without_secrets(written)


def without_secrets(value: Any) -> Any:
    """``value`` (a policy body or part of one) with every secret field left out, at any depth: what field
    diffs and drift reports may show."""
    if isinstance(value, Mapping):
        return {k: without_secrets(v) for k, v in value.items() if k not in SECRET_FIELDS}
    return value


def shown_without_secrets(body: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A policy body as a report shows it (None stays None)."""
    return None if body is None else dict(without_secrets(body))


def field_changes(live: Mapping[str, Any], desired: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    """Field-level differences between two bodies, after canonicalisation; each value shown as its body writes
    it. Empty when the bodies are equal."""
    before = canonical(live)
    after = canonical(desired)
    changes = list(_unmodelled_changes(live, desired))
    if before == after:
        return tuple(changes)
    # imported here, not at the top: most runs change no policy and need not pay its 60 ms import
    from deepdiff import DeepDiff

    diff = DeepDiff(before, after, ignore_order=True, view="tree")
    paths: set[str] = set()
    for items in diff.values():
        for item in items:
            path = _dotted(item.path())
            # a list-member change is reported for the whole list: that is what a reader compares
            paths.add(path.split("[", 1)[0] if "[" in path else path)
    changes += [
        FieldChange(p, _as_written(live, before, p), _as_written(desired, after, p)) for p in sorted(paths)
    ]
    return tuple(sorted(changes, key=lambda c: c.path))


def _unmodelled_changes(live: Mapping[str, Any], desired: Mapping[str, Any]) -> list[FieldChange]:
    """The ``unmodelled_fields`` the declaration writes whose live value differs (a masked live value, or a
    secret reference, cannot be compared: it is sent on every update, never shown as a change)."""
    have = unmodelled(live)
    changes = []
    for path, value in declared_unmodelled(desired).items():
        now = have.get(path)
        if now == MASKED or (isinstance(value, str) and "${" in value):
            continue
        if now != value:
            changes.append(FieldChange(path, now, value))
    return changes


def kept_changes(live: Mapping[str, Any], desired: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    """The kept fields (``kept_fields``) as lines of a plan: the live value, carried over as it is."""
    return tuple(FieldChange(p, v, v, kept=True) for p, v in sorted(kept_fields(live, desired).items()))


@dataclass(frozen=True)
class FieldChange:
    """One field of a policy that differs: its dotted path, the live value and the declared value. ``kept``: a
    field sfdeclare does not model, carried over unchanged (``before`` is ``after``)."""

    path: str
    before: Any
    after: Any
    kept: bool = False
