"""SkipAutoRestore (REST spec 9.1 SkipRestorePartition) per runtime, over raw HTTP since the SDK 8.2 lacks it:
served from 9.1 on (202, no body, the partition's refusals, a 9.1 api-version), absent before (404
FABRIC_E_INVALID_ADDRESS, as an unknown route)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from emulator_support import (
    CACHE_PARTITION,
    CALC_PARTITIONS,
    CALC_TOPOLOGY,
    NO_CA,
    WEB_PARTITION,
    Api,
    error_code,
    http_client,
)

from sfdeclare.emulator import runtimes
from sfdeclare.emulator.server import EmulatorServer
from sfdeclare.emulator.state import init_state
from sfdeclare.emulator.transport import EmulatorTransport

SERVED = ("9.1", "10.1", "11.3")
ABSENT = ("6.2", "6.4")
PARTITION = CALC_PARTITIONS[0]


def skip_path(partition: str) -> str:
    return f"/Partitions/{partition}/$/SkipAutoRestore"


@pytest.fixture
def api_at(tmp_path: Path) -> Iterator[Callable[[str], Api]]:
    clients: list[httpx.Client] = []

    def make(runtime: str) -> Api:
        state = str(tmp_path / f"state-{runtime}.db")
        init_state(state, str(CALC_TOPOLOGY), runtime)
        client = httpx.Client(transport=EmulatorTransport(state), base_url="http://emulator", verify=NO_CA)
        clients.append(client)
        return Api(client, version="6.2-preview" if runtime == "6.2" else "9.1")

    yield make
    for client in clients:
        client.close()


def test_the_table_says_which_runtimes_have_it() -> None:
    assert [r for r in runtimes.RUNTIMES if runtimes.supports(r, runtimes.SKIP_AUTO_RESTORE)] == list(SERVED)


@pytest.mark.parametrize("runtime", SERVED)
def test_served_from_9_1_with_an_empty_202(api_at: Callable[[str], Api], runtime: str) -> None:
    api = api_at(runtime)
    answer = api.post(skip_path(PARTITION))
    assert answer.status_code == 202, answer.text
    assert answer.content == b""
    timed = api.post(skip_path(PARTITION), RestoreTimeout=30, timeout=60)
    assert timed.status_code == 202, timed.text


@pytest.mark.parametrize("runtime", ABSENT)
def test_absent_before_9_1_as_an_unknown_route(api_at: Callable[[str], Api], runtime: str) -> None:
    api = api_at(runtime)
    for version in (api.version, "9.1"):
        answer = api.client.post(skip_path(PARTITION), params={"api-version": version})
        assert answer.status_code == 404, answer.text
        assert error_code(answer) == "FABRIC_E_INVALID_ADDRESS"


@pytest.mark.parametrize("runtime", SERVED)
def test_refusals(api_at: Callable[[str], Api], runtime: str) -> None:
    api = api_at(runtime)
    cases = [
        (skip_path("9a1c0c1e-0000-4000-8000-00000000dead"), {}, 404, "FABRIC_E_PARTITION_NOT_FOUND"),
        (skip_path("not-a-guid"), {}, 400, "E_INVALIDARG"),
        (skip_path(WEB_PARTITION), {}, 400, "FABRIC_E_INVALID_FOR_STATELESS_SERVICES"),
        (skip_path(CACHE_PARTITION), {}, 400, "FABRIC_E_INVALID_FOR_STATELESS_SERVICES"),
        (skip_path(PARTITION), {"RestoreTimeout": "ten"}, 400, "E_INVALIDARG"),
        (skip_path(PARTITION), {"RestoreTimeout": str(2**31)}, 400, "E_INVALIDARG"),
        (skip_path(PARTITION), {"timeout": "0"}, 400, "E_INVALIDARG"),
    ]
    for path, query, status, code in cases:
        answer = api.client.post(path, params={"api-version": "9.1", **query})
        assert (answer.status_code, error_code(answer)) == (status, code), (path, query, answer.text)


@pytest.mark.parametrize("version", ["6.4", "9.0", None, "9.1-preview"])
def test_needs_a_9_1_api_version(api_at: Callable[[str], Api], version: str | None) -> None:
    api = api_at("10.1")
    params = {} if version is None else {"api-version": version}
    answer = api.client.post(skip_path(PARTITION), params=params)
    assert answer.status_code == 400
    assert error_code(answer) == "E_INVALIDARG"
    assert "API Version" in answer.json()["Error"]["Message"]
    assert api.client.post(skip_path(PARTITION), params={"api-version": "10.1"}).status_code == 202


def test_get_is_not_allowed(api_at: Callable[[str], Api]) -> None:
    answer = api_at("10.1").client.get(skip_path(PARTITION), params={"api-version": "9.1"})
    assert answer.status_code == 405


def test_over_a_real_socket_and_counted(tmp_path: Path) -> None:
    state = str(tmp_path / "state.db")
    init_state(state, str(CALC_TOPOLOGY), "10.1")
    with EmulatorServer(state) as server, http_client(server.url) as client:
        answer = client.post(skip_path(PARTITION.upper()), params={"api-version": "9.1"})
        assert answer.status_code == 202, answer.text
        stats = client.get("/$/Emulator/Stats").json()
    assert "POST /Partitions/{id}/$/SkipAutoRestore" in str(stats)
