"""The REST client: with its transport (connections.py) the only modules besides the emulator that speak HTTP.

Typed calls for everything the planner, applier, drift and import need; paging, retries, TLS and auth. Errors
from below (httpx, ssl, sockets, FabricError bodies) are translated here, once, into ClusterError lines that say
what to check. No message ever holds a request or response body.
"""

from __future__ import annotations

import json
import os
import socket
import ssl
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx

from sfdeclare import __version__
from sfdeclare.cluster.endpoint import Endpoint, parse_endpoint
from sfdeclare.cluster.retry import (
    ClusterRequestError,
    RetryPolicy,
    is_ambiguous,
    is_transient,
    parse_retry_after,
)
from sfdeclare.cluster.tls import ThumbprintMismatch, build_ssl_context
from sfdeclare.cluster.transport import AnswerTooLarge, ConnectionStack, Exchange, Outgoing, TransportExchange
from sfdeclare.errors import ClusterError, ConfigError, Diagnostic
from sfdeclare.model import references
from sfdeclare.model.addresses import EntityRef, application_name
from sfdeclare.model.declaration import SECRET_FIELDS, ClusterSettings, Declaration, TlsSettings
from sfdeclare.model.live import LiveApplication, LivePartition, LiveService, LiveState
from sfdeclare.model.scope import ReadScope, read_scope
from sfdeclare.servicefabric import replies, routes
from sfdeclare.servicefabric.routes import ApiOptions, WireRequest

CONNECT_TIMEOUT = 10.0
# A listing longer than this is a cluster (or something posing as one) that pages forever.
MAX_PAGES = 100_000
# No answer of the backup API comes near this; a larger one is refused before it exhausts memory.
MAX_RESPONSE_BYTES = 256 * 1024 * 1024
ANSWER_GRACE = 10.0


def answer_timeout(timeout: float) -> float:
    """How long to wait for an answer: the cluster's own per-call ``timeout`` plus a grace for the answer to
    travel, at most 10 s and never more than the timeout itself (60 -> 70 s; a 1 s call waits 2 s, not 11)."""
    return timeout + min(ANSWER_GRACE, timeout)


@dataclass(frozen=True)
class Reply:
    """A successful (2xx) answer: its status, its parsed JSON body (None when empty), how many attempts it
    took, and whether an earlier attempt of this write may have been carried out already (``ambiguous``)."""

    status: int
    body: Any
    attempts: int = 1
    ambiguous: bool = False


def _stderr_warn(message: str) -> None:
    print(message, file=sys.stderr)


class Client:
    """A pooled, thread-safe connection to one cluster (or to the emulator, in-process or served)."""

    def __init__(
        self,
        endpoint: str,
        *,
        settings: ClusterSettings | None = None,
        base_dir: str = ".",
        env: Mapping[str, str] | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        parallelism: int = 10,
        timeout: int = 60,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings or ClusterSettings()
        self.base_dir = base_dir
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.retry = retry or RetryPolicy()
        self.api = ApiOptions.from_settings(self.settings, timeout)
        self.endpoint: Endpoint = parse_endpoint(endpoint, base_dir=".")
        self._warn = warn or _stderr_warn
        self._lock = threading.Lock()
        self._requests = 0
        self._token: list[str] = []  # scrubbed from every message, like the secrets of a request body
        headers = [("Accept", "application/json"), ("User-Agent", f"sfdeclare/{__version__}")]
        if self.settings.token:
            token = references.resolve(
                self.settings.token, env=self.env, base_dir=base_dir, where=self.settings.location
            )
            if not token or any(not 33 <= ord(ch) <= 126 for ch in token):
                # never sent: a line break would inject headers; never shown: it is a credential
                raise ConfigError(
                    [
                        Diagnostic(
                            "error",
                            f"cluster.token ({self.settings.token}) resolves to "
                            + ("an empty value" if not token else "characters a bearer token cannot hold")
                            + ": it must be printable ASCII without spaces or line breaks",
                            self.settings.location,
                        )
                    ]
                )
            headers.append(("Authorization", f"Bearer {token}"))
            self._token = [token]
            if not self.endpoint.is_https and self.endpoint.kind == "http":
                self._warn(f"warning: sending cluster.token over plain http to {self.endpoint.url}")
        self._headers = headers
        wait = answer_timeout(timeout)
        self._timeouts = {"connect": CONNECT_TIMEOUT, "read": wait, "write": wait, "pool": wait}
        self._exchange: Exchange = (
            TransportExchange(transport, self.endpoint.url, timeouts=self._timeouts)
            if transport is not None
            else self._network_exchange(max(1, parallelism))
        )

    def _network_exchange(self, size: int) -> Exchange:
        """The in-process emulator, a proxy named by the environment, or kept-alive connections of our own."""
        if self.endpoint.kind == "emulator":
            # the in-process emulator is a transport its caller plugs in (commands.session.connect)
            raise ValueError(f"{self.endpoint} needs the in-process emulator's transport")
        if self.endpoint.is_https:
            context = build_ssl_context(self._resolved_tls(), self.base_dir, self._warn)
        else:
            if self.settings.tls != TlsSettings():
                self._warn(
                    f"warning: cluster.tls is set but {self.endpoint.url} is plain http: it is not used"
                )
            context = None
        proxy = environment_proxy(self.endpoint.url)
        if proxy is not None:
            through_proxy = httpx.HTTPTransport(
                proxy=proxy,
                # httpx would load certifi's CA bundle (0.1 s of CPU) for a context plain http never uses
                verify=context or ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT),
                limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
            )
            return TransportExchange(through_proxy, self.endpoint.url, timeouts=self._timeouts)
        return ConnectionStack(self.endpoint.url, ssl_context=context, max_idle=size, timeouts=self._timeouts)

    def _resolved_tls(self) -> TlsSettings:
        """TLS settings with their ``${env:...}`` / ``${file:...}`` references resolved (paths and thumbprint)."""
        tls = self.settings.tls

        def resolved(value: str | None) -> str | None:
            if value is None:
                return None
            return references.resolve(
                value, env=self.env, base_dir=self.base_dir, where=self.settings.location
            )

        return replace(
            tls,
            client_cert=resolved(tls.client_cert),
            client_key=resolved(tls.client_key),
            ca_bundle=resolved(tls.ca_bundle),
            server_cert_thumbprint=resolved(tls.server_cert_thumbprint),
        )

    # --- lifecycle -------------------------------------------------------------------------------------------

    @property
    def requests(self) -> int:
        """HTTP requests made so far (every attempt counts)."""
        with self._lock:
            return self._requests

    def close(self) -> None:
        self._exchange.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- sending ---------------------------------------------------------------------------------------------

    def send(self, req: WireRequest, *, secrets_env: Mapping[str, str] | None = None) -> Reply:
        """Send one request (retrying transient failures) and return its 2xx Reply; raise ClusterRequestError.

        ``${env:...}`` / ``${file:...}`` references in the body are resolved here, from ``secrets_env`` (or the
        client's environment); their values never reach an error message.
        """
        content: bytes | None = None
        secrets: list[str] = list(self._token)
        if req.body is not None:
            resolved = references.resolve_tree(
                dict(req.body), env=self.env if secrets_env is None else secrets_env, base_dir=self.base_dir
            )
            secrets += _sensitive_values(req.body, resolved)
            content = json.dumps(resolved, separators=(",", ":")).encode()
        headers = (
            [*self._headers, ("Content-Type", "application/json")] if content is not None else self._headers
        )
        target = req.path + ("?" + urlencode(req.query, quote_via=quote) if req.query else "")
        started = self.retry.clock()
        attempt = 0
        ambiguous = False
        while True:
            attempt += 1
            with self._lock:
                self._requests += 1
            try:
                answer = self._exchange.exchange(
                    Outgoing(
                        req.method,
                        target,
                        headers,
                        content,
                        deadline=time.monotonic() + answer_timeout(self.api.timeout),
                        max_bytes=MAX_RESPONSE_BYTES,
                    )
                )
            except AnswerTooLarge as too_large:
                raise ClusterRequestError(
                    req.operation,
                    f"the answer is larger than {_size(MAX_RESPONSE_BYTES)}: refusing it "
                    "(is the endpoint a Service Fabric cluster?)",
                    status=too_large.status,
                    attempts=attempt,
                    ambiguous=ambiguous,
                ) from None
            except httpx.TransportError as exc:
                message, retryable, maybe_done = self._describe_transport_error(exc)
                ambiguous = ambiguous or (maybe_done and req.method != "GET")
                delay = self.retry.next_delay(attempt, started, None) if retryable else None
                if delay is None:
                    raise ClusterRequestError(
                        req.operation,
                        _scrub(message + _attempts_note(attempt) + _maybe_done_note(ambiguous), secrets),
                        transient=retryable,
                        attempts=attempt,
                        ambiguous=ambiguous,
                    ) from None
                self.retry.sleep(delay)
                continue
            status, raw = answer.status, answer.body
            if 200 <= status < 300:
                return Reply(status, self._parse_body(raw, req.operation, status), attempt, ambiguous)
            error = replies.parse_fabric_error(_loads(raw))
            code = error.code if error else None
            transient = is_transient(status, code)
            ambiguous = ambiguous or (is_ambiguous(status, code) and req.method != "GET")
            delay = None
            if transient:
                retry_after = parse_retry_after(answer.header("Retry-After"))
                delay = self.retry.next_delay(attempt, started, retry_after)
            if delay is None:
                message = self._error_message(req, status, error)
                raise ClusterRequestError(
                    req.operation,
                    _scrub(
                        message
                        + (_attempts_note(attempt) + _maybe_done_note(ambiguous) if transient else ""),
                        secrets,
                    ),
                    status=status,
                    code=code,
                    transient=transient,
                    attempts=attempt,
                    ambiguous=ambiguous,
                )
            self.retry.sleep(delay)

    def _parse_body(self, raw: bytes, operation: str, status: int) -> Any:
        if not raw.strip():
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise replies.reject(
                operation, status, "the body is not JSON (is the endpoint a Service Fabric cluster?)"
            ) from None

    def _error_message(self, req: WireRequest, status: int, error: replies.FabricError | None) -> str:
        version = dict(req.query).get("api-version", "")
        if error is not None and status == 400 and "api version" in error.message.lower():
            if version.endswith("-preview"):
                return (
                    f'the cluster refused api-version {version}: set cluster.api_version to "6.4" '
                    "(6.2-preview is only for 6.2/6.3 runtimes)"
                )
            return (
                f'the cluster refused api-version {version}: set cluster.api_version to "6.2-preview" '
                "for 6.2/6.3 runtimes"
            )
        if error is not None:
            return error.message or "(no message)"
        if status in (401, 403):
            return "access denied: check cluster.token or the client certificate (cluster.tls.client_cert)"
        return (
            f"HTTP {status} without a Service Fabric error body (is the endpoint a Service Fabric cluster?)"
        )

    def _describe_transport_error(self, exc: httpx.TransportError) -> tuple[str, bool, bool]:
        """(one-line message, retryable, the request may have reached the server)."""
        where = self.endpoint.url
        chain = _causes(exc)
        mismatch = next((e for e in chain if isinstance(e, ThumbprintMismatch)), None)
        if mismatch is not None:
            return (
                f"the certificate of {where} (SHA-1 thumbprint {mismatch.presented_sha1}) does not match "
                "cluster.tls.server_cert_thumbprint",
                False,
                False,
            )
        tls = self.settings.tls
        untrusted = next((e for e in chain if isinstance(e, ssl.SSLCertVerificationError)), None)
        if untrusted is not None:
            if untrusted.verify_code in (62, 64) or "mismatch" in str(untrusted.verify_message).lower():
                return (
                    f"the certificate of {where} is not issued for host {_host(where)} "
                    "(use the name in the certificate, or set cluster.tls.server_cert_thumbprint)",
                    False,
                    False,
                )
            if tls.ca_bundle:
                trust = f"is not trusted by ca_bundle {tls.ca_bundle} (or set server_cert_thumbprint)"
            else:
                trust = "is not trusted by this machine's CAs: set cluster.tls.ca_bundle or server_cert_thumbprint"
            return f"the certificate of {where} {trust}", False, False
        tls_error = next((e for e in chain if isinstance(e, ssl.SSLError)), None)
        if tls_error is not None and not isinstance(tls_error, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
            reason = (tls_error.reason or str(tls_error)).lower()
            if "wrong_version_number" in reason or "record layer" in reason or "http_request" in reason:
                return (
                    f"TLS with {where} failed: the endpoint does not speak TLS (use http://?)",
                    False,
                    False,
                )
            if "alert" in reason:
                hint = (
                    "does the cluster require a client certificate? set cluster.tls.client_cert"
                    if not tls.client_cert
                    else f"does the cluster trust the client certificate {tls.client_cert}?"
                )
                return f"{where} refused the TLS handshake ({tls_error.reason}): {hint}", False, False
            return (
                f"TLS with {where} failed ({tls_error.reason or tls_error}): check cluster.tls",
                False,
                False,
            )
        if any(isinstance(e, socket.gaierror) for e in chain):
            return f"cannot resolve the host of {where} -- is the cluster endpoint right?", True, False
        if any(isinstance(e, ConnectionRefusedError) for e in chain):
            return (
                f"cannot connect to {where}: connection refused -- is the cluster endpoint right?",
                True,
                False,
            )
        if isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout)):
            return (
                f"cannot connect to {where}: no answer within {CONNECT_TIMEOUT:g}s -- "
                "is the cluster endpoint right and reachable?",
                True,
                False,
            )
        if isinstance(exc, httpx.ConnectError):
            return f"cannot connect to {where}: {_reason(exc)} -- is the cluster endpoint right?", True, False
        if isinstance(exc, httpx.TimeoutException):
            return f"{where} did not answer within {answer_timeout(self.api.timeout):g}s", True, True
        if isinstance(exc, (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)):
            return f"the connection to {where} broke before an answer arrived ({_reason(exc)})", True, True
        return f"talking to {where} failed: {_reason(exc)}", False, True

    # --- paging ----------------------------------------------------------------------------------------------

    def _items(self, build: Callable[[str | None], WireRequest]) -> Iterator[tuple[Mapping[str, Any], str]]:
        """Every item of a paged listing (following tokens until null / "" / absent), with the operation."""
        token: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            req = build(token)
            reply = self.send(req)
            page = replies.parse_page(reply.body, req.operation, reply.status)
            for item in page.items:
                yield item, req.operation
            if page.continuation is None:
                return
            if page.continuation in seen:
                raise replies.reject(req.operation, reply.status, "the cluster repeated a continuation token")
            seen.add(page.continuation)
            token = page.continuation
        raise replies.reject(
            build(token).operation, None, f"the listing goes on for more than {MAX_PAGES} pages"
        )

    # --- backup policies -------------------------------------------------------------------------------------

    def list_policies(self) -> dict[str, dict[str, Any]]:
        """Every backup policy: name -> body without Name (secrets masked as the cluster reads them back)."""
        policies: dict[str, dict[str, Any]] = {}
        for item, operation in self._items(lambda token: routes.list_policies(self.api, token)):
            name, body = replies.parse_policy(item, operation)
            policies[name] = body
        return policies

    def get_policy(self, name: str) -> dict[str, Any] | None:
        req = routes.get_policy(name, self.api)
        try:
            reply = self.send(req)
        except ClusterError as exc:
            if exc.status == 404 and exc.code == replies.POLICY_DOES_NOT_EXIST:
                return None
            raise
        return replies.parse_policy(reply.body, req.operation, reply.status)[1]

    def create_policy(
        self, name: str, body: Mapping[str, Any], *, secrets_env: Mapping[str, str] | None = None
    ) -> Reply:
        return self.send(routes.create_policy(name, body, self.api), secrets_env=secrets_env)

    def update_policy(
        self, name: str, body: Mapping[str, Any], *, secrets_env: Mapping[str, str] | None = None
    ) -> Reply:
        return self.send(routes.update_policy(name, body, self.api), secrets_env=secrets_env)

    def delete_policy(self, name: str) -> Reply:
        return self.send(routes.delete_policy(name, self.api))

    def policy_entities(self, name: str) -> list[EntityRef]:
        """The entities explicitly mapped to a policy, anywhere on the cluster."""
        return [
            replies.parse_backup_entity(item, operation)
            for item, operation in self._items(lambda token: routes.policy_entities(name, self.api, token))
        ]

    # --- mappings and suspensions ----------------------------------------------------------------------------

    def enable_backup(self, ref: EntityRef, policy: str) -> Reply:
        return self.send(routes.enable_backup(ref, policy, self.api))

    def disable_backup(self, ref: EntityRef, clean_backup: bool = False) -> Reply:
        return self.send(routes.disable_backup(ref, clean_backup, self.api))

    def suspend_backup(self, ref: EntityRef) -> Reply:
        return self.send(routes.suspend_backup(ref, self.api))

    def resume_backup(self, ref: EntityRef) -> Reply:
        return self.send(routes.resume_backup(ref, self.api))

    def configuration_info(self, ref: EntityRef) -> list[replies.BackupConfigurationItem]:
        """GetBackupConfigurationInfo of an entity; "nothing configured" (404 BACKUP_NOT_ENABLED, or null at
        partition level) is an empty list."""
        try:
            if ref.partition is not None:
                req = routes.configuration_info(ref, self.api)
                reply = self.send(req)
                return replies.parse_partition_configuration(reply.body, ref, req.operation, reply.status)
            parsed = [
                replies.parse_configuration_item(item, ref, operation)
                for item, operation in self._items(
                    lambda token: routes.configuration_info(ref, self.api, token)
                )
            ]
        except ClusterError as exc:
            if exc.status == 404 and exc.code == replies.BACKUP_NOT_ENABLED:
                return []
            raise
        return [item for item in parsed if item is not None]

    # --- cluster queries -------------------------------------------------------------------------------------

    def list_applications(self) -> list[LiveApplication]:
        return [
            replies.parse_application(item, operation)
            for item, operation in self._items(lambda token: routes.list_applications(self.api, token))
        ]

    def list_services(self, app: str) -> list[LiveService]:
        """The services of an application; a missing application raises 404 FABRIC_E_APPLICATION_NOT_FOUND."""
        return [
            replies.parse_service(item, operation)
            for item, operation in self._items(lambda token: routes.list_services(app, self.api, token))
        ]

    def list_partitions(self, service: str) -> list[LivePartition]:
        return [
            replies.parse_partition(item, operation)
            for item, operation in self._items(lambda token: routes.list_partitions(service, self.api, token))
        ]

    def get_service(self, app: str, service: str) -> LiveService | None:
        """One service, or None when the cluster answers 204 (no such service)."""
        req = routes.get_service(app, service, self.api)
        reply = self.send(req)
        return None if reply.body is None else replies.parse_service(reply.body, req.operation, reply.status)

    def get_partition(self, partition_id: str) -> LivePartition | None:
        req = routes.get_partition(partition_id, self.api)
        reply = self.send(req)
        return (
            None if reply.body is None else replies.parse_partition(reply.body, req.operation, reply.status)
        )


# --- the live state a plan needs -----------------------------------------------------------------------------

_MISSING_ENTITY_CODES = frozenset({replies.APPLICATION_NOT_FOUND, replies.SERVICE_DOES_NOT_EXIST})


def read_state(
    client: Client,
    declaration: Declaration,
    *,
    all_applications: bool = False,
    parallelism: int = 10,
    scope: ReadScope | None = None,
) -> LiveState:
    """The live state a plan of ``declaration`` needs, with the fewest requests, independent reads in parallel.

    - every policy: one request (MaxResults=0 means all), more only if the cluster pages anyway;
    - per declared application: its services, and its application-level GetBackupConfigurationInfo, which lists
      every explicit mapping in the application and its suspended children (so one request covers them all);
    - partitions only of services that declare partition-level settings;
    - every application (GET /Applications, plus each one's configuration) only with ``scope: cluster`` or
      ``all_applications``.

    A declared application that does not exist is left out of ``applications`` (the planner reports it).
    ``scope`` (what a reviewed plan read) replaces what ``declaration`` asks for, so a re-read matches it.
    """
    start = client.requests
    if scope is None:
        scope = read_scope(declaration, all_applications=all_applications)
    every_app = scope.all_applications
    declared = [application_name(app) for app in scope.applications]
    partition_services = list(scope.partition_services)
    with ThreadPoolExecutor(max_workers=max(1, parallelism), thread_name_prefix="sfdeclare-read") as pool:
        try:
            policies = pool.submit(client.list_policies)
            listing = pool.submit(client.list_applications) if every_app else None
            services = {app: pool.submit(_services_or_none, client, app) for app in declared}
            configs = {app: pool.submit(client.configuration_info, EntityRef(app)) for app in declared}
            partitions = {svc: pool.submit(_partitions_or_none, client, svc) for svc in partition_services}
            applications: dict[str, LiveApplication] = {}
            if listing is not None:
                for app in listing.result():
                    applications[app.name] = app
                    if app.name not in configs:
                        configs[app.name] = pool.submit(client.configuration_info, EntityRef(app.name))
            # In the order the reads were queued, so this thread digests answers while later ones are in flight.
            for app_name, future in services.items():
                found = future.result()
                if found is None:
                    applications.pop(app_name, None)
                    continue
                known = applications.get(app_name, LiveApplication(app_name))
                applications[app_name] = replace(known, services=tuple(found))
            mappings: dict[EntityRef, str] = {}
            suspensions: set[EntityRef] = set()
            hidden: set[str] = set()
            for app_name, config_future in configs.items():
                explicit = replies.explicit_configuration(config_future.result())
                mappings.update(explicit.mappings)
                suspensions.update(explicit.suspensions)
                if not explicit.application_suspension_shown:
                    hidden.add(app_name)
            read_partitions = {svc: future.result() for svc, future in partitions.items()}
            for app_name, app in applications.items():
                listed = app.services or ()
                if any(s.name in read_partitions for s in listed):
                    with_partitions = tuple(
                        replace(s, partitions=read_partitions.get(s.name, s.partitions)) for s in listed
                    )
                    applications[app_name] = replace(app, services=with_partitions)
            live_policies = policies.result()
            for app_name in sorted(hidden & set(scope.suspension_probes)):
                shown = _application_suspended(client, applications.get(app_name), suspensions)
                if shown is not None:
                    hidden.discard(app_name)
                if shown:
                    suspensions.add(EntityRef(app_name))
        except BaseException:
            pool.shutdown(wait=True, cancel_futures=True)
            raise
    return LiveState(
        policies=live_policies,
        applications=applications,
        mappings=mappings,
        suspensions=frozenset(suspensions),
        configured_applications=frozenset(configs),
        hidden_application_suspension=frozenset(hidden),
        requests=client.requests - start,
    )


def _application_suspended(
    client: Client, app: LiveApplication | None, suspended: set[EntityRef]
) -> bool | None:
    """Whether an application is suspended at its own level, when its configuration listing did not say.

    A partition of a service that has no suspension of its own resolves its suspension partition > service >
    application, so its configuration shows the application's; two requests, made only when a declaration
    manages that application's suspension. None when no such partition exists (nothing can show it).
    """
    if app is None:
        return None
    for svc in app.services or ():
        ref = EntityRef(app.name, svc.name)
        if ref in suspended:
            continue
        for partition in svc.partitions if svc.partitions is not None else client.list_partitions(svc.name):
            if EntityRef(app.name, svc.name, partition.id) in suspended:
                continue
            items = client.configuration_info(EntityRef(app.name, svc.name, partition.id))
            return any(i.suspended and i.suspension_inherited_from == "Application" for i in items)
    return None


def _services_or_none(client: Client, app: str) -> list[LiveService] | None:
    try:
        return client.list_services(app)
    except ClusterError as exc:
        if exc.status == 404 and exc.code in _MISSING_ENTITY_CODES:
            return None
        raise


def _partitions_or_none(client: Client, service: str) -> tuple[LivePartition, ...] | None:
    try:
        return tuple(client.list_partitions(service))
    except ClusterError as exc:
        if exc.status == 404 and exc.code in _MISSING_ENTITY_CODES:
            return None
        raise


# --- helpers -------------------------------------------------------------------------------------------------


def _size(limit: int) -> str:
    mib = 1024 * 1024
    return f"{limit // mib} MiB" if limit % mib == 0 else f"{limit:,} bytes"


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError:
        return None


def _attempts_note(attempts: int) -> str:
    return f" (gave up after {attempts} attempts)" if attempts > 1 else ""


def _maybe_done_note(ambiguous: bool) -> str:
    return "; it may have been carried out (its answer was lost)" if ambiguous else ""


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    node: BaseException | None = exc
    while node is not None and node not in chain:
        chain.append(node)
        node = node.__cause__ or node.__context__
    return chain


def _reason(exc: BaseException) -> str:
    deepest = _causes(exc)[-1]
    text = str(deepest) or type(deepest).__name__
    return text.splitlines()[0] if text else type(deepest).__name__


def _host(url: str) -> str:
    return httpx.URL(url).host


def environment_proxy(url: str) -> str | None:
    """The proxy ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` names for ``url``, unless ``NO_PROXY`` exempts it."""
    proxies = urllib.request.getproxies_environment()
    parts = urlsplit(url)
    # proxy_bypass_environment is in every CPython since 2.x, though typeshed leaves it out
    if urllib.request.proxy_bypass_environment(parts.hostname or "", proxies):  # type: ignore[attr-defined]
        return None
    return proxies.get(parts.scheme) or proxies.get("all")


def _sensitive_values(original: Any, resolved: Any, key: str = "") -> list[str]:
    """Values that came from a reference, or sit in a secret field: to be scrubbed from server messages."""
    found: list[str] = []
    if isinstance(original, Mapping) and isinstance(resolved, Mapping):
        for name, value in original.items():
            found.extend(_sensitive_values(value, resolved.get(name), str(name)))
    elif isinstance(original, (list, tuple)) and isinstance(resolved, list):
        for value, out in zip(original, resolved, strict=False):
            found.extend(_sensitive_values(value, out, key))
    elif isinstance(resolved, str) and resolved and (key in SECRET_FIELDS or original != resolved):
        found.append(resolved)
    return found


def _secret_forms(secret: str) -> set[str]:
    """The ways a server may echo a secret: as sent, JSON-escaped (quotes, backslashes, non-ASCII), and the
    value of each ``key=value`` part of a connection string on its own (an AccountKey quoted alone)."""
    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    for part in secret.split(";"):
        value = part.partition("=")[2].strip()
        if len(value) >= 8:
            forms.update((value, json.dumps(value)[1:-1]))
    return forms


def _scrub(message: str, secrets: list[str]) -> str:
    forms = {form for secret in secrets for form in _secret_forms(secret)}
    for secret in sorted(forms, key=len, reverse=True):
        if len(secret) >= 4:
            message = message.replace(secret, "****")
    return message
