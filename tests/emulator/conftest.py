"""Fixtures for the emulator's tests: a state file on the standard topology, and clients that reach it
through the in-process transport or over HTTP."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from emulator_support import CALC_TOPOLOGY, NO_CA, Api, http_client

from sfdeclare.emulator.server import EmulatorServer
from sfdeclare.emulator.state import init_state
from sfdeclare.emulator.transport import EmulatorTransport


@pytest.fixture
def state_path(tmp_path: Path) -> str:
    path = str(tmp_path / "state.db")
    init_state(path, str(CALC_TOPOLOGY))
    return path


@pytest.fixture
def transport_api(state_path: str) -> Iterator[Api]:
    transport = EmulatorTransport(state_path)
    with httpx.Client(transport=transport, base_url="http://emulator", verify=NO_CA) as client:
        yield Api(client)


@pytest.fixture
def server(state_path: str) -> Iterator[EmulatorServer]:
    with EmulatorServer(state_path) as running:
        yield running


@pytest.fixture
def http_api(server: EmulatorServer) -> Iterator[Api]:
    with http_client(server.url) as client:
        yield Api(client)


@pytest.fixture(params=["transport", "http"])
def api(request: pytest.FixtureRequest) -> Api:
    """Each conformance test runs twice: in-process and over a real socket."""
    name = "transport_api" if request.param == "transport" else "http_api"
    value: Api = request.getfixturevalue(name)
    return value
