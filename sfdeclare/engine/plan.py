"""The plan: a closed set of actions, ordered in phases, each with before, after, a reason and its request.

A Plan is a value. ``plan_to_json`` / ``plan_from_json`` are the published, versioned format
(schemas/plan.schema.json); every renderer draws from the same data.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from sfdeclare.errors import Diagnostic, Location
from sfdeclare.model.addresses import EntityRef, parse_entity_address
from sfdeclare.model.inheritance import Effective
from sfdeclare.model.live import LiveState
from sfdeclare.model.scope import ReadScope
from sfdeclare.servicefabric.policies import FieldChange
from sfdeclare.servicefabric.routes import WireRequest

FORMAT_VERSION = 1


class Action(str, Enum):
    CREATE_POLICY = "create_policy"
    UPDATE_POLICY = "update_policy"
    ENABLE_BACKUP = "enable_backup"
    SUSPEND_BACKUP = "suspend_backup"
    RESUME_BACKUP = "resume_backup"
    DISABLE_BACKUP = "disable_backup"
    DELETE_POLICY = "delete_policy"

    @property
    def phase(self) -> int:
        return _PHASES[self]


_PHASES: dict[Action, int] = {
    Action.CREATE_POLICY: 1,
    Action.UPDATE_POLICY: 1,
    Action.ENABLE_BACKUP: 2,
    Action.SUSPEND_BACKUP: 3,
    Action.RESUME_BACKUP: 3,
    Action.DISABLE_BACKUP: 4,
    Action.DELETE_POLICY: 5,
}

PHASE_NAMES: dict[int, str] = {
    1: "policies",
    2: "enable",
    3: "suspend/resume",
    4: "disable",
    5: "delete policies",
}


@dataclass(frozen=True)
class Change:
    address: str
    action: Action
    before: Any
    after: Any
    reason: str
    request: WireRequest
    location: Location | None = None
    destructive: bool = False
    application: str | None = None
    fields: tuple[FieldChange, ...] = ()
    depends_on: tuple[str, ...] = ()

    @property
    def id(self) -> str:
        """Unique inside a plan: an address has at most one action of each kind."""
        return f"{self.action.value}:{self.address}"

    @property
    def phase(self) -> int:
        return self.action.phase


@dataclass(frozen=True)
class EffectiveChange:
    address: str
    before: Effective
    after: Effective


@dataclass(frozen=True)
class Plan:
    tool_version: str
    endpoint: str
    api_version: str
    entity_ids: str
    config_digest: str
    live_digest: str
    read_scope: ReadScope
    changes: tuple[Change, ...] = ()
    effective_changes: tuple[EffectiveChange, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    refresh_secrets: bool = False
    partitions_changed: int = 0
    services_changed: int = 0
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.changes

    def summary(self) -> dict[str, int]:
        counts = {a.value: 0 for a in Action}
        for change in self.changes:
            counts[change.action.value] += 1
        counts["destructive"] = sum(1 for c in self.changes if c.destructive)
        counts["services_effective_changed"] = self.services_changed
        counts["partitions_effective_changed"] = self.partitions_changed
        return counts

    def phases(self) -> list[tuple[int, list[Change]]]:
        grouped: dict[int, list[Change]] = {}
        for change in self.changes:
            grouped.setdefault(change.phase, []).append(change)
        return sorted(grouped.items())


def summary_line(plan: Plan) -> str:
    """Terraform-style one-line summary: ``Plan: 2 policies to create, 1 to update, ...``."""
    if plan.empty:
        return "No changes. The cluster matches the configuration."
    s = plan.summary()
    parts = [
        f"{s['create_policy']} {_plural(s['create_policy'], 'policy', 'policies')} to create",
        f"{s['update_policy']} to update",
        f"{s['delete_policy']} to delete",
        f"{s['enable_backup']} {_plural(s['enable_backup'], 'backup', 'backups')} to enable",
        f"{s['disable_backup']} to disable",
        f"{s['suspend_backup']} to suspend",
        f"{s['resume_backup']} to resume",
    ]
    line = "Plan: " + ", ".join(parts) + "."
    line += (
        f" Effective policy changes for {plan.services_changed} "
        f"{_plural(plan.services_changed, 'service', 'services')} and {plan.partitions_changed} known "
        f"{_plural(plan.partitions_changed, 'partition', 'partitions')}."
    )
    if s["destructive"]:
        line += f" {s['destructive']} destructive."
    return line


def _plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


# --- the published JSON format -------------------------------------------------------------------------------


def _location_from(data: Any) -> Location | None:
    if data is None:
        return None
    return Location(str(data["file"]), int(data["line"]), int(data["column"]), str(data.get("path", "$")))


def _effective_json(e: Effective) -> dict[str, Any]:
    return {
        "policy": e.policy,
        "policy_from": e.policy_from,
        "suspended": e.suspended,
        "suspended_from": e.suspended_from,
    }


def _diagnostic_from(data: Mapping[str, Any]) -> Diagnostic:
    loc = None
    if data.get("file") is not None:
        loc = Location(
            str(data["file"]), int(data["line"]), int(data["column"]), str(data.get("path") or "$")
        )
    if data["severity"] == "error":
        return Diagnostic("error", str(data["message"]), loc)
    return Diagnostic("warning", str(data["message"]), loc)


def change_json(c: Change) -> dict[str, Any]:
    return {
        "id": c.id,
        "address": c.address,
        "action": c.action.value,
        "phase": c.phase,
        "application": c.application,
        "before": c.before,
        "after": c.after,
        "fields": [{"path": f.path, "before": f.before, "after": f.after} for f in c.fields],
        "reason": c.reason,
        "location": c.location.to_json() if c.location else None,
        "destructive": c.destructive,
        "depends_on": list(c.depends_on),
        "request": c.request.to_json(),
    }


def _change_from(data: Mapping[str, Any]) -> Change:
    return Change(
        address=str(data["address"]),
        action=Action(data["action"]),
        before=data.get("before"),
        after=data.get("after"),
        reason=str(data["reason"]),
        request=WireRequest.from_json(data["request"]),
        location=_location_from(data.get("location")),
        destructive=bool(data["destructive"]),
        application=data.get("application"),
        fields=tuple(
            FieldChange(str(f["path"]), f.get("before"), f.get("after")) for f in data.get("fields", [])
        ),
        depends_on=tuple(str(x) for x in data.get("depends_on", [])),
    )


def _plan_body(plan: Plan) -> dict[str, Any]:
    return {
        "format_version": FORMAT_VERSION,
        "tool_version": plan.tool_version,
        "endpoint": plan.endpoint,
        "api_version": plan.api_version,
        "entity_ids": plan.entity_ids,
        "config_digest": plan.config_digest,
        "live_digest": plan.live_digest,
        "read_scope": {
            "applications": list(plan.read_scope.applications),
            "partition_services": list(plan.read_scope.partition_services),
            "all_applications": plan.read_scope.all_applications,
            "prune_candidates": list(plan.read_scope.prune_candidates),
            "declared_policies": list(plan.read_scope.declared_policies),
            "suspension_probes": list(plan.read_scope.suspension_probes),
        },
        "refresh_secrets": plan.refresh_secrets,
        "summary": plan.summary(),
        "summary_line": summary_line(plan),
        "actions": [change_json(c) for c in plan.changes],
        "effective_changes": [
            {"address": e.address, "before": _effective_json(e.before), "after": _effective_json(e.after)}
            for e in plan.effective_changes
        ],
        "diagnostics": [d.to_json() for d in plan.diagnostics],
    }


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def plan_to_json(plan: Plan) -> dict[str, Any]:
    """The plan as the published JSON document, with a checksum over everything else in it."""
    body = _plan_body(plan)
    body["checksum"] = "sha256:" + hashlib.sha256(canonical_json(body).encode()).hexdigest()
    return body


def plan_checksum_ok(data: Mapping[str, Any]) -> bool:
    rest = {k: v for k, v in data.items() if k != "checksum"}
    expected = "sha256:" + hashlib.sha256(canonical_json(rest).encode()).hexdigest()
    return data.get("checksum") == expected


def plan_from_json(data: Mapping[str, Any]) -> Plan:
    scope = data["read_scope"]
    effective = tuple(
        EffectiveChange(
            str(e["address"]),
            Effective(**e["before"]),
            Effective(**e["after"]),
        )
        for e in data.get("effective_changes", [])
    )
    summary = data.get("summary", {})
    return Plan(
        tool_version=str(data["tool_version"]),
        endpoint=str(data["endpoint"]),
        api_version=str(data["api_version"]),
        entity_ids=str(data["entity_ids"]),
        config_digest=str(data["config_digest"]),
        live_digest=str(data["live_digest"]),
        read_scope=ReadScope(
            applications=tuple(scope["applications"]),
            partition_services=tuple(scope["partition_services"]),
            all_applications=bool(scope["all_applications"]),
            prune_candidates=tuple(scope.get("prune_candidates", [])),
            declared_policies=tuple(scope.get("declared_policies", [])),
            suspension_probes=tuple(scope.get("suspension_probes", [])),
        ),
        changes=tuple(_change_from(c) for c in data["actions"]),
        effective_changes=effective,
        diagnostics=tuple(_diagnostic_from(d) for d in data.get("diagnostics", [])),
        refresh_secrets=bool(data.get("refresh_secrets", False)),
        partitions_changed=int(summary.get("partitions_effective_changed", 0)),
        services_changed=int(summary.get("services_effective_changed", 0)),
    )


def ordered(changes: Sequence[Change]) -> tuple[Change, ...]:
    """Apply order: by phase, then application, level (application, service, partition) and address."""
    return tuple(sorted(changes, key=_order_key))


_LEVEL_RANK = {"policy": 0, "application": 1, "service": 2, "partition": 3}


def _order_key(c: Change) -> tuple[int, str, int, str, str]:
    rank = _LEVEL_RANK.get(c.address.split("[", 1)[0], 9)
    return (c.phase, c.application or "", rank, c.address, c.action.value)


def state_after(
    live: LiveState, changes: Iterable[Change]
) -> tuple[dict[EntityRef, str], frozenset[EntityRef]]:
    """The explicit mappings and suspensions the cluster holds once ``changes`` are applied."""
    mappings = dict(live.mappings)
    suspensions = set(live.suspensions)
    for change in changes:
        if change.action in _MAPPING_ACTIONS:
            ref = parse_entity_address(change.address, change.application or "")
            if change.action is Action.ENABLE_BACKUP and isinstance(change.after, str):
                mappings[ref] = change.after
            elif change.action is Action.DISABLE_BACKUP:
                mappings.pop(ref, None)
            elif change.action is Action.SUSPEND_BACKUP:
                suspensions.add(ref)
            else:
                suspensions.discard(ref)
    return mappings, frozenset(suspensions)


_MAPPING_ACTIONS = frozenset(
    {Action.ENABLE_BACKUP, Action.DISABLE_BACKUP, Action.SUSPEND_BACKUP, Action.RESUME_BACKUP}
)
