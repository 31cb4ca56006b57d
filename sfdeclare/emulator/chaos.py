"""One chaos mechanism: rules that make the served emulator misbehave at the HTTP level, to test a client's
error handling.

A ``Rule`` matches a method (``*`` for any) and a path fragment and acts out one fault in place of the
emulator's answer: invalid JSON, an HTML error page, valid JSON of the wrong shape, a truncated body, silence,
a reset, a 400/401 that echoes the request back, an answer that trickles or never ends, a redirect, hostile
names. Whether the emulator carries the request out first is the rule's ``carry_out``: without it the fault
answers instead and the state is untouched (a broken proxy); with it the state may change although the answer
is lost or damaged (a dying server), the ambiguity a real client faces. Each fault has its own default for it:
only ``forward_then_reset`` carries the request out.

``emulator serve --chaos MODE`` is one rule that matches every request and carries it out (``modes.py`` names
the fault of each mode); tests attach rules to a running server and read back what it received. Control paths
(``/$/Emulator/...``) never misbehave. A fault that waits (``silent``, the trickles, an endless body) waits until
the chaos is released: when it is lifted, or the emulator stops.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Protocol

from sfdeclare.emulator.app import Request, Response
from sfdeclare.emulator.modes import CHAOS_MODES, MODE_FAULTS

_JSON = (("Content-Type", "application/json; charset=utf-8"),)
_CONTROL_PREFIX = "/$/emulator"
_TRICKLE_SECONDS = 0.2


class Wire(Protocol):
    """The connection a fault acts on (the emulator's HTTP handler)."""

    def answer(self, response: Response, *, close: bool = False, limit: int | None = None) -> None:
        """Send a whole answer; with ``limit``, announce the whole body but send only that many bytes of it."""

    def write(self, data: bytes) -> None:
        """Send raw bytes."""

    def reset(self) -> None:
        """Abort the connection with a TCP reset."""


@dataclass(frozen=True)
class Exchange:
    request: Request
    answer: Response | None  # the emulator's, when it carried the request out
    wire: Wire
    released: threading.Event


Fault = Callable[[Exchange], bool]  # acts the fault out; True: the connection stays open


def _status(x: Exchange) -> int:
    return x.answer.status if x.answer is not None else 200


def _invalid_json(x: Exchange) -> bool:
    x.wire.answer(Response(_status(x), _JSON, b'{"Items": [{"Name": "p1",'))
    return True


def _html_page(status: int) -> bytes:
    phrase = HTTPStatus(status).phrase
    return (
        f"<!DOCTYPE html><html><head><title>{status} {phrase}</title></head>"
        f"<body><h1>{phrase}</h1><p>The proxy received an invalid response.</p></body></html>"
    ).encode()


def _html(status: int) -> Fault:
    def fault(x: Exchange) -> bool:
        x.wire.answer(Response(status, (("Content-Type", "text/html"),), _html_page(status)))
        return True

    return fault


def _wrong_shape(x: Exchange) -> bool:
    status = _status(x)
    if status >= 400:
        x.wire.answer(Response(status, _JSON, b'{"Error": "something went wrong"}'))
    else:
        x.wire.answer(Response(status, _JSON, b'{"ContinuationToken": 7, "Items": {"Name": 1}}'))
    return True


def _half(x: Exchange) -> None:
    """Announce the whole body, send half of it and end the answer with ``Connection: close``."""
    answer = x.answer or Response(200, _JSON)
    whole = answer.body or b'{"Error":{"Code":"E_UNEXPECTED","Message":"partial"}}'
    x.wire.answer(Response(answer.status, answer.headers, whole), close=True, limit=len(whole) // 2)


def _truncated(x: Exchange) -> bool:
    _half(x)
    return False


def _reset_mid_response(x: Exchange) -> bool:
    _half(x)
    x.wire.reset()
    return False


def _silent(x: Exchange) -> bool:
    x.released.wait()
    return False


def _error(x: Exchange, status: int, code: str, message: str) -> bool:
    body = json.dumps({"Error": {"Code": code, "Message": message}}).encode()
    x.wire.answer(Response(status, _JSON, body))
    return True


def _echo_400(x: Exchange) -> bool:
    message = "The request body is invalid: " + x.request.body.decode("utf-8", "replace")
    return _error(x, 400, "FABRIC_E_INVALID_ARGUMENT", message)


def _echo_account_key_400(x: Exchange) -> bool:
    found = re.search(rb"AccountKey=([^;\"]+)", x.request.body)
    key = found.group(1).decode("utf-8", "replace") if found else "(none)"
    return _error(
        x, 400, "FABRIC_E_INVALID_ARGUMENT", f"The AccountKey '{key}' is not a valid base-64 string"
    )


def _echo_headers_401(x: Exchange) -> bool:
    message = f"Access denied for the request with headers {dict(x.request.headers)}"
    return _error(x, 401, "FABRIC_E_ACCESS_DENIED", message)


def _reset(x: Exchange) -> bool:
    x.wire.reset()
    return False


def _drip(x: Exchange, head: bytes, drop: bytes) -> bool:
    """``head`` at once, then ``drop`` every 0.2 s until released: each read is quick, the answer never ends."""
    try:
        x.wire.write(head)
        while not x.released.wait(_TRICKLE_SECONDS):
            x.wire.write(drop)
    except OSError:
        pass
    return False


def _trickle(x: Exchange) -> bool:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    return _drip(x, head, b" ")


def _trickle_headers(x: Exchange) -> bool:
    return _drip(x, b"HTTP/1.1 200 OK\r\nX-Padding: ", b"a")


def _endless_body(x: Exchange) -> bool:
    """A chunked body that never ends, as fast as the client reads it."""
    chunk = b"%x\r\n%s\r\n" % (65536, b"[" * 65536)
    try:
        x.wire.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        while not x.released.is_set():
            x.wire.write(chunk)
    except OSError:
        pass
    return False


def _redirect_307(x: Exchange) -> bool:
    x.wire.answer(Response(307, (("Location", "http://127.0.0.1:9/stolen" + x.request.target),)))
    return True


def _listing(x: Exchange, items: list[dict[str, object]]) -> bool:
    x.wire.answer(Response(200, _JSON, json.dumps({"ContinuationToken": "", "Items": items}).encode()))
    return True


def _hostile_names(x: Exchange) -> bool:
    """A policy listing whose names carry terminal escapes, bidi overrides and markup."""
    policy = {
        "MaxIncrementalBackups": 3,
        "Schedule": {"ScheduleKind": "FrequencyBased", "Interval": "PT24H"},
        "Storage": {"StorageKind": "AzureBlobStore", "ConnectionString": "****", "ContainerName": "c"},
    }
    names = ["Evil\x1b[2J\x1b[31mRED", "Bidi\u202eFDP.exe", "<script>alert(1)</script>|pipe|", "::error::x"]
    return _listing(x, [{"Name": name, **policy} for name in names])


def _hostile_field(x: Exchange) -> bool:
    """A well-named policy with a terminal escape in one of its fields."""
    storage = {
        "StorageKind": "AzureBlobStore",
        "ConnectionString": "****",
        "ContainerName": "c\x1b]0;owned\x07",
    }
    return _listing(x, [{"Name": "Daily", "MaxIncrementalBackups": 3, "Storage": storage}])


FAULTS: dict[str, Fault] = {
    "invalid_json": _invalid_json,
    "html_500": _html(500),
    "html_502": _html(502),
    "wrong_shape": _wrong_shape,
    "truncated": _truncated,
    "silent": _silent,
    "reset_mid_response": _reset_mid_response,
    "echo_400": _echo_400,
    "echo_account_key_400": _echo_account_key_400,
    "echo_headers_401": _echo_headers_401,
    "reset_before_answer": _reset,
    "forward_then_reset": _reset,  # the same reset, after the emulator carried the request out
    "trickle": _trickle,
    "trickle_headers": _trickle_headers,
    "endless_body": _endless_body,
    "redirect_307": _redirect_307,
    "hostile_names": _hostile_names,
    "hostile_field": _hostile_field,
}
_CARRIED_OUT_BY_DEFAULT = frozenset({"forward_then_reset"})


@dataclass(frozen=True)
class Rule:
    method: str  # "*": any
    path_contains: str  # a fragment of the path and query as sent; "" matches every request
    fault: str
    times: int | None = None  # None: every matching request
    after: int = 0  # let this many matching requests through first
    carry_out: bool | None = None  # None: the fault's default (only forward_then_reset carries out)

    def __post_init__(self) -> None:
        if self.fault not in FAULTS:
            raise ValueError(f"unknown fault {self.fault!r} (expected one of: {', '.join(FAULTS)})")
        if (self.times is not None and self.times < 0) or self.after < 0:
            raise ValueError("a rule's times and after must not be negative")

    @property
    def carries_out(self) -> bool:
        return self.fault in _CARRIED_OUT_BY_DEFAULT if self.carry_out is None else self.carry_out

    def matches(self, method: str, target: str) -> bool:
        return self.method in ("*", method) and self.path_contains in target


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    body: bytes


def check_mode(mode: str | None) -> None:
    if mode is not None and mode not in CHAOS_MODES:
        raise ValueError(f"unknown chaos mode '{mode}' (expected one of: {', '.join(CHAOS_MODES)})")


class Chaos:
    """Rules in order (the first that matches and has times left wins) and, with ``record``, every request
    seen while attached. Thread-safe: the server's handlers match concurrently."""

    def __init__(self, rules: Iterable[Rule] = (), *, record: bool = False) -> None:
        self.rules = tuple(rules)
        self._times = [rule.times for rule in self.rules]
        self._after = [rule.after for rule in self.rules]
        self._record = record
        self._received: list[Received] = []
        self._lock = threading.Lock()
        self.released = threading.Event()

    @classmethod
    def from_mode(cls, mode: str) -> Chaos:
        """``--chaos MODE``: its fault, on every request, after the emulator carried the request out."""
        check_mode(mode)
        return cls([Rule("*", "", MODE_FAULTS[mode], carry_out=True)])

    def match(self, request: Request) -> Rule | None:
        """The rule that acts on this request (counting it), or None: the emulator answers as itself."""
        with self._lock:
            if self._record:
                self._received.append(Received(request.method, request.target, request.body))
            if request.target.lower().startswith(_CONTROL_PREFIX):
                return None
            for i, rule in enumerate(self.rules):
                if self._times[i] == 0 or not rule.matches(request.method, request.target):
                    continue
                if self._after[i] > 0:
                    self._after[i] -= 1
                    continue
                times = self._times[i]
                if times is not None:
                    self._times[i] = times - 1
                return rule
        return None

    def act(self, rule: Rule, request: Request, answer: Response | None, wire: Wire) -> bool:
        """Act the rule's fault out on ``wire``; True: the connection stays open for the next request."""
        return FAULTS[rule.fault](Exchange(request, answer, wire, self.released))

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def release(self) -> None:
        """End every fault that is waiting (silence, trickles, endless bodies)."""
        self.released.set()
