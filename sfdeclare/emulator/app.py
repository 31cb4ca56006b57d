"""The emulator as a function from request to response, shared by the in-process transport and the server.

Processing follows the server: route -> role check -> timeout -> body binding -> api-version -> the rule, in
one state transaction. Faults and latency (when configured) hit after routing and before any state is read
or written, so a failed request changed nothing. Who may call (Entra ID tokens, certificate roles) is
decided by auth.py before the route runs.

Over 400 lines: routing, dispatch and the per-operation answers are one request path; the rules, state,
queries and access live in their own modules.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from sfdeclare.emulator import (
    backup_routes,
    backups,
    clock,
    entities,
    queries,
    retention,
    rules,
    runtimes,
    storage_check,
    timeline,
)
from sfdeclare.emulator import fabric_errors as fe
from sfdeclare.emulator.auth import Access, Unauthorized
from sfdeclare.emulator.fabric_errors import FabricFault
from sfdeclare.emulator.faults import FaultInjector
from sfdeclare.emulator.policies import BoundPolicy, bind_policy, model_state_error
from sfdeclare.emulator.state import Store, Tx, stored_runtime

RUNTIMES = runtimes.RUNTIMES
MAX_BODY_BYTES = 1024 * 1024
DEFAULT_QUERY_PAGE_SIZE = 100
MAX_TIMEOUT = 4_294_967_295
INT32_MAX = 2_147_483_647
_NUMERIC_VERSION = re.compile(r"^\d+(\.\d+)?$")
_QUERY_VERSION = re.compile(r"^\d+\.\d+(-preview)?$")
_BACKUP_OPS = ("EnableBackup", "DisableBackup", "SuspendBackup", "ResumeBackup", "GetBackupConfigurationInfo")
_ENTITY_COLLECTIONS = {"applications": "Applications", "services": "Services", "partitions": "Partitions"}


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path and query, as sent (percent-encoded)
    headers: Mapping[str, str] = field(default_factory=dict)  # names in lower case
    body: bytes = b""
    client_certificate: bytes | None = None  # DER, when the caller presented one over TLS


@dataclass(frozen=True)
class Response:
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    reset: bool = False  # drop the connection without answering (a fault)


@dataclass(frozen=True)
class Route:
    template: str  # e.g. "POST /Services/{id}/$/EnableBackup": the key of the request statistics
    method: str
    operation: str
    params: tuple[str, ...] = ()
    brs: bool = True  # a Backup Restore Service route (BRS api-version rules) rather than a gateway query


def _json_response(status: int, payload: Any, extra: tuple[tuple[str, str], ...] = ()) -> Response:
    body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    headers = (("Content-Type", "application/json; charset=utf-8"), ("X-Content-Type-Options", "nosniff"))
    return Response(status, headers + extra, body)


def _empty(status: int) -> Response:
    return Response(status, (("X-Content-Type-Options", "nosniff"),), b"")


def error_response(fault: FabricFault) -> Response:
    extra: tuple[tuple[str, str], ...] = ()
    if fault.status == 404:
        extra = (("X-ServiceFabric", "ResourceNotFound"),)
    elif fault.status == 429:
        extra = (("Retry-After", "0"),)
    return _json_response(fault.status, {"Error": {"Code": fault.code, "Message": fault.message}}, extra)


def match_route(method: str, path: str) -> Route:
    """The route a path names, or a 404/405 FabricFault. Fixed segments match case-insensitively."""
    if path != "/" and path.endswith("/"):
        path = path.rstrip("/")
    head, _, tail = path.partition("/$/")
    if head == "" and tail.lower() == "getaadmetadata":
        return _check_method(method, Route("GET /$/GetAadMetadata", "GET", "aad_metadata", brs=False))
    if head == "" and tail.lower() == "getclusterversion":
        return _check_method(method, Route("GET /$/GetClusterVersion", "GET", "cluster_version", brs=False))
    control = backup_routes.control_route(method, tail) if head == "" else None
    if control is not None:
        template, control_method, operation, control_params = control
        return _check_method(method, Route(template, control_method, operation, control_params, brs=False))
    if head == "" and tail.lower() in ("emulator/stats", "emulator/stats/$/reset"):
        reset = tail.lower().endswith("reset")
        return _check_method(
            method,
            Route("POST /$/Emulator/Stats/$/Reset", "POST", "stats_reset", brs=False)
            if reset
            else Route("GET /$/Emulator/Stats", "GET", "stats", brs=False),
        )
    parts = head.lstrip("/").split("/", 1)
    collection = parts[0].lower()
    rest = parts[1] if len(parts) > 1 else ""
    route: Route | None = None
    if collection == "backuprestore" and not rest and tail.lower() == "getbackups":
        route = Route("POST /BackupRestore/$/GetBackups", "POST", "location_backups")
    elif collection == "backuprestore":
        route = _policy_route(rest, tail)
    elif collection in _ENTITY_COLLECTIONS:
        route = _entity_route(_ENTITY_COLLECTIONS[collection], rest, tail)
    if route is None:
        raise no_such_resource(method, path)
    return _check_method(method, route)


def no_such_resource(method: str, path: str) -> FabricFault:
    """The answer to a path the emulator does not serve, or that its runtime does not serve yet."""
    return FabricFault(fe.INVALID_ADDRESS, f"No such resource: {method} {path}", status=404)


def _check_method(method: str, route: Route) -> Route:
    if method.upper() != route.method:
        raise FabricFault(
            fe.INVALID_ARG, f"The method {method} is not allowed here; use {route.method}.", status=405
        )
    return route


def _policy_route(rest: str, tail: str) -> Route | None:
    base, _, name = rest.partition("/")
    if base.lower() != "backuppolicies":
        return None
    prefix = "/BackupRestore/BackupPolicies"
    if not name:
        if tail.lower() == "create":
            return Route(f"POST {prefix}/$/Create", "POST", "policy_create")
        return Route(f"GET {prefix}", "GET", "policy_list") if not tail else None
    params = (unquote(name),)
    ops = {
        "": ("GET", "policy_get", ""),
        "update": ("POST", "policy_update", "/$/Update"),
        "delete": ("POST", "policy_delete", "/$/Delete"),
        "getbackupenabledentities": ("GET", "policy_entities", "/$/GetBackupEnabledEntities"),
    }
    if tail.lower() not in ops:
        return None
    method, operation, suffix = ops[tail.lower()]
    return Route(f"{method} {prefix}/{{name}}{suffix}", method, operation, params)


def _entity_route(collection: str, rest: str, tail: str) -> Route | None:
    if not rest:
        if collection == "Applications" and not tail:
            return Route("GET /Applications", "GET", "query_applications", brs=False)
        return None
    entity_id = unquote(rest)
    for op in _BACKUP_OPS:
        if tail.lower() == op.lower():
            method = "GET" if op == "GetBackupConfigurationInfo" else "POST"
            return Route(f"{method} /{collection}/{{id}}/$/{op}", method, op, (collection, entity_id))
    data = backup_routes.entity_route(collection, tail)
    if data is not None:
        method, op = data
        return Route(f"{method} /{collection}/{{id}}/$/{op}", method, op, (collection, entity_id))
    lowered = tail.lower()
    if collection == "Partitions" and lowered == "gethealth":
        return Route("GET /Partitions/{id}/$/GetHealth", "GET", "query_health", (entity_id,), brs=False)
    if collection == "Applications" and lowered == "getservices":
        return Route("GET /Applications/{id}/$/GetServices", "GET", "query_services", (entity_id,), brs=False)
    if (
        collection == "Applications"
        and lowered.startswith("getservices/")
        and len(tail) > len("getservices/")
    ):
        service_id = unquote(tail[len("getservices/") :])
        return Route(
            "GET /Applications/{id}/$/GetServices/{serviceId}",
            "GET",
            "query_service",
            (entity_id, service_id),
            brs=False,
        )
    if collection == "Services" and lowered == "getpartitions":
        return Route("GET /Services/{id}/$/GetPartitions", "GET", "query_partitions", (entity_id,), brs=False)
    if collection == "Partitions" and not tail:
        return Route("GET /Partitions/{id}", "GET", "query_partition", (entity_id,), brs=False)
    return None


class Stats:
    """Request counts by route template (thread-safe); faulted requests count too, the emulator's own routes not."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._routes: Counter[str] = Counter()
        self._faults: Counter[str] = Counter()

    def count(self, template: str) -> None:
        with self._lock:
            self._routes[template] += 1

    def fault(self, kind: str) -> None:
        with self._lock:
            self._faults[kind] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "Total": sum(self._routes.values()),
                "Routes": dict(sorted(self._routes.items())),
                "Faults": dict(sorted(self._faults.items())),
            }

    def reset(self) -> None:
        with self._lock:
            self._routes.clear()
            self._faults.clear()


class EmulatorApp:
    """Request -> Response over one state file. Thread-safe; one instance per server or transport."""

    def __init__(
        self,
        store: Store,
        *,
        runtime: str | None = None,
        query_page_size: int = DEFAULT_QUERY_PAGE_SIZE,
        faults: FaultInjector | None = None,
        latency_ms: float = 0.0,
        access: Access | None = None,
    ) -> None:
        if runtime is not None:
            runtimes.check_runtime(runtime)
        self.store = store
        self.runtime = runtime  # None: the runtime the state records, read on every request
        self.query_page_size = query_page_size
        self.faults = faults
        self.latency_ms = latency_ms
        self.access = access  # who may call (auth.py); None: every caller, its role from X-Role
        self.stats = Stats()

    def handle(self, request: Request) -> Response:
        try:
            response = self._handle(request)
        except FabricFault as fault:
            response = error_response(fault)
        except Exception as exc:  # a bug or a storage failure: a 500 FabricError, never a dropped request
            name = type(exc).__name__
            response = error_response(FabricFault(fe.UNEXPECTED, f"Emulator internal error ({name})."))
        return response if response.reset else self._dated(response)

    def _dated(self, response: Response) -> Response:
        """Every answer carries the emulator's clock as its Date header, as a cluster's carries its own
        (RFC 9110 §6.6.1): clients read the cluster's time from it (`sfdeclare status` does)."""
        try:
            with self.store.read() as tx:
                moment = clock.now(tx)
        except Exception:  # a state that cannot be read: the host's clock, the answer says what failed
            moment = clock.wall_now()
        return replace(response, headers=(*response.headers, ("Date", formatdate(moment, usegmt=True))))

    def _handle(self, request: Request) -> Response:
        split = urlsplit(request.target)
        try:
            route = match_route(request.method, split.path)
        except FabricFault:
            self.stats.count("unmatched")
            raise
        if route.operation == "stats":
            return _json_response(200, self.stats.snapshot())
        if route.operation == "stats_reset":
            self.stats.reset()
            return _empty(200)
        if route.template.startswith(("GET /$/Emulator/", "POST /$/Emulator/")):
            query = {k.lower(): v for k, v in parse_qsl(split.query, keep_blank_values=True)}
            return _answer(*backup_routes.control(self.store, route.operation, route.params, query))
        if route.operation == "aad_metadata":
            self.stats.count(route.template)
            return _json_response(200, (self.access or Access()).metadata())
        if self.access is not None:
            try:
                role = self.access.role(request.headers.get("authorization"), request.client_certificate)
            except Unauthorized as refused:
                self.stats.count("unauthorized")
                challenge = f'Bearer error="invalid_token", error_description="{refused.reason}"'
                return Response(401, (("WWW-Authenticate", challenge), ("X-Content-Type-Options", "nosniff")))
            if role is not None:
                request = replace(request, headers={**request.headers, "x-role": role})
            if self.access.refuse_backup_routes and route.brs:
                self.stats.count(route.template)
                raise FabricFault(fe.ACCESS_DENIED, "Access Denied.")
        runtime = self._runtime()
        if (
            route.operation == "cluster_version"
            and not runtimes.supports(runtime, runtimes.GET_CLUSTER_VERSION)
        ) or (
            route.operation == "SkipAutoRestore"
            and not runtimes.supports(runtime, runtimes.SKIP_AUTO_RESTORE)
        ):
            self.stats.count("unmatched")
            raise no_such_resource(request.method, split.path)
        self.stats.count(route.template)
        if self.latency_ms <= 0:
            return self._answer(route, split.query, request, runtime)
        # The latency is a floor, as a cluster's round trip includes its own work: answer no sooner than
        # latency_ms after arrival, whatever the answer (a fault or an error included).
        due = time.monotonic() + self.latency_ms / 1000
        try:
            return self._answer(route, split.query, request, runtime)
        finally:
            time.sleep(max(0.0, due - time.monotonic()))

    def _runtime(self) -> str:
        if self.runtime is not None:
            return self.runtime
        with self.store.read() as tx:
            return stored_runtime(tx)

    def _answer(self, route: Route, raw_query: str, request: Request, runtime: str) -> Response:
        if self.faults is not None:
            fault = self.faults.draw()
            if fault is not None:
                self.stats.fault(fault)
                return _fault_response(fault)
        if len(request.body) > MAX_BODY_BYTES:
            raise FabricFault(fe.INVALID_ARG, f"The request body exceeds {MAX_BODY_BYTES} bytes.", status=413)
        query = {k.lower(): v for k, v in parse_qsl(raw_query, keep_blank_values=True)}
        if route.brs:
            return self._backup(route, query, request, runtime)
        return self._query(route, query, runtime)

    # Backup Restore Service routes

    def _backup(self, route: Route, query: dict[str, str], request: Request, runtime: str) -> Response:
        role = request.headers.get("x-role", "Admin")
        if role not in ("Admin", "All", "User") or (role == "User" and route.method != "GET"):
            raise FabricFault(fe.ACCESS_DENIED, "Access Denied.")
        _timeout(query, brs=True)
        bind = _BINDERS.get(route.operation)
        if bind is not None and request.body.strip():
            _check_media_type(request.headers.get("content-type"))
        body = _json_body(request.body) if bind is not None else None  # other routes ignore a body
        bound = bind(body, runtime) if bind is not None else None
        _check_backup_version(query.get("api-version"), runtime, route.operation)
        op = route.operation
        if op in backup_routes.OPERATIONS:
            return _answer(*backup_routes.handle(self.store, op, route.params, query, bound, _paging(query)))
        if route.method == "POST":
            timeline.catch_up_for_write(self.store)
        if op.startswith("policy_"):
            return self._policy_op(op, route.params, query, body, bound, runtime)
        return self._mapping_op(op, route.params, query, body)

    def _policy_op(
        self, op: str, params: tuple[str, ...], query: dict[str, str], body: Any, bound: Any, runtime: str
    ) -> Response:
        if op in ("policy_create", "policy_update"):
            if body is None:
                raise fe.invalid("Invalid Arguments.")
            assert isinstance(bound, BoundPolicy)
            validate = _validate_connection(query, runtime)
            with self.store.write() as tx:
                if op == "policy_create":
                    rules.create_policy(tx, bound)
                else:
                    rules.update_policy(tx, params[0], bound)
                    backups.mark_policy_dirty(tx, params[0])
                if validate:  # a refusal rolls the transaction back
                    storage_check.validate(tx, bound.body["Storage"])
            return _empty(201 if op == "policy_create" else 200)
        if op == "policy_delete":
            with self.store.write() as tx:
                rules.purge_orphan_mappings(tx, params[0])
            with self.store.write() as tx:
                rules.delete_policy(tx, params[0])
                tx.conn.execute("DELETE FROM broken_policies WHERE name = ?", (params[0],))
            return _empty(200)
        token, max_results = _paging(query)
        with self.store.read() as tx:
            if op == "policy_list":
                return _json_response(200, rules.list_policies(tx, token, max_results, runtime))
            if op == "policy_get":
                return _json_response(200, rules.get_policy(tx, params[0], runtime))
            return _json_response(200, rules.enabled_entities(tx, params[0], token, max_results))

    def _mapping_op(self, op: str, params: tuple[str, ...], query: dict[str, str], body: Any) -> Response:
        collection, raw_id = params
        if op == "GetBackupConfigurationInfo":
            token, max_results = _paging(query)
            with self.store.read() as tx:
                entity = _resolve(tx, collection, raw_id)
                return _json_response(200, rules.configuration(tx, entity, token, max_results))
        if op == "EnableBackup" and body is None:
            raise fe.invalid("Invalid Arguments.")
        with self.store.write() as tx:
            entity = _resolve(tx, collection, raw_id)
            if op == "EnableBackup":
                rules.enable(tx, entity, body["BackupPolicyName"])
            elif op == "DisableBackup":
                mapping = tx.mapping(entity.key)
                rules.disable(tx, entity)
                if mapping is not None and mapping.policy is not None and _clean_backup(body):
                    retention.clean_on_disable(tx, entity, mapping.policy)
            elif op == "SuspendBackup":
                rules.suspend(tx, entity)
            else:
                rules.resume(tx, entity)
            backups.mark_dirty(tx, entity.app)
        return _empty(202)

    # gateway queries

    def _query(self, route: Route, query: dict[str, str], runtime: str) -> Response:
        version = query.get("api-version")
        # GetClusterVersion is a 6.4 operation; an older api-version does not know it (assumed answer).
        least = 6.4 if route.operation == "cluster_version" else 1.0
        if version is None or not _QUERY_VERSION.match(version) or float(version.split("-")[0]) < least:
            raise fe.invalid("Invalid API Version")
        _timeout(query)
        if route.operation == "cluster_version":
            return _json_response(200, {"Version": runtimes.build_of(runtime)})
        if route.operation == "query_health":
            return _json_response(200, backup_routes.partition_health(self.store, route.params[0], query))
        token, max_results = _paging(query, brs=False)
        op, params, size = route.operation, route.params, self.query_page_size
        type_name = query.get("applicationtypename") or None
        with self.store.read() as tx:
            if op == "query_applications":
                exclude = query.get("excludeapplicationparameters", "").lower() == "true"
                found_apps = queries.applications(tx, token, max_results, type_name, size, exclude)
                return _json_response(200, found_apps)
            if op == "query_services":
                service_type = query.get("servicetypename") or None
                return _json_response(200, queries.services(tx, params[0], token, service_type, size))
            if op == "query_partitions":
                return _json_response(200, queries.partitions(tx, params[0], token, size))
            found = (
                queries.service(tx, *params) if op == "query_service" else queries.partition(tx, params[0])
            )
        return _json_response(200, found) if found is not None else _empty(204)


# The least api-version of a backup operation, where it is above 6.4: the REST spec 9.1 declares SkipAutoRestore
# with ApiVersion_9-1_RequiredQueryParam. That the server refuses a lower number (400 "Invalid API Version", as for
# any other version it refuses) is an assumption: the public server code (6.4) has one floor for every operation.
_LEAST_API_VERSION = {"SkipAutoRestore": 9.1}


def _check_backup_version(version: str | None, runtime: str, operation: str) -> None:
    if not runtimes.supports(runtime, runtimes.NUMERIC_API_VERSION):
        ok = version == "6.2-preview"
    else:
        least = _LEAST_API_VERSION.get(operation, 6.4)
        ok = version is not None and bool(_NUMERIC_VERSION.match(version)) and float(version) >= least
    if not ok:
        raise fe.invalid("Invalid API Version")


def _validate_connection(query: dict[str, str], runtime: str) -> bool:
    """The ValidateConnection query flag; a runtime before it ignores it as an unknown parameter."""
    raw = query.get("validateconnection")
    if raw is None or not runtimes.supports(runtime, runtimes.VALIDATE_CONNECTION):
        return False
    if raw.strip().lower() not in ("true", "false"):
        raise fe.invalid(f"The value '{raw}' is not valid for ValidateConnection.")
    return raw.strip().lower() == "true"


def _fault_response(kind: str) -> Response:
    if kind == "reset":
        return Response(0, reset=True)
    if kind == "503":
        return error_response(FabricFault(fe.NOT_PRIMARY, "The replica is not the primary (injected fault)."))
    if kind == "504":
        return error_response(FabricFault(fe.TIMEOUT, "Timeout for the request happened"))
    if kind == "500":
        # Real clusters answer this when the request reaches a node without the backup service's primary
        # (microsoft/service-fabric#507, service-fabric-issues#1636); the message is an assumption.
        return error_response(
            FabricFault(fe.UNEXPECTED, "Must connect to the BRS primary node (injected fault).")
        )
    return error_response(FabricFault(fe.SERVICE_TOO_BUSY, "Too many requests (injected fault)."))


def _answer(status: int, payload: Any) -> Response:
    return _empty(status) if payload is backup_routes.EMPTY else _json_response(status, payload)


def _clean_backup(body: Any) -> bool:
    value = body.get("CleanBackup") if isinstance(body, dict) else None
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _check_media_type(content_type: str | None) -> None:
    """Web API binds a body only through a formatter for its media type: JSON here, else 415 [INF, fidelity
    audit C]. Web API answers with its own error body; the emulator keeps the FabricError form (a documented
    difference) so every client can read it."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == "application/json" or media.endswith("+json") or media == "text/json":
        return
    shown = media or "application/octet-stream"
    raise FabricFault(
        fe.INVALID_ARG,
        f"The request entity's media type '{shown}' is not supported for this resource.",
        status=415,
    )


def _resolve(tx: Tx, collection: str, raw_id: str) -> entities.Entity:
    if collection == "Applications":
        return entities.application(raw_id)
    if collection == "Services":
        return entities.service(tx, raw_id)
    return entities.partition(tx, raw_id)[0]


def _timeout(query: dict[str, str], brs: bool = False) -> None:
    """The spec allows 1..4294967295 s. The backup service binds an ``int`` (above int32: a binding 400) and
    cancels after it (above about 24.8 days in milliseconds: 500) [INF, fidelity audit C]; <= 0 is a 400 here
    where 6.4 answered 500 (documented difference)."""
    raw = query.get("timeout")
    if raw is None:
        return
    try:
        value = int(raw)
    except ValueError:
        raise fe.invalid(f"Invalid timeout '{raw}': an integer number of seconds.") from None
    if not 1 <= value <= MAX_TIMEOUT:
        raise fe.invalid(f"Invalid timeout {value}: must be between 1 and {MAX_TIMEOUT} seconds.")
    if brs and value > INT32_MAX:
        raise model_state_error("timeout", f"The value '{raw}' is not valid for timeout.")
    if brs and value * 1000 > INT32_MAX:
        raise FabricFault(
            fe.UNEXPECTED,
            "The timeout must represent a value between -1 and Int32.MaxValue, inclusive.\r\nParameter name: delay",
        )


def _paging(query: dict[str, str], brs: bool = True) -> tuple[str | None, int]:
    """The backup service binds MaxResults as an ``int`` (above int32: a binding 400) and pages one item at a
    time when it is negative (``counter >= maxResults``, BaseStore.cs) [SRC, fidelity audit C]; the gateway's
    queries keep the spec's rule (not negative)."""
    token = query.get("continuationtoken") or None
    raw = query.get("maxresults", "0") or "0"
    try:
        max_results = int(raw)
    except ValueError:
        raise fe.invalid(f"Invalid MaxResults '{raw}'.") from None
    if brs and not -INT32_MAX - 1 <= max_results <= INT32_MAX:
        raise model_state_error("MaxResults", f"The value '{raw}' is not valid for MaxResults.")
    if max_results < 0:
        if not brs:
            raise fe.invalid("MaxResults must not be negative.")
        max_results = 1
    return token, max_results


def _json_body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise model_state_error("body", "The request body is not valid JSON.") from None


def _bind_enable(body: Any, runtime: str) -> None:
    if body is None:
        return
    name = body.get("BackupPolicyName") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name.strip():
        raise model_state_error("backupMapping.BackupPolicyName", "The BackupPolicyName field is required.")


def _bind_disable(body: Any, runtime: str) -> None:
    if body is None:
        return
    if not runtimes.supports(runtime, runtimes.DISABLE_BACKUP_BODY):
        raise fe.invalid("DisableBackup takes no request body in this runtime (api-version 6.2-preview).")
    clean = body.get("CleanBackup") if isinstance(body, dict) else None
    # Json.NET reads the strings "true" and "false" into a bool [INF, fidelity audit C].
    if isinstance(clean, str) and clean.strip().lower() in ("true", "false"):
        return
    if not isinstance(clean, bool):
        raise model_state_error("disableBackupDescription.CleanBackup", "The CleanBackup field is required.")


def _bind_policy(body: Any, runtime: str) -> BoundPolicy | None:
    return None if body is None else bind_policy(body, runtime=runtime)


_BINDERS: dict[str, Callable[[Any, str], Any]] = {
    "policy_create": _bind_policy,
    "policy_update": _bind_policy,
    "EnableBackup": _bind_enable,
    "DisableBackup": _bind_disable,
    **backup_routes.BINDERS,
}
