"""A chaos HTTP server for tests: a proxy in front of a served emulator that breaks chosen requests.

Each rule matches a method and a path fragment and answers with one fault instead of the emulator's answer:
invalid JSON, an HTML error page, a 200 of the wrong shape, a truncated body, silence, a reset in the middle
of the response, a 400 echoing the request body (or just the AccountKey in it), a reset before any answer, or the emulator's answer lost to
a reset after the emulator carried the request out. Everything else is forwarded. Every request is recorded.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

FAULTS = (
    "invalid_json",
    "html_500",
    "html_502",
    "wrong_shape",
    "truncated",
    "silent",
    "reset_mid_response",
    "echo_400",
    "echo_account_key_400",
    "echo_headers_401",
    "reset_before_answer",
    "forward_then_reset",
    "trickle",
    "trickle_headers",
    "endless_body",
    "redirect_307",
    "hostile_names",
    "hostile_field",
)

_HTML = b"<html><head><title>Bad Gateway</title></head><body><h1>%d</h1><p>nginx</p></body></html>"


@dataclass
class Rule:
    method: str
    path_contains: str
    fault: str
    times: int | None = None  # None: every matching request
    after: int = 0  # let this many matching requests through first

    def __post_init__(self) -> None:
        if self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r}")


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    body: bytes


@dataclass
class _Shared:
    upstream: str | None
    rules: list[Rule]
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    http: httpx.Client | None = None

    def match(self, method: str, path: str) -> str | None:
        with self.lock:
            for rule in self.rules:
                if rule.method == method and rule.path_contains in path and rule.times != 0:
                    if rule.after > 0:
                        rule.after -= 1
                        continue
                    if rule.times is not None:
                        rule.times -= 1
                    return rule.fault
        return None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        shared = self.server.shared
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        with shared.lock:
            shared.received.append(Received(self.command, self.path, body))
        fault = shared.match(self.command, self.path)
        if fault is None:
            self._forward(body)
        else:
            getattr(self, "_" + fault)(body)

    # --- answers -----------------------------------------------------------------------------------------

    def _answer(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _forward(self, body: bytes) -> None:
        shared = self.server.shared
        if shared.http is None:
            self._answer(404, b'{"Error":{"Code":"FABRIC_E_DOES_NOT_EXIST","Message":"no upstream"}}')
            return
        headers = {"Content-Type": "application/json"} if body else {}
        reply = shared.http.request(self.command, self.path, content=body or None, headers=headers)
        self._answer(reply.status_code, reply.content, reply.headers.get("Content-Type", "application/json"))

    def _reset(self) -> None:
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _invalid_json(self, body: bytes) -> None:
        self._answer(200, b'{"ContinuationToken": "", "Items": [{"Name": ')

    def _html_500(self, body: bytes) -> None:
        self._answer(500, _HTML % 500, "text/html")

    def _html_502(self, body: bytes) -> None:
        self._answer(502, _HTML % 502, "text/html")

    def _wrong_shape(self, body: bytes) -> None:
        self._answer(200, json.dumps({"Items": {"Name": "x"}, "ContinuationToken": 7}).encode())

    def _truncated(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "4096")
        self.end_headers()
        self.wfile.write(b'{"ContinuationToken": "", "Items": [')
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_WR)

    def _silent(self, body: bytes) -> None:
        self.server.shared.stopping.wait()
        self.close_connection = True

    def _reset_mid_response(self, body: bytes) -> None:
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Le")
        self._reset()

    def _echo_400(self, body: bytes) -> None:
        message = "The request body is invalid: " + body.decode("utf-8", "replace")
        error = {"Error": {"Code": "FABRIC_E_INVALID_ARGUMENT", "Message": message}}
        self._answer(400, json.dumps(error).encode())

    def _echo_account_key_400(self, body: bytes) -> None:
        found = re.search(rb"AccountKey=([^;\"]+)", body)
        key = found.group(1).decode("utf-8", "replace") if found else "(none)"
        message = f"The AccountKey '{key}' is not a valid base-64 string"
        self._answer(
            400, json.dumps({"Error": {"Code": "FABRIC_E_INVALID_ARGUMENT", "Message": message}}).encode()
        )

    def _echo_headers_401(self, body: bytes) -> None:
        message = f"Access denied for the request with headers {dict(self.headers)}"
        self._answer(
            401, json.dumps({"Error": {"Code": "FABRIC_E_ACCESS_DENIED", "Message": message}}).encode()
        )

    def _reset_before_answer(self, body: bytes) -> None:
        self._reset()

    def _trickle(self, body: bytes) -> None:
        """Headers at once, then one byte of body every 0.2 s: each read is quick, the answer never ends."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.flush()
        try:
            while not self.server.shared.stopping.wait(0.2):
                self.wfile.write(b" ")
                self.wfile.flush()
        except OSError:
            pass
        self.close_connection = True

    def _trickle_headers(self, body: bytes) -> None:
        """A status line, then one byte of an endless header every 0.2 s: each read is quick, no header ends."""
        try:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Padding: ")
            self.wfile.flush()
            while not self.server.shared.stopping.wait(0.2):
                self.wfile.write(b"a")
                self.wfile.flush()
        except OSError:
            pass
        self.close_connection = True

    def _endless_body(self, body: bytes) -> None:
        """A chunked body that never ends, as fast as the client reads it."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunk = b"%x\r\n%s\r\n" % (65536, b"[" * 65536)
        try:
            while not self.server.shared.stopping.is_set():
                self.wfile.write(chunk)
        except OSError:
            pass
        self.close_connection = True

    def _hostile_names(self, body: bytes) -> None:
        """A policy listing whose names carry terminal escapes, bidi overrides and markup."""
        policy = {
            "MaxIncrementalBackups": 3,
            "Schedule": {"ScheduleKind": "FrequencyBased", "Interval": "PT24H"},
            "Storage": {"StorageKind": "AzureBlobStore", "ConnectionString": "****", "ContainerName": "c"},
        }
        names = [
            "Evil\x1b[2J\x1b[31mRED",
            "Bidi\u202eFDP.exe",
            "<script>alert(1)</script>|pipe|",
            "::error::x",
        ]
        items = [{"Name": name, **policy} for name in names]
        self._answer(200, json.dumps({"ContinuationToken": "", "Items": items}).encode())

    def _hostile_field(self, body: bytes) -> None:
        """A well-named policy with a terminal escape in one of its fields."""
        storage = {
            "StorageKind": "AzureBlobStore",
            "ConnectionString": "****",
            "ContainerName": "c\x1b]0;owned\x07",
        }
        policy = {"Name": "Daily", "MaxIncrementalBackups": 3, "Storage": storage}
        self._answer(200, json.dumps({"ContinuationToken": "", "Items": [policy]}).encode())

    def _redirect_307(self, body: bytes) -> None:
        self.send_response(307)
        self.send_header("Location", "http://127.0.0.1:9/stolen" + self.path)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _forward_then_reset(self, body: bytes) -> None:
        shared = self.server.shared
        assert shared.http is not None
        headers = {"Content-Type": "application/json"} if body else {}
        shared.http.request(self.command, self.path, content=body or None, headers=headers)
        self._reset()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    shared: _Shared

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # resets are the point


class FaultyServer:
    """``with FaultyServer(upstream_url, [Rule(...)]) as chaos: ... chaos.url ... chaos.received``."""

    def __init__(self, upstream: str | None, rules: list[Rule] | None = None) -> None:
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.shared = _Shared(upstream, list(rules or []))
        if upstream is not None:
            self._server.shared.http = httpx.Client(base_url=upstream, timeout=30, trust_env=False)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def received(self) -> list[Received]:
        with self._server.shared.lock:
            return list(self._server.shared.received)

    def __enter__(self) -> FaultyServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shared.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        if self._server.shared.http is not None:
            self._server.shared.http.close()
