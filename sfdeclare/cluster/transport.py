"""Exchanges with one cluster: a request out, its whole answer back, within a deadline and a size limit.

Two ways to exchange, one interface for the client:

- ``ConnectionStack``: the client's own kept-alive httpcore connections, for every http(s) endpoint reached
  without a proxy. httpx's client and pool cost more CPU per request (layers sfdeclare never uses, and a pool
  that walks every connection under one lock) than 16 requests sharing a 20 ms round trip under one GIL can
  afford (benchmarks/RESULTS.md). Here a request takes an idle connection from a stack, or opens one, and
  gives it back once its answer is read to the end.
- ``TransportExchange``: over any httpx transport (a proxy from the environment, the in-process emulator,
  tests' ``httpx.MockTransport``).

A failed exchange raises the library's own exception (httpcore's from the stack, httpx's from a transport; a
deadline passed while reading the body is httpx.ReadTimeout), which failures.py turns into one line, or
``AnswerTooLarge``.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

import httpcore
import httpx

KEEPALIVE_SECONDS = 5.0


@dataclass(frozen=True)
class Answer:
    """A whole answer: status, raw header pairs, body."""

    status: int
    headers: Sequence[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode("latin-1")
        for key, value in self.headers:
            if key.lower() == wanted:
                return value.decode("latin-1")
        return None


@dataclass(frozen=True)
class Outgoing:
    """One request: ``target`` is the path and query, already quoted; the whole answer is due by ``deadline``
    (time.monotonic()) and may hold at most ``max_bytes``."""

    method: str
    target: str
    headers: Sequence[tuple[str, str]]
    content: bytes | None
    deadline: float
    max_bytes: int


class AnswerTooLarge(Exception):
    """The answer's body exceeded the size limit; it was not read further."""

    def __init__(self, status: int) -> None:
        super().__init__(f"answer with status {status} exceeds the size limit")
        self.status = status


class Exchange(Protocol):
    def exchange(self, outgoing: Outgoing) -> Answer:
        """Send one request and return its whole answer."""
        ...

    def close(self) -> None: ...


def read_within(chunks: Iterable[bytes], status: int, outgoing: Outgoing) -> bytes:
    """A body read to the end by the request's deadline and within its size limit: a server trickling a byte at
    a time passes every per-read timeout, so the answer as a whole has one."""
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > outgoing.max_bytes:
            raise AnswerTooLarge(status)
        if time.monotonic() > outgoing.deadline:
            raise httpx.ReadTimeout("the answer did not complete in time")
        parts.append(chunk)
    return b"".join(parts)


# The deadline of the answer the current thread is waiting for (time.monotonic()), read by every socket call.
_DEADLINE: ContextVar[float | None] = ContextVar("sfdeclare_answer_deadline", default=None)


def _left(timeout: float | None, expired: type[Exception]) -> float | None:
    """``timeout`` shortened to what is left before the deadline: httpcore times each socket call on its own, so
    a server sending one byte of header at a time would otherwise never be cut off."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise expired("the answer did not complete in time")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, _left(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's own sockets, each call bounded by the deadline of the answer it serves."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_tcp(host, port, timeout, local_address, socket_options))

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        timeout = _left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class ConnectionStack:
    """Kept-alive connections to the origin of ``url`` (http, or https with ``ssl_context``); at most
    ``max_idle`` are kept between requests. ``timeouts`` are httpcore's connect / read / write / pool seconds."""

    def __init__(
        self,
        url: str,
        *,
        ssl_context: ssl.SSLContext | None,
        max_idle: int,
        timeouts: Mapping[str, float],
    ) -> None:
        parsed = httpx.URL(url)
        self._scheme = parsed.raw_scheme
        self._host = parsed.raw_host
        self._port = parsed.port or (443 if parsed.scheme == "https" else 80)
        self._prefix = parsed.raw_path.rstrip(b"/").decode("ascii")
        self._host_header = parsed.netloc  # host[:port], the port only when it is not the scheme's default
        self._origin = httpcore.Origin(self._scheme, self._host, self._port)
        self._ssl_context = ssl_context
        self._max_idle = max(1, max_idle)
        self._extensions = {"timeout": dict(timeouts)}
        self._lock = threading.Lock()
        self._idle: list[httpcore.HTTPConnection] = []
        self._closed = False
        self._backend = _DeadlineBackend()

    def exchange(self, outgoing: Outgoing) -> Answer:
        # targets are built from percent-encoded segments (routes.quote_segment), and the prefix comes from httpx
        full = (self._prefix + outgoing.target).encode("ascii")
        raw_headers = [(b"Host", self._host_header), *((k.encode(), v.encode()) for k, v in outgoing.headers)]
        if outgoing.content is not None:
            raw_headers.append((b"Content-Length", str(len(outgoing.content)).encode()))
        request = httpcore.Request(
            method=outgoing.method,
            url=httpcore.URL(scheme=self._scheme, host=self._host, port=self._port, target=full),
            headers=raw_headers,
            content=outgoing.content,
            extensions=self._extensions,
        )
        connection = self._checkout()
        bounded = _DEADLINE.set(outgoing.deadline)
        try:
            answer = connection.handle_request(request)
            try:
                body = read_within(answer.iter_stream(), answer.status, outgoing)
            finally:
                answer.close()
        except BaseException:
            connection.close()
            raise
        finally:
            _DEADLINE.reset(bounded)
        self._release(connection)
        return Answer(answer.status, answer.headers, body)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
            self._closed = True
        for connection in idle:
            connection.close()

    def _checkout(self) -> httpcore.HTTPConnection:
        stale: list[httpcore.HTTPConnection] = []
        found: httpcore.HTTPConnection | None = None
        with self._lock:
            while self._idle:
                candidate = self._idle.pop()
                # has_expired: idle past the keep-alive, or the server closed it (its socket reads as EOF)
                if candidate.has_expired():
                    stale.append(candidate)
                else:
                    found = candidate
                    break
        for connection in stale:
            connection.close()
        if found is not None:
            return found
        return httpcore.HTTPConnection(
            self._origin,
            ssl_context=self._ssl_context,
            keepalive_expiry=KEEPALIVE_SECONDS,
            network_backend=self._backend,
        )

    def _release(self, connection: httpcore.HTTPConnection) -> None:
        """Keep a connection whose answer was read to the end and that the server left open."""
        if connection.is_available():
            with self._lock:
                if not self._closed and len(self._idle) < self._max_idle:
                    self._idle.append(connection)
                    return
        connection.close()


class TransportExchange:
    """Exchanges through an httpx transport, with ``base_url`` in front of every target."""

    def __init__(
        self, transport: httpx.BaseTransport, base_url: str, *, timeouts: Mapping[str, float]
    ) -> None:
        self._transport = transport
        self._base_url = base_url
        self._extensions = {"timeout": dict(timeouts)}

    def exchange(self, outgoing: Outgoing) -> Answer:
        request = httpx.Request(
            outgoing.method,
            self._base_url + outgoing.target,
            headers=outgoing.headers,
            content=outgoing.content,
            extensions=self._extensions,
        )
        response = self._transport.handle_request(request)
        response.request = request
        try:
            body = read_within(response.iter_bytes(), response.status_code, outgoing)
        finally:
            response.close()
        return Answer(response.status_code, response.headers.raw, body)

    def close(self) -> None:
        self._transport.close()
