"""The plan file: the published, versioned JSON form of a Plan (schemas/plan.schema.json), both ways.

This module is the plan file's trust boundary. ``apply --plan FILE`` executes requests read from a file
someone else may have written, so ``load`` (given the bytes ``commands.session.read_plan_file`` read) refuses,
before anything is sent, a file that is
- larger than any plan sfdeclare writes (``MAX_BYTES``; checked before reading it),
- not UTF-8 JSON, or nested deeper than the parser allows,
- of a format version it does not read (``READ_VERSIONS``; it writes ``FORMAT_VERSION``),
- altered after it was made (the checksum over every other field),
- not of the format (schema check, best match first),
- asking for any request other than the one its action sends to its target (every request is re-derived from
  the action, the address and the plan's API options and compared), or a destructive request not marked so.
Each refusal raises PlanFileError with one line that leads with the file. Whether the plan still fits the
cluster (endpoint, configuration and live digests) is for the caller, which reads the cluster.

The document carries the plan's summary sentence (``summary_line``); sentences are views, so ``dump`` takes it
from the caller (``render.summaries.plan_line``) instead of composing it here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import jsonschema

from sfdeclare import schemas
from sfdeclare.engine.impact_figures import impact_from_json, impact_json
from sfdeclare.engine.plan import Action, Change, EffectiveChange, Plan
from sfdeclare.errors import Diagnostic, Location, PlanFileError
from sfdeclare.model.addresses import AddressError, EntityRef, PolicyRef, parse_address
from sfdeclare.model.inheritance import Effective
from sfdeclare.model.scope import ReadScope
from sfdeclare.servicefabric import routes
from sfdeclare.servicefabric.policies import FieldChange
from sfdeclare.servicefabric.routes import WireRequest

FORMAT_VERSION = 2
# Version 2 added "impact" (issue #20); a version 1 file is the same document without it, and still reads.
READ_VERSIONS = (1, 2)
MAX_BYTES = 64 * 1024 * 1024


def versions_read() -> str:
    """The plan-file versions this sfdeclare reads, in words: ``format versions 1 and 2``."""
    *older, newest = READ_VERSIONS
    if not older:
        return f"format version {newest}"
    return f"format versions {', '.join(map(str, older))} and {newest}"


def canonical_json(data: Any) -> str:
    """The one serialisation digests and checksums are taken over: sorted keys, no spaces, UTF-8."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def checksum(document: Mapping[str, Any]) -> str:
    """The checksum of a plan document: sha256 over the canonical JSON of every field but ``checksum``."""
    rest = {k: v for k, v in document.items() if k != "checksum"}
    return "sha256:" + hashlib.sha256(canonical_json(rest).encode()).hexdigest()


# --- writing ---------------------------------------------------------------------------------------------------


def to_json(plan: Plan, summary_line: str) -> dict[str, Any]:
    """The plan as the published JSON document, with a checksum over everything else in it."""
    body: dict[str, Any] = {
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
            "policy_names": None
            if plan.read_scope.policy_names is None
            else list(plan.read_scope.policy_names),
            "prune_match": plan.read_scope.prune_match,
        },
        "refresh_secrets": plan.refresh_secrets,
        "summary": plan.summary(),
        "summary_line": summary_line,
        "actions": [change_json(c) for c in plan.changes],
        "effective_changes": [
            {
                "address": e.address,
                "before": _effective_json(e.before),
                "after": _effective_json(e.after),
                **({"backups_deleted": True} if e.backups_deleted else {}),
            }
            for e in plan.effective_changes
        ],
        "diagnostics": [d.to_json() for d in plan.diagnostics],
        "impact": impact_json(plan.impact) if plan.impact is not None else None,
    }
    body["checksum"] = checksum(body)
    return body


def dump(plan: Plan, summary_line: str) -> str:
    """The plan file's text: the document, indented, with a final newline."""
    return json.dumps(to_json(plan, summary_line), indent=2, ensure_ascii=False) + "\n"


def change_json(c: Change) -> dict[str, Any]:
    return {
        "id": c.id,
        "address": c.address,
        "action": c.action.value,
        "phase": c.phase,
        "application": c.application,
        "before": c.before,
        "after": c.after,
        "fields": [
            {"path": f.path, "before": f.before, "after": f.after, **({"kept": True} if f.kept else {})}
            for f in c.fields
        ],
        "reason": c.reason,
        "location": c.location.to_json() if c.location else None,
        "destructive": c.destructive,
        "depends_on": list(c.depends_on),
        "request": c.request.to_json(),
    }


def _effective_json(e: Effective) -> dict[str, Any]:
    return {
        "policy": e.policy,
        "policy_from": e.policy_from,
        "suspended": e.suspended,
        "suspended_from": e.suspended_from,
    }


# --- reading ---------------------------------------------------------------------------------------------------


def load(raw: bytes | str, *, source: str = "<plan>") -> Plan:
    """Parse and check a plan file's content (see the module's rules); ``source`` leads every message."""
    if len(raw) > MAX_BYTES:
        raise PlanFileError(
            f"{source}: the plan file is {len(raw)} bytes; that is not a plan sfdeclare wrote"
        )
    try:
        text = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        data = json.loads(text)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanFileError(f"{source}: not a plan file (invalid JSON: {exc})") from None
    except RecursionError:
        raise PlanFileError(f"{source}: not a plan file (nested too deeply)") from None
    return from_document(data, source=source)


def from_document(data: Any, *, source: str = "<plan>") -> Plan:
    """Check a parsed plan document and turn it into a Plan; raises PlanFileError."""
    version = data.get("format_version") if isinstance(data, dict) else None
    if not isinstance(data, dict) or type(version) is not int or version not in READ_VERSIONS:
        raise PlanFileError(
            f"{source}: not a plan file this sfdeclare reads (it reads {versions_read()}; found {version!r})"
        )
    if data.get("checksum") != checksum(data):
        raise PlanFileError(
            f"{source}: the plan file was altered after it was made (checksum mismatch): plan again"
        )
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schemas.load("plan")).iter_errors(data)
    )
    if error is not None:
        raise PlanFileError(
            f"{source}: the plan file does not match its format at {error.json_path}: {error.message}"
        )
    try:
        plan = plan_from_json(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise PlanFileError(f"{source}: not a valid plan file ({exc})") from None
    for change in plan.changes:
        problem = request_problem(change, plan)
        if problem:
            raise PlanFileError(
                f"{source}: {change.id}: {problem}; refusing the whole plan (nothing was changed)"
            )
    return plan


def plan_from_json(data: Mapping[str, Any]) -> Plan:
    """A Plan from its document, without any check (``from_document`` checks); raises KeyError, TypeError or
    ValueError on a malformed one."""
    scope = data["read_scope"]
    effective = tuple(
        EffectiveChange(
            str(e["address"]),
            Effective(**e["before"]),
            Effective(**e["after"]),
            bool(e.get("backups_deleted", False)),
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
            policy_names=None if scope.get("policy_names") is None else tuple(scope["policy_names"]),
            prune_match=scope.get("prune_match"),
        ),
        changes=tuple(_change_from(c) for c in data["actions"]),
        effective_changes=effective,
        diagnostics=tuple(_diagnostic_from(d) for d in data.get("diagnostics", [])),
        refresh_secrets=bool(data.get("refresh_secrets", False)),
        partitions_changed=int(summary.get("partitions_effective_changed", 0)),
        services_changed=int(summary.get("services_effective_changed", 0)),
        impact=impact_from_json(data["impact"]) if data.get("impact") is not None else None,
        partitions_unread=int(summary.get("services_partitions_not_read", 0)),
    )


def _change_from(data: Mapping[str, Any]) -> Change:
    address = str(data["address"])
    application = data.get("application")
    try:
        target = parse_address(address, (application,) if isinstance(application, str) else ())
    except AddressError as exc:
        raise ValueError(str(exc)) from None
    if isinstance(target, EntityRef) and application is not None and target.application != application:
        raise ValueError(f"{address} is not in application {application}")
    return Change(
        target=target,
        action=Action(data["action"]),
        before=data.get("before"),
        after=data.get("after"),
        reason=str(data["reason"]),
        request=WireRequest.from_json(data["request"]),
        location=_location_from(data.get("location")),
        destructive=bool(data["destructive"]),
        fields=tuple(
            FieldChange(str(f["path"]), f.get("before"), f.get("after"), kept=f.get("kept") is True)
            for f in data.get("fields", [])
        ),
        depends_on=tuple(str(x) for x in data.get("depends_on", [])),
    )


def _location_from(data: Any) -> Location | None:
    if data is None:
        return None
    return Location(str(data["file"]), int(data["line"]), int(data["column"]), str(data.get("path", "$")))


def _diagnostic_from(data: Mapping[str, Any]) -> Diagnostic:
    loc = None
    if data.get("file") is not None:
        loc = Location(
            str(data["file"]), int(data["line"]), int(data["column"]), str(data.get("path") or "$")
        )
    severity = data["severity"]
    return Diagnostic(severity if severity in ("error", "info") else "warning", str(data["message"]), loc)


def request_problem(change: Change, plan: Plan) -> str | None:
    """Why ``change``'s request is not the one its action sends to its target, or None when it is: a plan file
    only ever sends requests rebuilt from (action, target, the plan's API options) and compared field by field."""
    sent = change.request
    api = routes.ApiOptions(
        api_version=plan.api_version,
        entity_ids="tilde" if plan.entity_ids == "tilde" else "slash",
        # a policy write may ask the cluster to check its storage first: a check, never a change
        validate_connection=dict(sent.query).get("ValidateConnection") == "true",
    )
    target = change.target
    try:
        if isinstance(target, PolicyRef):
            body = sent.body or {}
            if change.action is Action.CREATE_POLICY:
                expected = routes.create_policy(target.name, body, api)
            elif change.action is Action.UPDATE_POLICY:
                expected = routes.update_policy(target.name, body, api)
            elif change.action is Action.DELETE_POLICY:
                expected = routes.delete_policy(target.name, api)
            else:
                return f"{change.action.value} does not apply to a policy"
        elif change.action is Action.ENABLE_BACKUP and isinstance(change.after, str):
            expected = routes.enable_backup(target, change.after, api)
        elif change.action is Action.DISABLE_BACKUP:
            clean = bool((sent.body or {}).get("CleanBackup", False))
            if clean and not change.destructive:
                return "a disable that deletes backups must be marked destructive"
            expected = routes.disable_backup(target, clean, api)
        elif change.action is Action.SUSPEND_BACKUP:
            expected = routes.suspend_backup(target, api)
        elif change.action is Action.RESUME_BACKUP:
            expected = routes.resume_backup(target, api)
        else:
            return f"{change.action.value} does not apply to {change.address}"
    except ValueError as exc:
        return str(exc)
    if (sent.method, sent.path, sent.query, sent.body) != (
        expected.method,
        expected.path,
        expected.query,
        expected.body,
    ):
        return f"its request ({sent.method} {sent.path}) is not the one {change.action.value} sends"
    if change.action is Action.DELETE_POLICY and not change.destructive:
        return "a policy delete must be marked destructive"
    return None
