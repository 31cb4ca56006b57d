"""The emulator's HTTP/1.1 connection handler: request line, headers, body, keep-alive, answers and the chaos
faults that act on the connection itself. Hand-written over socketserver because http.server's header parsing
cost more CPU than the whole emulator per request; bounded everywhere (line and header sizes, body size, idle
and handshake time), so a hostile client cannot hold it.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
import time
from email.utils import formatdate
from http import HTTPStatus
from socketserver import StreamRequestHandler, ThreadingTCPServer
from typing import Any

from sfdeclare.emulator import fabric_errors as fe
from sfdeclare.emulator.app import MAX_BODY_BYTES, EmulatorApp, Request, Response, error_response
from sfdeclare.emulator.chaos import Chaos
from sfdeclare.emulator.fabric_errors import FabricFault

IDLE_TIMEOUT_SECONDS = 60.0
HANDSHAKE_TIMEOUT_SECONDS = 10.0
DRAIN_LIMIT_BYTES = 16 * 1024 * 1024
MAX_LINE_BYTES = 65536
MAX_HEADERS = 100
_date_cache: tuple[int, str] = (0, "")


def _http_date() -> str:
    """The Date header, formatted once a second rather than once a request."""
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


LINGER_SECONDS = 1.0
LINGER_BYTES = 8 * 1024 * 1024


class _BadRequest(Exception):
    """The request cannot be parsed; the connection is answered once and closed."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Handler(StreamRequestHandler):
    """A small HTTP/1.1 server side: request line, headers, a Content-Length or chunked body, keep-alive.

    Written out rather than taken from http.server because its e-mail based header parsing costs more than
    the whole emulator application per request.
    """

    timeout = IDLE_TIMEOUT_SECONDS
    disable_nagle_algorithm = True
    server: HTTPServer

    def handle(self) -> None:
        keep_alive = True
        while keep_alive:
            try:
                keep_alive = self._one_request()
            except _BadRequest as bad:
                fault = FabricFault(fe.INVALID_ARG, bad.message, status=bad.status)
                self._send(error_response(fault), method="", close=True)
                self._linger()
                return
            except (OSError, TimeoutError):
                return

    def _one_request(self) -> bool:
        line = self.rfile.readline(MAX_LINE_BYTES + 1)
        if not line:
            return False
        if len(line) > MAX_LINE_BYTES:
            raise _BadRequest(414, "Request line too long.")
        parts = line.decode("latin-1").split()
        if not parts:
            return True  # a stray empty line between requests
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise _BadRequest(400, "Malformed request line.")
        method, target, version = parts
        headers = self._headers()
        connection = headers.get("connection", "").lower()
        keep_alive = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
        try:
            body = self._body(headers)
        except FabricFault as fault:
            self._send(error_response(fault), method, close=True)
            self._linger()
            return False
        peer = (
            self.connection.getpeercert(binary_form=True)
            if isinstance(self.connection, ssl.SSLSocket)
            else None
        )
        request = Request(method, target, headers, body, client_certificate=peer)
        chaos = self.server.chaos
        rule = chaos.match(request) if chaos is not None else None
        if chaos is not None and rule is not None and not rule.carries_out:
            return chaos.act(rule, request, None, _Wire(self, method))
        response = self.server.app.handle(request)
        if response.reset:
            self._reset()
            return False
        if chaos is not None and rule is not None:
            return chaos.act(rule, request, response, _Wire(self, method))
        self._send(response, method, close=not keep_alive)
        return keep_alive

    def _linger(self) -> None:
        """After answering a request it did not read whole, read (a bounded amount of) what the client still
        sends before closing: closing with unread input resets the connection, and a reset can destroy the
        answer before the client reads it."""
        try:
            self.connection.shutdown(socket.SHUT_WR)
            self.connection.settimeout(LINGER_SECONDS)
            drained = 0
            while drained < LINGER_BYTES:
                chunk = self.connection.recv(65536)
                if not chunk:
                    break
                drained += len(chunk)
        except OSError:
            pass

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS + 1):
            line = self.rfile.readline(MAX_LINE_BYTES + 1)
            if len(line) > MAX_LINE_BYTES:
                raise _BadRequest(431, "Request header too long.")
            if line in (b"\r\n", b"\n", b""):
                return headers
            name, sep, value = line.decode("latin-1").partition(":")
            if not sep or not name.strip():
                raise _BadRequest(400, "Malformed request header.")
            key = name.strip().lower()
            headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
        raise _BadRequest(431, "Too many request headers.")

    def _body(self, headers: dict[str, str]) -> bytes:
        if headers.get("expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        raw = headers.get("content-length")
        if raw is None:
            return b""
        try:
            length = int(raw)
        except ValueError:
            raise _BadRequest(400, "Invalid Content-Length header.") from None
        if length < 0:
            raise _BadRequest(400, "Invalid Content-Length header.")
        if length > MAX_BODY_BYTES:
            if length <= DRAIN_LIMIT_BYTES:
                self._discard(length)  # so the client, still sending, reads the answer instead of a reset
            raise FabricFault(fe.INVALID_ARG, f"The request body exceeds {MAX_BODY_BYTES} bytes.", status=413)
        body = self.rfile.read(length)
        if len(body) < length:
            raise OSError("the client closed the connection mid-body")
        return body

    def _discard(self, length: int) -> None:
        while length > 0:
            chunk = self.rfile.read(min(length, 65536))
            if not chunk:
                return
            length -= len(chunk)

    def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadRequest(400, "Invalid chunked request body.") from None
            if size == 0:
                while self.rfile.readline(1024).strip():
                    pass  # trailers
                return bytes(body)
            if len(body) + size > MAX_BODY_BYTES:
                raise FabricFault(
                    fe.INVALID_ARG, f"The request body exceeds {MAX_BODY_BYTES} bytes.", status=413
                )
            body += self.rfile.read(size)
            self.rfile.readline(1024)

    def _send(self, response: Response, method: str, *, close: bool, limit: int | None = None) -> None:
        """Status line, headers and body in one write: one segment for small answers, no Nagle stalls."""
        lines = [
            f"HTTP/1.1 {response.status} {_reason(response.status)}",
            "Server: sfdeclare-emulator",
            *(() if any(n == "Date" for n, _ in response.headers) else (f"Date: {_http_date()}",)),
            *(f"{name}: {value}" for name, value in response.headers),
            f"Content-Length: {len(response.body)}",
        ]
        if close:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        body = response.body if limit is None else response.body[:limit]
        self.wfile.write(head if method == "HEAD" else head + body)

    def _reset(self) -> None:
        """Abort the connection with a TCP reset instead of an answer."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass


class _Wire:
    """The handler's connection as the chaos faults act on it (``chaos.Wire``)."""

    def __init__(self, handler: Handler, method: str) -> None:
        self._handler = handler
        self._method = method

    def answer(self, response: Response, *, close: bool = False, limit: int | None = None) -> None:
        self._handler._send(response, self._method, close=close, limit=limit)

    def write(self, data: bytes) -> None:
        self._handler.wfile.write(data)

    def reset(self) -> None:
        self._handler._reset()


class HTTPServer(ThreadingTCPServer):
    """The listening socket: threads per connection, TLS wrapped per connection, connections tracked so that
    stopping the server ends them."""

    daemon_threads = True
    # socketserver's default of 5 overflows when a client opens its whole pool at once; the kernel then drops
    # the SYNs and the client waits a second to retransmit.
    request_queue_size = 128
    block_on_close = False
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        app: EmulatorApp,
        tls: ssl.SSLContext | None,
        family: int,
        chaos: Chaos | None = None,
    ) -> None:
        self.address_family = family
        self.app = app
        self.tls = tls
        self.chaos = chaos
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(address, Handler)

    def get_request(self) -> tuple[Any, Any]:
        sock, address = super().get_request()
        if self.tls is not None:
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        with self._connections_lock:
            self._connections.add(sock)
        return sock, address

    def finish_request(self, request: Any, client_address: Any) -> None:
        if isinstance(request, ssl.SSLSocket):
            try:
                request.settimeout(HANDSHAKE_TIMEOUT_SECONDS)
                request.do_handshake()
            except (OSError, ssl.SSLError):
                return  # refused (e.g. no client certificate): the client sees the TLS alert
        super().finish_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that went away mid-request is not the server's error

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for sock in connections:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
