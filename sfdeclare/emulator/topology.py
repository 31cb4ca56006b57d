"""The emulated cluster's applications, services and partitions, loaded from a YAML or JSON file.

Loading keeps every value's line and column so mistakes are reported as ``file:line:col: message``. Only plain
YAML is read: no language-specific tags, no aliases (a JSON document is YAML too, so both go the same way).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sfdeclare.emulator.storage_topology import StorageSection, parse_storage
from sfdeclare.errors import ConfigError, Diagnostic, Location
from sfdeclare.safeyaml.reader import load_file

SERVICE_KINDS = ("Stateful", "Stateless")
PARTITION_KINDS = ("Singleton", "Int64Range", "Named")
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
MAX_PARTITIONS_PER_SERVICE = 10_000
_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://sfdeclare/emulator/partitions")
_BAD_NAME_CHARS = re.compile(r"[~$?#%\\\s\x00-\x1f]")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def is_guid(text: str) -> bool:
    return bool(_GUID.match(text))


@dataclass(frozen=True)
class Partition:
    id: str
    kind: str
    low_key: int | None = None
    high_key: int | None = None
    name: str | None = None


@dataclass(frozen=True)
class Service:
    name: str
    kind: str
    has_persisted_state: bool
    type_name: str
    partitions: tuple[Partition, ...]

    @property
    def backup_eligible(self) -> bool:
        return self.kind == "Stateful" and self.has_persisted_state


@dataclass(frozen=True)
class Application:
    name: str
    type_name: str
    type_version: str
    parameters: tuple[tuple[str, str], ...]
    services: tuple[Service, ...]


@dataclass(frozen=True)
class Topology:
    applications: tuple[Application, ...] = ()
    storage: StorageSection | None = None  # None: no storage section, every storage is reachable


def derived_partition_id(service_name: str, index: int) -> str:
    """The id of the ``index``-th partition of a count shorthand: stable across loads and machines."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{service_name}#{index}"))


def int64_ranges(count: int) -> list[tuple[int, int]]:
    """``count`` contiguous Int64Range keys covering the whole int64 range, as evenly as integers allow."""
    span = 2**64
    return [
        (INT64_MIN + (i * span) // count, INT64_MIN + ((i + 1) * span) // count - 1) for i in range(count)
    ]


def load_topology(path: str) -> Topology:
    """Read a topology file (YAML or JSON). Raises ConfigError carrying every problem found.

    The file goes through the same hardened reader as configuration files (size and alias bounds, no tags,
    no duplicate keys, line marks); a JSON file is first tried with the json module, which is many times
    faster on large generated topologies, and re-read for its line marks only when it has problems."""
    if path.lower().endswith(".json"):
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
            return _build(data, path, lambda p: None)
        except (OSError, ValueError, ConfigError):
            pass
    source, problems = load_file(path, top_level="applications:, storage:", empty_ok=True)
    if source is None or any(d.severity == "error" for d in problems):
        raise ConfigError(problems)
    marks = {source.path_text(where): mark for where, mark in source.value_marks.items()}
    return _build(source.data, path, marks.get)


def topology_from_dict(data: dict[str, Any], source: str) -> Topology:
    """Build a topology from plain data (tests, tools); errors point at ``source`` and the JSON path."""
    return _build(data, source, lambda p: None)


class _Checker:
    """Collects diagnostics while building the topology value."""

    def __init__(self, source: str, mark: Callable[[str], tuple[int, int] | None]) -> None:
        self.source = source
        self.mark = mark
        self.diagnostics: list[Diagnostic] = []

    def error(self, where: str, message: str) -> None:
        probe = where
        found = self.mark(probe)
        while found is None and probe not in ("$", ""):
            probe = _parent(probe)
            found = self.mark(probe)
        line, col = found if found is not None else (1, 1)
        self.diagnostics.append(Diagnostic("error", message, Location(self.source, line, col, where)))

    def keys(self, obj: dict[str, Any], where: str, allowed: tuple[str, ...]) -> None:
        for key in obj:
            if key not in allowed:
                self.error(f"{where}.{key}", f"unknown field '{key}' (expected one of: {', '.join(allowed)})")


def _parent(where: str) -> str:
    cut = max(where.rfind("."), where.rfind("["))
    return where[:cut] if cut > 0 else "$"


def _build(data: Any, source: str, mark: Callable[[str], tuple[int, int] | None]) -> Topology:
    check = _Checker(source, mark)
    apps: list[Application] = []
    storage: StorageSection | None = None
    if not isinstance(data, dict):
        check.error("$", "a topology must be a mapping with an 'applications' list")
    else:
        check.keys(data, "$", ("applications", "storage"))
        if "storage" in data:
            storage = parse_storage(data["storage"], "$.storage", check)
        raw_apps = data.get("applications", [])
        if not isinstance(raw_apps, list):
            check.error("$.applications", "'applications' must be a list")
        else:
            for i, raw in enumerate(raw_apps):
                app = _application(raw, f"$.applications[{i}]", check)
                if app is not None:
                    apps.append(app)
    _check_unique(apps, check)
    if check.diagnostics:
        raise ConfigError(check.diagnostics)
    return Topology(tuple(apps), storage)


def _name(value: Any, where: str, check: _Checker, what: str) -> str | None:
    if not isinstance(value, str) or not value:
        check.error(where, f"{what} name must be a non-empty string")
        return None
    if not value.startswith("fabric:/") or any(not s for s in value[len("fabric:/") :].split("/")):
        check.error(where, f"{what} name '{value}' must look like fabric:/Name (no empty segments)")
        return None
    if _BAD_NAME_CHARS.search(value[len("fabric:/") :]):
        check.error(where, f"{what} name '{value}' must not contain whitespace or any of ~ $ ? # % \\")
        return None
    return value


def _optional_str(obj: dict[str, Any], key: str, where: str, check: _Checker, default: str) -> str:
    value = obj.get(key, default)
    if not isinstance(value, str) or not value:
        check.error(f"{where}.{key}", f"'{key}' must be a non-empty string")
        return default
    return value


def _application(raw: Any, where: str, check: _Checker) -> Application | None:
    if not isinstance(raw, dict):
        check.error(where, "an application must be a mapping")
        return None
    check.keys(raw, where, ("name", "type_name", "type_version", "parameters", "services"))
    name = _name(raw.get("name"), f"{where}.name", check, "application")
    if name is None:
        return None
    default_type = name.rsplit("/", 1)[-1] + "Type"
    params_raw = raw.get("parameters", {})
    params: list[tuple[str, str]] = []
    if not isinstance(params_raw, dict):
        check.error(f"{where}.parameters", "'parameters' must be a mapping of names to values")
    else:
        for key, value in params_raw.items():
            if not isinstance(value, (str, int, float, bool)):
                check.error(f"{where}.parameters.{key}", "a parameter value must be a scalar")
            else:
                params.append((key, str(value).lower() if isinstance(value, bool) else str(value)))
    services: list[Service] = []
    raw_services = raw.get("services", [])
    if not isinstance(raw_services, list):
        check.error(f"{where}.services", "'services' must be a list")
    else:
        for i, item in enumerate(raw_services):
            service = _service(item, name, f"{where}.services[{i}]", check)
            if service is not None:
                services.append(service)
    return Application(
        name=name,
        type_name=_optional_str(raw, "type_name", where, check, default_type),
        type_version=_optional_str(raw, "type_version", where, check, "1.0.0"),
        parameters=tuple(params),
        services=tuple(services),
    )


def _service(raw: Any, app_name: str, where: str, check: _Checker) -> Service | None:
    if not isinstance(raw, dict):
        check.error(where, "a service must be a mapping")
        return None
    check.keys(raw, where, ("name", "kind", "has_persisted_state", "type_name", "partitions"))
    name = _name(raw.get("name"), f"{where}.name", check, "service")
    if name is None:
        return None
    if not name.startswith(app_name + "/"):
        check.error(
            f"{where}.name", f"service name '{name}' must start with its application's name '{app_name}/'"
        )
        return None
    kind = raw.get("kind", "Stateful")
    if kind not in SERVICE_KINDS:
        check.error(f"{where}.kind", f"service kind must be Stateful or Stateless, not {kind!r}")
        return None
    persisted = raw.get("has_persisted_state", kind == "Stateful")
    if not isinstance(persisted, bool):
        check.error(f"{where}.has_persisted_state", "'has_persisted_state' must be true or false")
        return None
    if kind == "Stateless" and persisted:
        check.error(f"{where}.has_persisted_state", "a Stateless service cannot have persisted state")
        return None
    partitions = _partitions(raw.get("partitions", 1), name, f"{where}.partitions", check)
    if partitions is None:
        return None
    return Service(
        name=name,
        kind=kind,
        has_persisted_state=persisted,
        type_name=_optional_str(raw, "type_name", where, check, name.rsplit("/", 1)[-1] + "Type"),
        partitions=partitions,
    )


def _partitions(raw: Any, service: str, where: str, check: _Checker) -> tuple[Partition, ...] | None:
    if isinstance(raw, int) and not isinstance(raw, bool):
        if not 1 <= raw <= MAX_PARTITIONS_PER_SERVICE:
            check.error(where, f"a partition count must be between 1 and {MAX_PARTITIONS_PER_SERVICE}")
            return None
        return tuple(
            Partition(derived_partition_id(service, i), "Int64Range", low, high)
            for i, (low, high) in enumerate(int64_ranges(raw))
        )
    if not isinstance(raw, list) or not raw:
        check.error(where, "'partitions' must be a count or a non-empty list of partitions")
        return None
    out: list[Partition] = []
    errors_before = len(check.diagnostics)
    for i, item in enumerate(raw):
        part = _partition(item, service, i, f"{where}[{i}]", check)
        if part is not None:
            out.append(part)
    if len(check.diagnostics) > errors_before:
        return None
    kinds = {p.kind for p in out}
    if len(kinds) > 1:
        check.error(where, "all partitions of a service must have the same kind")
    elif kinds == {"Singleton"} and len(out) > 1:
        check.error(where, "a service has at most one Singleton partition")
    elif kinds == {"Named"} and len({p.name for p in out}) != len(out):
        check.error(where, "Named partition names must be unique within a service")
    elif kinds == {"Int64Range"}:
        ranges = sorted((p.low_key or 0, p.high_key or 0) for p in out)
        if any(ranges[i][1] >= ranges[i + 1][0] for i in range(len(ranges) - 1)):
            check.error(where, "Int64Range partitions of a service must not overlap")
    return tuple(out)


def _partition(raw: Any, service: str, index: int, where: str, check: _Checker) -> Partition | None:
    if not isinstance(raw, dict):
        check.error(where, "a partition must be a mapping")
        return None
    check.keys(raw, where, ("id", "kind", "low_key", "high_key", "name"))
    pid = raw.get("id", derived_partition_id(service, index))
    if not isinstance(pid, str) or not is_guid(pid):
        check.error(f"{where}.id", f"partition id must be a GUID, not {pid!r}")
        return None
    default_kind = "Int64Range" if "low_key" in raw else "Named" if "name" in raw else "Singleton"
    kind = raw.get("kind", default_kind)
    if kind not in PARTITION_KINDS:
        check.error(
            f"{where}.kind", f"partition kind must be one of {', '.join(PARTITION_KINDS)}, not {kind!r}"
        )
        return None
    pid = pid.lower()
    if kind == "Singleton":
        for key in ("low_key", "high_key", "name"):
            if key in raw:
                check.error(f"{where}.{key}", f"a Singleton partition has no '{key}'")
        return Partition(pid, kind)
    if kind == "Named":
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            check.error(f"{where}.name", "a Named partition needs a non-empty 'name'")
            return None
        return Partition(pid, kind, name=name)
    low, high = raw.get("low_key"), raw.get("high_key")
    for key, value in (("low_key", low), ("high_key", high)):
        if not isinstance(value, int) or isinstance(value, bool) or not INT64_MIN <= value <= INT64_MAX:
            check.error(f"{where}.{key}", f"an Int64Range partition needs an int64 '{key}'")
            return None
    assert isinstance(low, int) and isinstance(high, int)
    if low > high:
        check.error(where, "low_key must not be greater than high_key")
        return None
    return Partition(pid, kind, low_key=low, high_key=high)


def _check_unique(apps: list[Application], check: _Checker) -> None:
    seen_apps: set[str] = set()
    seen_services: set[str] = set()
    seen_partitions: set[str] = set()
    for i, app in enumerate(apps):
        if app.name in seen_apps:
            check.error(f"$.applications[{i}].name", f"duplicate application {app.name}")
        seen_apps.add(app.name)
        for j, svc in enumerate(app.services):
            if svc.name in seen_services:
                check.error(f"$.applications[{i}].services[{j}].name", f"duplicate service {svc.name}")
            seen_services.add(svc.name)
            for k, part in enumerate(svc.partitions):
                if part.id in seen_partitions:
                    check.error(
                        f"$.applications[{i}].services[{j}].partitions[{k}]",
                        f"duplicate partition id {part.id}",
                    )
                seen_partitions.add(part.id)
    for i, app in enumerate(apps):
        segments = app.name[len("fabric:/") :].split("/")
        for cut in range(1, len(segments)):
            outer = "fabric:/" + "/".join(segments[:cut])
            if outer in seen_apps:
                check.error(f"$.applications[{i}].name", f"application {app.name} is nested inside {outer}")
                break
