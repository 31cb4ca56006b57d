"""Shared fixtures. Every test runs with the network limited to loopback."""

from __future__ import annotations

import functools
import os
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings

# CI runs the property tests on the same examples every time (a red build then always means a change broke
# something); on a developer's machine they keep exploring.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

_real_connect = socket.socket.connect
_real_create_connection = socket.create_connection

_LOOPBACK_PREFIXES = ("127.", "::1", "localhost")


def _is_loopback(address: Any) -> bool:
    if isinstance(address, tuple) and address:
        host = str(address[0])
    else:
        return True  # unix sockets and the like
    return host.startswith(_LOOPBACK_PREFIXES) or host in ("", "0.0.0.0")


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    def guarded_connect(self: socket.socket, address: Any) -> Any:
        if not _is_loopback(address):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return _real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    yield


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's clients retry as in production, only without the long waits (same attempts, same bounds)."""
    from sfdeclare.cluster.retry import RetryPolicy

    monkeypatch.setattr(
        "sfdeclare.cluster.client.RetryPolicy", functools.partial(RetryPolicy, base_delay=0.001)
    )
