"""Kept-alive connections to one cluster: the transport the client sends through when it talks to the network.

httpx's own pool walks every connection under one lock for each request, and its client adds layers (cookies,
redirects, auth flows) sfdeclare never uses. With 16 worker threads under one GIL that cost more CPU per request
than a 20 ms round trip shared by 16 leaves (benchmarks/RESULTS.md). Here a request takes an idle httpcore
connection from a stack (or opens a new one) and its answer puts it back once read to the end: O(1) under the
lock, one connection per request in flight. Errors surface as the httpx exceptions the client already reads.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import httpcore
import httpx

KEEPALIVE_SECONDS = 5.0

# Most specific first: httpcore's classes mirror httpx's, which the client turns into one-line messages.
_ERRORS: tuple[tuple[type[Exception], type[httpx.TransportError]], ...] = (
    (httpcore.ConnectTimeout, httpx.ConnectTimeout),
    (httpcore.ReadTimeout, httpx.ReadTimeout),
    (httpcore.WriteTimeout, httpx.WriteTimeout),
    (httpcore.PoolTimeout, httpx.PoolTimeout),
    (httpcore.ConnectError, httpx.ConnectError),
    (httpcore.ReadError, httpx.ReadError),
    (httpcore.WriteError, httpx.WriteError),
    (httpcore.RemoteProtocolError, httpx.RemoteProtocolError),
    (httpcore.LocalProtocolError, httpx.LocalProtocolError),
    (httpcore.UnsupportedProtocol, httpx.UnsupportedProtocol),
    (httpcore.TimeoutException, httpx.TimeoutException),
    (httpcore.NetworkError, httpx.NetworkError),
    (httpcore.ProtocolError, httpx.ProtocolError),
)


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        for core, mapped in _ERRORS:
            if isinstance(exc, core):
                raise mapped(str(exc)) from exc
        raise


class ConnectionStack(httpx.BaseTransport):
    """Connections to the origin of ``url`` (http or https with ``ssl_context``), at most ``max_idle`` kept."""

    def __init__(self, url: str, *, ssl_context: ssl.SSLContext | None, max_idle: int) -> None:
        parsed = httpx.URL(url)
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        self._origin = httpcore.Origin(parsed.raw_scheme, parsed.raw_host, port)
        self._ssl_context = ssl_context
        self._max_idle = max(1, max_idle)
        self._lock = threading.Lock()
        self._idle: list[httpcore.HTTPConnection] = []
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        connection = self._checkout()
        core = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            with _as_httpx_errors():
                answer = connection.handle_request(core)
        except BaseException:
            connection.close()
            raise
        return httpx.Response(
            status_code=answer.status,
            headers=answer.headers,
            stream=_Body(answer, connection, self),
            extensions=answer.extensions,
        )

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
            self._origin, ssl_context=self._ssl_context, keepalive_expiry=KEEPALIVE_SECONDS
        )

    def release(self, connection: httpcore.HTTPConnection) -> None:
        """Keep a connection whose last answer was read to the end; close any other."""
        if connection.is_available():
            with self._lock:
                if not self._closed and len(self._idle) < self._max_idle:
                    self._idle.append(connection)
                    return
        connection.close()


class _Body(httpx.SyncByteStream):
    """An answer's body; closing it returns the connection to the stack (or closes it if the body was cut short)."""

    def __init__(
        self, answer: httpcore.Response, connection: httpcore.HTTPConnection, stack: ConnectionStack
    ) -> None:
        self._answer = answer
        self._connection = connection
        self._stack = stack
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        with _as_httpx_errors():
            yield from self._answer.iter_stream()

    def close(self) -> None:
        if self._done:
            return
        self._done = True
        try:
            with _as_httpx_errors():
                self._answer.close()
        finally:
            self._stack.release(self._connection)
