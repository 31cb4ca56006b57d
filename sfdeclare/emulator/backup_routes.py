"""The routes of backups, restores, health and the emulator's own controls: matching, body binding, answers.

Service Fabric routes (SF-BACKUP-API.md, REST spec 6.4): ``GET /{Applications|Services|Partitions}/{id}/$/GetBackups``,
``POST /Partitions/{id}/$/Backup``, ``GET .../$/GetBackupProgress``, ``POST .../$/Restore``,
``GET .../$/GetRestoreProgress``, ``POST /BackupRestore/$/GetBackups``, ``POST /Partitions/{id}/$/SkipAutoRestore``
(REST spec 9.1 SkipRestorePartition; runtimes 9.1+, see skip_auto_restore) and the gateway's
``GET /Partitions/{id}/$/GetHealth``. The emulator's own (not Service Fabric's, never faulted or counted):
``GET /$/Emulator/Clock``, ``POST /$/Emulator/Clock/$/Advance?Duration=``,
``POST /$/Emulator/BackupPolicies/{name}/$/BreakStorage|RepairStorage`` and
``POST /$/Emulator/Partitions/{id}/$/StopBackups|StartBackups``.

Handlers return ``(status, payload)``; ``EMPTY`` as the payload means an empty body.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from sfdeclare.emulator import backups, clock, entities, health, listing, operations, timeline
from sfdeclare.emulator import fabric_errors as fe
from sfdeclare.emulator import storage as storages
from sfdeclare.emulator.fabric_errors import FabricFault
from sfdeclare.emulator.policies import _bind_storage, json_boolean, model_state_error
from sfdeclare.emulator.state import Store, Tx

EMPTY: Any = object()
ENTITY_OPS = {
    "getbackups": ("GET", "GetBackups", ("Applications", "Services", "Partitions")),
    "backup": ("POST", "Backup", ("Partitions",)),
    "getbackupprogress": ("GET", "GetBackupProgress", ("Partitions",)),
    "restore": ("POST", "Restore", ("Partitions",)),
    "getrestoreprogress": ("GET", "GetRestoreProgress", ("Partitions",)),
    "skipautorestore": ("POST", "SkipAutoRestore", ("Partitions",)),
}
OPERATIONS = frozenset(op for _, op, _ in ENTITY_OPS.values()) | {"location_backups"}
_ENTITY_KINDS = ("Application", "Service", "Partition")


def entity_route(collection: str, tail: str) -> tuple[str, str] | None:
    """(method, operation) of a backup-data route under ``/{collection}/{id}/$/``, or None."""
    found = ENTITY_OPS.get(tail.lower())
    if found is None or collection not in found[2]:
        return None
    return found[0], found[1]


def control_route(method: str, tail: str) -> tuple[str, str, str, tuple[str, ...]] | None:
    """(template, method, operation, params) of an emulator control route (``tail`` is after ``/$/``)."""
    lowered = tail.lower()
    if lowered == "emulator/clock":
        return "GET /$/Emulator/Clock", "GET", "clock_get", ()
    if lowered == "emulator/clock/$/advance":
        return "POST /$/Emulator/Clock/$/Advance", "POST", "clock_advance", ()
    head, sep, action = tail.partition("/$/")
    parts = head.split("/", 2)
    if not sep or len(parts) != 3 or parts[0].lower() != "emulator" or not parts[2]:
        return None
    collection, name, action = parts[1].lower(), unquote(parts[2]), action.lower()
    if collection == "backuppolicies" and action in ("breakstorage", "repairstorage"):
        return f"POST /$/Emulator/BackupPolicies/{{name}}/$/{action}", "POST", action, (name,)
    if collection == "partitions" and action in ("stopbackups", "startbackups"):
        return f"POST /$/Emulator/Partitions/{{id}}/$/{action}", "POST", action, (name,)
    return None


# body binding (before the api-version check, as model binding is)


def bind_backup(body: Any, runtime: str) -> dict[str, Any] | None:
    if body is None:
        return None
    if not isinstance(body, dict):
        raise model_state_error("backupPartitionDescription", "Expected a JSON object.")
    return _storage_field(body, "BackupStorage", "backupPartitionDescription", runtime)


def bind_restore(body: Any, runtime: str) -> dict[str, Any] | None:
    if body is None:
        return None
    where = "restorePartitionDescription"
    if not isinstance(body, dict):
        raise model_state_error(where, "Expected a JSON object.")
    out: dict[str, Any] = {}
    for field in ("BackupId", "BackupLocation"):
        value = body.get(field)
        if not isinstance(value, str) or not value.strip():
            raise model_state_error(f"{where}.{field}", f"The {field} field is required.")
        out[field] = value
    storage = _storage_field(body, "BackupStorage", where, runtime)
    if storage is not None:
        out["BackupStorage"] = storage
    return out


def bind_location_query(body: Any, runtime: str) -> dict[str, Any] | None:
    if body is None:
        return None
    where = "getBackupByStorageQueryDescription"
    if not isinstance(body, dict):
        raise model_state_error(where, "Expected a JSON object.")
    storage = _storage_field(body, "Storage", where, runtime)
    if storage is None:
        raise model_state_error(f"{where}.Storage", "The Storage field is required.")
    entity = body.get("BackupEntity")
    if not isinstance(entity, dict):
        raise model_state_error(f"{where}.BackupEntity", "The BackupEntity field is required.")
    kind = entity.get("EntityKind")
    if kind not in _ENTITY_KINDS:
        raise fe.invalid(f"Invalid EntityKind {kind}")
    out: dict[str, Any] = {
        "Storage": storage,
        "EntityKind": kind,
        "Latest": json_boolean(body, "Latest", where),
    }
    for field in ("ApplicationName", "ServiceName", "PartitionId"):
        value = entity.get(field)
        if value is not None and not isinstance(value, str):
            raise model_state_error(
                f"{where}.BackupEntity.{field}", "Error converting value to type 'String'."
            )
        out[field] = value
    for field in ("StartDateTimeFilter", "EndDateTimeFilter"):
        value = body.get(field)
        if value is not None and not isinstance(value, str):
            raise model_state_error(f"{where}.{field}", "Expected a date-time string.")
        out[field] = value
    return out


def _storage_field(body: dict[str, Any], field: str, where: str, runtime: str) -> dict[str, Any] | None:
    value = body.get(field)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise model_state_error(f"{where}.{field}", f"Expected a JSON object for {field}.")
    return _bind_storage(value, runtime)


BINDERS = {"Backup": bind_backup, "Restore": bind_restore, "location_backups": bind_location_query}


# Service Fabric operations


def handle(
    store: Store,
    op: str,
    params: tuple[str, ...],
    query: dict[str, str],
    bound: Any,
    paging: tuple[str | None, int],
) -> tuple[int, Any]:
    timeline.catch_up(store)
    token, max_results = paging
    if op == "location_backups":
        if bound is None:
            raise fe.invalid("Invalid Arguments.")
        with store.read() as tx:
            return 200, _location_backups(tx, bound, token, max_results)
    collection, raw_id = params
    if op == "GetBackups":
        start = _time_filter(query.get("startdatetimefilter"), "StartDateTimeFilter")
        end = _time_filter(query.get("enddatetimefilter"), "EndDateTimeFilter")
        latest = _query_bool(query.get("latest"), "Latest")
        with store.read() as tx:
            scope, storage_ids = _listing_scope(tx, collection, raw_id)
            return 200, listing.list_backups(
                tx,
                storage_ids,
                scope,
                start=start,
                end=end,
                latest=latest,
                token=token,
                max_results=max_results,
            )
    if op in ("GetBackupProgress", "GetRestoreProgress"):
        with store.read() as tx:
            entity, part = entities.partition(tx, raw_id)
            kind = "backup" if op == "GetBackupProgress" else "restore"
            return 200, operations.progress(tx, part.id, kind)
    if op == "SkipAutoRestore":
        return skip_auto_restore(store, raw_id, query.get("restoretimeout"))
    if op == "Restore" and bound is None:
        raise fe.invalid("Invalid Arguments.")
    with store.write() as tx:
        entity, part = entities.partition(tx, raw_id)
        assert entity.service is not None and entity.service_row is not None
        if not entity.service_row.backup_eligible:
            raise FabricFault(
                fe.INVALID_FOR_STATELESS, "Not applicable for stateless or non persisted stateful services."
            )
        if op == "Backup":
            operations.request_backup(tx, entity.app, entity.service, part, bound, query.get("backuptimeout"))
        else:
            operations.request_restore(
                tx, entity.app, entity.service, part, bound, query.get("restoretimeout")
            )
    return 202, EMPTY


def skip_auto_restore(store: Store, raw_id: str, timeout: str | None) -> tuple[int, Any]:
    """SkipRestorePartition (REST spec 9.1 ``POST /Partitions/{id}/$/SkipAutoRestore``, example
    SkipRestorePartition.json: 202, no body; ``RestoreTimeout`` in minutes, default 10, per the .NET client 10.1).

    The server skips an ongoing automatic restore (AutoRestoreOnDataLoss after a data loss) so that the partition
    keeps its replica's data. The emulator never loses data, so no automatic restore is ever ongoing and the
    request changes nothing. Assumptions (no public source after the 6.4 server code): the partition is resolved
    and checked as for Backup and Restore (404 FABRIC_E_PARTITION_NOT_FOUND, 400
    FABRIC_E_INVALID_FOR_STATELESS_SERVICES), a malformed RestoreTimeout is 400 E_INVALIDARG, and with nothing to
    skip the server still answers 202 -- the spec declares no other success. A user-requested restore
    (``$/Restore``) is not an automatic one and is left to run.
    """
    operations.timeout_minutes(timeout, "RestoreTimeout")
    with store.read() as tx:
        entity, _ = entities.partition(tx, raw_id)
        assert entity.service_row is not None
        if not entity.service_row.backup_eligible:
            raise FabricFault(
                fe.INVALID_FOR_STATELESS, "Not applicable for stateless or non persisted stateful services."
            )
    return 202, EMPTY


def _listing_scope(tx: Tx, collection: str, raw_id: str) -> tuple[listing.Scope, list[str]]:
    names: list[str | None]
    """The folder and the storages GetBackups looks in (GetRestorePointsOperation / RestorePointOperation)."""
    if collection == "Partitions":
        entity, part = entities.partition(tx, raw_id)
        assert entity.service is not None
        name = backups.effective_policy(tx, entity.app, entity.service, part.id)
        names = [name] if name is not None else []
        scope = listing.Scope(entity.app, entity.service, part.id)
    else:
        if collection == "Applications":
            entity = entities.application(raw_id)
            if tx.application(entity.app) is None:
                raise fe.invalid("Invalid Arguments for Application / Service / Partitions Details.")
            prefix = entity.key + "/"
            names = [
                m.policy
                for m in tx.mappings_in_app(entity.app)
                if m.key == entity.key or m.key.startswith(prefix)
            ]
            scope = listing.Scope(entity.app)
        else:
            entity = entities.service(tx, raw_id)
            if entity.service_row is None or not entity.service_row.backup_eligible:
                raise fe.invalid("Invalid Arguments for Application / Service / Partitions Details.")
            prefix = entity.key + "/"
            names = [
                m.policy
                for m in tx.mappings_in_app(entity.app)
                if m.key in (entity.key, entity.app_key) or m.key.startswith(prefix)
            ]
            scope = listing.Scope(entity.app, entity.service)
    if not names:
        raise FabricFault(fe.BACKUP_NOT_ENABLED, "Backup has not been configured/ enabled for this entity.")
    storage_ids: list[str] = []
    for name in dict.fromkeys(n for n in names if n is not None):
        policy = tx.policy(name)
        if policy is not None:
            storage_ids.append(storages.identity(policy["Storage"]))
    return scope, sorted(set(storage_ids))


def _location_backups(tx: Tx, bound: dict[str, Any], token: str | None, max_results: int) -> dict[str, Any]:
    kind = bound["EntityKind"]
    app_name, service_name, partition = bound["ApplicationName"], bound["ServiceName"], bound["PartitionId"]
    if kind == "Application":
        if not app_name:
            raise model_state_error("BackupEntity.ApplicationName", "The ApplicationName field is required.")
        scope = listing.Scope(entities.name_from_id(app_name, "application"))
    else:
        if not service_name:
            raise model_state_error("BackupEntity.ServiceName", "The ServiceName field is required.")
        name = entities.name_from_id(service_name, "service")
        row = tx.service(name)
        app = row.app if row is not None else "fabric:/" + name[len("fabric:/") :].split("/")[0]
        if kind == "Service":
            scope = listing.Scope(app, name)
        else:
            if not partition:
                raise model_state_error("BackupEntity.PartitionId", "The PartitionId field is required.")
            scope = listing.Scope(app, name, partition.lower())
    start = _time_filter(bound["StartDateTimeFilter"], "StartDateTimeFilter")
    end = _time_filter(bound["EndDateTimeFilter"], "EndDateTimeFilter")
    storage_id = storages.identity(bound["Storage"])
    return listing.list_backups(
        tx,
        [storage_id],
        scope,
        start=start,
        end=end,
        latest=bound["Latest"],
        token=token,
        max_results=max_results,
    )


def _time_filter(raw: str | None, name: str) -> int | None:
    return None if raw is None or raw == "" else clock.parse_utc(raw, name)


def _query_bool(raw: str | None, name: str) -> bool:
    if raw is None or raw == "":
        return False
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    raise fe.invalid(f"Invalid {name} '{raw}'.")


def partition_health(store: Store, raw_id: str, query: dict[str, str]) -> dict[str, Any]:
    flags = health.events_filter(query.get("eventshealthstatefilter"))
    exclude = _query_bool(query.get("excludehealthstatistics"), "ExcludeHealthStatistics")
    timeline.catch_up(store)
    with store.read() as tx:
        _, part = entities.partition(tx, raw_id)
        t = backups.track(tx, part.id)
        return health.partition_health(part.id, t.health if t else None, clock.now(tx), flags, exclude)


# the emulator's own controls


def control(store: Store, op: str, params: tuple[str, ...], query: dict[str, str]) -> tuple[int, Any]:
    if op == "clock_get":
        timeline.catch_up(store)
        with store.read() as tx:
            return 200, {"UtcNow": clock.format_utc(clock.now(tx)), "Mode": clock.mode(tx)}
    if op == "clock_advance":
        raw = query.get("duration")
        if raw is None:
            raise fe.invalid("The Duration query parameter is required (an ISO 8601 duration such as PT3H).")
        seconds = clock.parse_advance(raw)
        timeline.catch_up(store)
        target = timeline.advance(store, seconds)
        return 200, {"UtcNow": clock.format_utc(target), "Mode": "virtual"}
    timeline.catch_up(store)
    with store.write() as tx:
        if op in ("breakstorage", "repairstorage"):
            (name,) = params
            if tx.policy(name) is None:
                raise FabricFault(fe.POLICY_DOES_NOT_EXIST, "Fabric Backup Policy doesn't exist")
            if op == "breakstorage":
                tx.conn.execute("INSERT OR IGNORE INTO broken_policies(name) VALUES(?)", (name,))
            else:
                tx.conn.execute("DELETE FROM broken_policies WHERE name = ?", (name,))
            return 200, EMPTY
        entity, part = entities.partition(tx, params[0])
        assert entity.service is not None
        t = backups.track(tx, part.id) or backups.Track(part.id, entity.app, entity.service)
        t.stopped = op == "stopbackups"
        backups.save_track(tx, t)
        backups.mark_dirty(tx, entity.app)
        return 200, EMPTY
