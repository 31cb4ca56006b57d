"""Import: the live backup configuration as configuration YAML (PRODUCT.md §1). Pure: LiveState -> text.

What is written is exactly what the cluster holds explicitly, so that planning it against the same cluster shows
no change: the policies (bodies as read back, server defaults left out), every explicit mapping and every
suspension, applications by short name, services relative to their application, partitions by id, all in a
canonical order. Nothing that only inherits is written. Secrets, which the cluster reads back as ``****``,
become ``${env:...}`` references whose names are returned for the caller to list.

A policy is written in the configuration language's terms: modelled fields in the body (the 11.3 fields in
today's Explorer form, left out when they hold the server's default), every field sfdeclare does not model in the
policy's ``unmodelled_fields`` block, so that plan carries it as it is (a masked one becomes a reference).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import yaml

from sfdeclare import __version__
from sfdeclare.model.addresses import EntityRef
from sfdeclare.model.declaration import is_no_policy_keyword
from sfdeclare.model.live import LiveState
from sfdeclare.servicefabric import policy_fields
from sfdeclare.servicefabric.durations import parse_run_time
from sfdeclare.servicefabric.policies import unmodelled
from sfdeclare.servicefabric.policy_fields import MASKED, MODELLED, UNMODELLED_BLOCK

_POLICY_ORDER = (
    "AutoRestoreOnDataLoss",
    "MaxIncrementalBackups",
    "Schedule",
    "Storage",
    "RetentionPolicy",
    policy_fields.QUICK_RECOVERY,
    policy_fields.COMPRESSION,
    UNMODELLED_BLOCK,
)
_SCHEDULE_ORDER = ("ScheduleKind", "Interval", "ScheduleFrequencyType", "RunDays", "RunTimes")
_STORAGE_ORDER = (
    "StorageKind",
    "FriendlyName",
    "ConnectionString",
    "ContainerName",
    "Path",
    "PrimaryUserName",
    "PrimaryPassword",
    "SecondaryUserName",
    "SecondaryPassword",
    "StorageCredentialsSourceLocation",
    "ManagedIdentityType",
    "BlobServiceUri",
    "ManagedIdentityClientId",
)
_RETENTION_ORDER = ("RetentionPolicyType", "RetentionDuration", "MinimumNumberOfBackups")
# a password is read back as "****" even when it was never set: only one with a user name is a real secret
_PASSWORD_USERS = {"PrimaryPassword": "PrimaryUserName", "SecondaryPassword": "SecondaryUserName"}
_SECRET_SUFFIX = {
    "ConnectionString": "CONNECTION_STRING",
    "PrimaryPassword": "PRIMARY_PASSWORD",
    "SecondaryPassword": "SECONDARY_PASSWORD",
}


class _Dumper(yaml.SafeDumper):
    """Block style with list items indented under their key, as people write YAML."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


@dataclass(frozen=True)
class SecretReference:
    """A secret the import replaced by ``${env:NAME}``: which policy and field, and the variable's name."""

    policy: str
    field: str
    env_name: str

    @property
    def path(self) -> str:
        """The field's dotted path in the policy body (``Storage.ConnectionString``)."""
        return f"Storage.{self.field}" if self.field in _SECRET_SUFFIX else self.field


@dataclass(frozen=True)
class ImportResult:
    text: str
    secrets: tuple[SecretReference, ...]
    notes: tuple[str, ...]
    applications: int
    policies: int


def _upper_snake(text: str) -> str:
    return re.sub(r"[^A-Z0-9]+", "_", re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", text).upper()).strip("_")


def env_name(policy: str, field: str) -> str:
    """``SFDECLARE_<POLICY>_<FIELD>``: upper-cased, every run of other characters an underscore (an unmodelled
    field ``Storage.SasToken`` gives ``..._STORAGE_SAS_TOKEN``)."""
    stem = re.sub(r"[^A-Z0-9]+", "_", policy.upper()).strip("_") or "POLICY"
    return f"SFDECLARE_{stem}_{_SECRET_SUFFIX.get(field) or _upper_snake(field)}"


def short_application(name: str) -> str:
    return name.removeprefix("fabric:/")


def relative_service(application: str, service: str) -> str:
    prefix = application + "/"
    return service[len(prefix) :] if service.startswith(prefix) and len(service) > len(prefix) else service


def _ordered(mapping: Mapping[str, Any], order: Sequence[str]) -> dict[str, Any]:
    keys = [k for k in order if k in mapping] + sorted(k for k in mapping if k not in order)
    return {k: mapping[k] for k in keys}


def _run_time_key(value: Any) -> str:
    try:
        return parse_run_time(str(value)).isoformat()
    except ValueError:
        return str(value)


def _schedule(schedule: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in schedule.items() if v is not None}
    if isinstance(out.get("RunTimes"), list):
        # kept as the server echoes them ("0001-01-01T02:00:00Z"): apply sends RunTimes as written
        out["RunTimes"] = sorted(dict.fromkeys(out["RunTimes"]), key=_run_time_key)
    if out.get("RunDays") == [] and out.get("ScheduleFrequencyType") == "Daily":
        del out["RunDays"]
    return _ordered(out, _SCHEDULE_ORDER)


class SecretNames:
    def __init__(self) -> None:
        self.refs: list[SecretReference] = []
        self.used: set[str] = set()

    def reference(self, policy: str, field: str) -> str:
        base = env_name(policy, field)
        name, n = base, 1
        while name in self.used:  # two policy names that differ only in punctuation or case
            n += 1
            name = f"{base}_{n}"
        self.used.add(name)
        self.refs.append(SecretReference(policy, field, name))
        return "${env:" + name + "}"


def _storage(policy: str, storage: Mapping[str, Any], secrets: SecretNames) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in storage.items():
        if value is None or (key == "FriendlyName" and value == "") or key not in MODELLED["Storage"]:
            continue
        if key in _SECRET_SUFFIX:
            user = _PASSWORD_USERS.get(key)
            if user is not None and not storage.get(user):
                continue
            out[key] = secrets.reference(policy, key)
            continue
        out[key] = value
    return _ordered(out, _STORAGE_ORDER)


def _unmodelled_block(name: str, body: Mapping[str, Any], secrets: SecretNames) -> dict[str, Any]:
    block: dict[str, Any] = {}
    for path, value in sorted(unmodelled(body).items()):
        if value == MASKED:
            value = secrets.reference(name, path)
        head, _, inner = path.partition(".")
        if inner:
            block.setdefault(head, {})[inner] = value
        else:
            block[path] = value
    return block


def policy_body(name: str, body: Mapping[str, Any], secrets: SecretNames) -> dict[str, Any]:
    """A live policy body as the configuration writes it: defaults the server fills in left out, the 11.3
    fields in today's Explorer form, unmodelled fields in the ``unmodelled_fields`` block."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        if value is None or key not in MODELLED[""] or key == "Name":
            continue
        if key == "Schedule" and isinstance(value, Mapping):
            out[key] = _schedule({k: v for k, v in value.items() if k in MODELLED["Schedule"]})
        elif key == "Storage" and isinstance(value, Mapping):
            out[key] = _storage(name, value, secrets)
        elif key == "RetentionPolicy" and isinstance(value, Mapping):
            kept = {k: v for k, v in value.items() if v is not None and k in MODELLED["RetentionPolicy"]}
            out[key] = _ordered(kept, _RETENTION_ORDER)
        elif key in (policy_fields.QUICK_RECOVERY, *policy_fields.COMPRESSION_ALIASES):
            continue
        else:
            out[key] = value
    quick = policy_fields.quick_recovery(body)
    if quick is not None:
        out[policy_fields.QUICK_RECOVERY] = quick
    compression = policy_fields.compression(body)
    if compression is not None:
        out[policy_fields.COMPRESSION] = compression
    block = _unmodelled_block(name, body, secrets)
    if block:
        out[UNMODELLED_BLOCK] = block
    return _ordered(out, _POLICY_ORDER)


def _level(policy: str | None, suspended: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if policy is not None:
        # a policy named None / null / false: the bare name would read as "no mapping"
        out["policy"] = {"name": policy} if is_no_policy_keyword(policy) else policy
    if suspended:
        out["suspended"] = True
    return out


def application_config(
    app: str, mappings: Mapping[EntityRef, str], suspensions: frozenset[EntityRef]
) -> dict[str, Any]:
    """One application's explicit mappings and suspensions, nested by level, in canonical order."""
    refs = sorted({r for r in (*mappings, *suspensions) if r.application == app}, key=EntityRef.sort_key)
    node = _level(mappings.get(EntityRef(app)), EntityRef(app) in suspensions)
    services: dict[str, dict[str, Any]] = {}
    for ref in refs:
        if ref.service is None:
            continue
        key = relative_service(app, ref.service)
        svc = services.setdefault(key, {})
        if ref.partition is None:
            svc.update(_level(mappings.get(ref), ref in suspensions))
            continue
        entry = {"id": ref.partition, **_level(mappings.get(ref), ref in suspensions)}
        svc.setdefault("partitions", []).append(entry)
    if services:
        ordered: dict[str, dict[str, Any]] = {}
        for key in sorted(services):
            svc = services[key]
            ordered[key] = _ordered(svc, ("policy", "suspended", "partitions"))
        node["services"] = ordered
    return node


def import_configuration(
    live: LiveState,
    applications: Sequence[str],
    *,
    every_policy: bool,
    api_version: str | None = None,
    source: str = "",
    named: bool = False,
) -> ImportResult:
    """YAML for ``applications`` (full names, all present in ``live``) and the policies they use (every live
    policy with ``every_policy``). ``named``: the applications were asked for by name, so one without any
    configuration is still written (as an empty entry, which keeps it managed)."""
    notes: list[str] = []
    apps: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    for app in sorted(set(applications)):
        has_mapping = any(r.application == app for r in live.mappings)
        suspensions = frozenset(r for r in live.suspensions if r.application == app)
        if not has_mapping:
            if suspensions:
                notes.append(
                    f"{app}: {len(suspensions)} suspension(s) without any backup mapping in the application "
                    "have no effect and are not imported"
                )
            if named:
                apps[short_application(app)] = {}
            continue
        config = application_config(app, live.mappings, suspensions)
        used.update(p for r, p in live.mappings.items() if r.application == app)
        apps[short_application(app)] = config
    names = sorted(live.policies) if every_policy else sorted(used)
    secrets = SecretNames()
    policies: dict[str, Any] = {}
    for name in names:
        body = live.policies.get(name)
        if body is None:
            notes.append(f"policy {name} is mapped but does not exist on the cluster: not imported")
            continue
        policies[name] = policy_body(name, body, secrets)
    document: dict[str, Any] = {"version": 1}
    if api_version is not None:  # written only when asked for: otherwise plan derives it from the runtime
        document["cluster"] = {"api_version": api_version}
    if policies:
        document["policies"] = policies
    if apps:
        document["applications"] = apps
    text = _header(source, secrets.refs) + yaml.dump(
        document, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=110
    )
    return ImportResult(text, tuple(secrets.refs), tuple(notes), len(apps), len(policies))


def _header(source: str, refs: Sequence[SecretReference]) -> str:
    lines = [f"# Backup configuration imported by `sfdeclare import` (sfdeclare {__version__})."]
    if source:
        lines.append(f"# From: {source}")
    lines.append("# Planning this file against the same cluster shows no changes.")
    if refs:
        lines.append(
            "# Secrets are read back masked; set these environment variables before `sfdeclare apply`:"
        )
        lines.extend(f"#   {r.env_name}  (policy {r.policy}, {r.path})" for r in refs)
    return "\n".join(lines) + "\n"
