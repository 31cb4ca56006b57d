"""The REST client: sending a request (with retries), paging, and the typed calls the tool makes.

The Client sends through an Exchange (transport.py) that opener.py opens from the endpoint, cluster.tls and the
environment, or through any httpx transport it is given (the in-process emulator, tests' MockTransport).
Failures from below become one ClusterRequestError line each (failures.py), with every secret of the request
scrubbed (redact.py); no message ever holds a request or response body. Reading a whole live state is read.py.

Two durations are kept apart: ``timeout`` is the whole seconds the cluster is told to spend on a call (its
``timeout=`` query parameter), ``wait`` how long the client waits for the answer (by default that plus a grace,
answer_timeout).

Over 400 lines on purpose: the send loop and about thirty typed calls of a few lines each are one interface;
opening, failures, secrets, Entra tokens, refusal probes and whole reads already live in their own modules.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from sfdeclare import __version__
from sfdeclare.cluster import failures
from sfdeclare.cluster.credentials import static_token
from sfdeclare.cluster.endpoint import Endpoint, parse_endpoint
from sfdeclare.cluster.entra import EntraTokens
from sfdeclare.cluster.opener import open_exchange
from sfdeclare.cluster.redact import scrub, sensitive_values
from sfdeclare.cluster.refusals import RefusalProbe
from sfdeclare.cluster.retry import RetryPolicy, parse_retry_after
from sfdeclare.cluster.transport import AnswerTooLarge, Exchange, Outgoing, TransportExchange
from sfdeclare.errors import AuthError, ClusterError, ClusterRequestError
from sfdeclare.model import references
from sfdeclare.model.addresses import EntityRef
from sfdeclare.model.declaration import ClusterSettings
from sfdeclare.model.live import LiveApplication, LivePartition, LiveService
from sfdeclare.servicefabric import codes, replies, routes
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
    date: str | None = None  # the answer's Date header: the cluster's clock (status reads it)


def _stderr_warn(message: str) -> None:
    print(message, file=sys.stderr)


class Client:
    """A pooled, thread-safe connection to one cluster (or to the emulator, in-process or served).

    ``timeout`` is the cluster's per-call timeout in whole seconds (sent with every request); ``wait`` how long
    to wait for each answer (default answer_timeout(timeout)).
    """

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
        wait: float | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings or ClusterSettings()
        self.base_dir = base_dir
        self.env: Mapping[str, str] = os.environ if env is None else env
        self.retry = retry or RetryPolicy()
        self.api = ApiOptions.from_settings(self.settings, timeout)
        self.endpoint: Endpoint = parse_endpoint(endpoint, base_dir=".")
        self.wait = answer_timeout(timeout) if wait is None else wait
        warn = warn or _stderr_warn
        self._lock = threading.Lock()
        self._requests = 0
        self._version: list[str | None] = []  # GetClusterVersion's answer, once read
        headers = [("Accept", "application/json"), ("User-Agent", f"sfdeclare/{__version__}")]
        token = static_token(
            self.settings, env=self.env, base_dir=base_dir, endpoint=self.endpoint, warn=warn
        )
        self._credentials: list[str] = []  # scrubbed from every message, like the secrets of a request body
        if token is not None:
            headers.append(("Authorization", f"Bearer {token}"))
            self._credentials.append(token)
        self._headers = headers
        self._tokens: EntraTokens | None = None
        if self.settings.auth is not None:
            self._tokens = EntraTokens(
                self.settings.auth, env=self.env, base_dir=base_dir, discover=self._discover_aad
            )
            if not self.endpoint.is_https and self.endpoint.kind == "http":
                warn(f"warning: sending Entra ID tokens over plain http to {self.endpoint.url}")
        self._refusals = RefusalProbe(lambda probe: self.send(probe, diagnose=False), self.api)
        timeouts = {"connect": CONNECT_TIMEOUT, "read": self.wait, "write": self.wait, "pool": self.wait}
        self._exchange: Exchange = (
            TransportExchange(transport, self.endpoint.url, timeouts=timeouts)
            if transport is not None
            else open_exchange(
                self.endpoint,
                self.settings,
                base_dir=base_dir,
                env=self.env,
                warn=warn,
                size=max(1, parallelism),
                timeouts=timeouts,
            )
        )
        if self._tokens is not None:
            try:
                self._tokens.authorization()  # discover and sign in now: a refusal is one line before any read
            except BaseException:
                self.close()
                raise

    def _discover_aad(self) -> replies.AadMetadata | None:
        req = routes.get_aad_metadata(self.api)
        reply = self.send(req, anonymous=True, diagnose=False)
        return replies.parse_aad_metadata(reply.body, req.operation, reply.status)

    def credential(self) -> str:
        """The credential requests carry, as messages name it (references and paths, never values)."""
        parts = []
        if self._tokens is not None:
            parts.append(f"the {self._tokens.describe()} token")
        elif self.settings.token:
            parts.append(f"the bearer token cluster.token ({self.settings.token})")
        if self.endpoint.is_https and self.settings.tls.client_cert:
            parts.append(f"the client certificate {self.settings.tls.client_cert}")
        return (
            " and ".join(parts)
            or "a caller without credentials (set cluster.tls.client_cert or cluster.auth)"
        )

    # --- lifecycle -------------------------------------------------------------------------------------------

    @property
    def requests(self) -> int:
        """HTTP requests made so far (every attempt counts)."""
        with self._lock:
            return self._requests

    def close(self) -> None:
        if self._tokens is not None:
            self._tokens.close()
        self._exchange.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # --- sending ---------------------------------------------------------------------------------------------

    def send(
        self,
        req: WireRequest,
        *,
        secrets_env: Mapping[str, str] | None = None,
        anonymous: bool = False,
        diagnose: bool = True,
    ) -> Reply:
        """Send one request (retrying transient failures) and return its 2xx Reply; raise ClusterRequestError.

        ``${env:...}`` / ``${file:...}`` references in the body are resolved here, from ``secrets_env`` (or the
        client's environment); their values never reach an error message. ``anonymous`` sends no bearer token
        (GetAadMetadata); ``diagnose`` probes, after a 403, what else the cluster refuses (failures.py).
        """
        content: bytes | None = None
        secrets: list[str] = list(self._credentials)
        if req.body is not None:
            resolved = references.resolve_tree(
                dict(req.body), env=self.env if secrets_env is None else secrets_env, base_dir=self.base_dir
            )
            secrets += sensitive_values(req.body, resolved)
            content = json.dumps(resolved, separators=(",", ":")).encode()
        headers = (
            [*self._headers, ("Content-Type", "application/json")] if content is not None else self._headers
        )
        target = req.path + ("?" + urlencode(req.query, quote_via=quote) if req.query else "")
        started = self.retry.clock()
        attempt = 0
        ambiguous = False
        refreshed = False
        while True:
            attempt += 1
            sent_headers = headers
            if self._tokens is not None and not anonymous:
                try:
                    sent_headers = [*headers, ("Authorization", self._tokens.authorization())]
                except AuthError as exc:
                    raise ClusterRequestError(req.operation, str(exc), attempts=attempt) from None
                secrets = [*secrets, *self._tokens.secrets]
            with self._lock:
                self._requests += 1
            try:
                answer = self._exchange.exchange(
                    Outgoing(
                        req.method,
                        target,
                        sent_headers,
                        content,
                        deadline=time.monotonic() + self.wait,
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
            except failures.TRANSPORT_ERRORS as exc:
                failure = failures.describe_transport_error(
                    exc,
                    where=self.endpoint.url,
                    tls=self.settings.tls,
                    connect_timeout=CONNECT_TIMEOUT,
                    wait=self.wait,
                )
                ambiguous = ambiguous or (failure.maybe_sent and req.method != "GET")
                delay = self.retry.next_delay(attempt, started, None) if failure.retryable else None
                if delay is None:
                    raise ClusterRequestError(
                        req.operation,
                        scrub(
                            failure.message
                            + failures.attempts_note(attempt)
                            + failures.maybe_done_note(ambiguous),
                            secrets,
                        ),
                        transient=failure.retryable,
                        attempts=attempt,
                        ambiguous=ambiguous,
                    ) from None
                self.retry.sleep(delay)
                continue
            status, raw = answer.status, answer.body
            if 200 <= status < 300:
                body = self._parse_body(raw, req.operation, status)
                return Reply(status, body, attempt, ambiguous, answer.header("Date"))
            error = replies.parse_fabric_error(_loads(raw))
            code = error.code if error else None
            if status == 401 and self._tokens is not None and not anonymous and not refreshed:
                refreshed = True  # a token the cluster refuses (revoked, clock skew): one new one, at once
                self._tokens.invalidate()
                continue
            transient = codes.is_transient(status, code)
            ambiguous = ambiguous or (codes.is_ambiguous(status, code) and req.method != "GET")
            delay = None
            if transient:
                retry_after = parse_retry_after(answer.header("Retry-After"))
                delay = self.retry.next_delay(attempt, started, retry_after)
            if delay is None:
                if status in (401, 403) and diagnose:
                    reads_ok, backup_reads_ok = self._refusals.probe(req) if status == 403 else (None, None)
                    message = failures.refusal_message(
                        status,
                        error,
                        challenge=answer.header("WWW-Authenticate"),
                        credential=self.credential(),
                        write=req.method != "GET",
                        backup_route=routes.is_backup_route(req),
                        reads_ok=reads_ok,
                        backup_reads_ok=backup_reads_ok,
                    )
                else:
                    message = failures.http_error_message(
                        status, error, dict(req.query).get("api-version", "")
                    )
                notes = (
                    failures.attempts_note(attempt) + failures.maybe_done_note(ambiguous) if transient else ""
                )
                raise ClusterRequestError(
                    req.operation,
                    scrub(message + notes, secrets),
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

    def use_settings(self, settings: ClusterSettings) -> None:
        """Speak with ``settings`` from now on (the api-version and ValidateConnection a runtime decides)."""
        self.settings = settings
        self.api = ApiOptions.from_settings(settings, self.api.timeout)
        self._refusals = RefusalProbe(lambda probe: self.send(probe, diagnose=False), self.api)

    # --- the runtime -----------------------------------------------------------------------------------------

    def cluster_version(self) -> str | None:
        """The cluster's runtime build (GetClusterVersion), read once per client and then remembered; None when
        the cluster does not serve the route (a runtime before 6.4). An unknown route is a 404 on the emulator
        and, as sfdeclare assumes, on a gateway; 400 FABRIC_E_INVALID_ADDRESS is how the server maps that code."""
        if self._version:
            return self._version[0]
        req = routes.get_cluster_version(self.api)
        try:
            reply = self.send(req)
        except ClusterError as exc:
            if exc.status == 404 or (exc.status == 400 and exc.code == codes.INVALID_ADDRESS):
                self._version.append(None)
                return None
            raise
        version = replies.parse_cluster_version(reply.body, req.operation, reply.status)
        self._version.append(version)
        return version

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
            if exc.status == 404 and exc.code == codes.POLICY_DOES_NOT_EXIST:
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
            if exc.status == 404 and exc.code == codes.BACKUP_NOT_ENABLED:
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


def _size(limit: int) -> str:
    mib = 1024 * 1024
    return f"{limit // mib} MiB" if limit % mib == 0 else f"{limit:,} bytes"


def _loads(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError:
        return None
