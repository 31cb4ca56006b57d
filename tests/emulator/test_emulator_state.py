"""The state file: creation, topology replacement, refusal of foreign files, and no lost updates when a
served emulator, in-process transports and a second OS process write to one file at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from emulator_support import CALC_TOPOLOGY, NO_CA, TOPOLOGIES, Api, http_client, policy

from sfdeclare.emulator.server import EmulatorServer
from sfdeclare.emulator.state import init_state
from sfdeclare.emulator.transport import EmulatorTransport
from sfdeclare.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]


def transport_api(path: str) -> Api:
    return Api(httpx.Client(transport=EmulatorTransport(path), base_url="http://emulator", verify=NO_CA))


def policy_names(api: Api) -> set[str]:
    return {p["Name"] for p in api.get("/BackupRestore/BackupPolicies").json()["Items"]}


def test_state_alone_is_an_empty_cluster(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    init_state(path, None)
    api = transport_api(path)
    assert api.get("/Applications").json() == {"ContinuationToken": "", "Items": []}
    assert api.create().status_code == 201


def test_a_new_topology_keeps_policies_mappings_and_suspensions(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    init_state(path, str(CALC_TOPOLOGY))
    api = transport_api(path)
    api.create()
    api.enable("Services/CalcApp/CalcService")
    api.suspend("Applications/CalcApp")
    init_state(path, str(TOPOLOGIES / "calc.json"))
    assert [a["Name"] for a in api.get("/Applications").json()["Items"]] == ["fabric:/CalcApp"]
    (listed,) = api.config("Applications/CalcApp").json()["Items"]  # no app mapping: no app item (§5.4)
    assert listed["PolicyName"] == "p1"
    assert listed["SuspensionInfo"] == {"IsSuspended": True, "SuspensionInheritedFrom": "Application"}


def test_a_bad_topology_leaves_the_state_alone(tmp_path: Path) -> None:
    path = str(tmp_path / "s.db")
    init_state(path, str(CALC_TOPOLOGY))
    with pytest.raises(ConfigError):
        init_state(path, str(TOPOLOGIES / "invalid" / "bad_kind.yaml"))
    assert len(transport_api(path).get("/Applications").json()["Items"]) == 4


@pytest.mark.parametrize("content", [b'{"applications": []}', b"SQLite format 3\x00garbage" + b"\x00" * 100])
def test_foreign_files_are_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "s.db"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match="not an sfdeclare emulator state file"):
        init_state(str(path), None)
    assert path.read_bytes() == content


def test_missing_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="directory does not exist"):
        init_state(str(tmp_path / "no" / "s.db"), None)


def run_writers(writers: list[Callable[[str], httpx.Response]], per_writer: int) -> list[int]:
    statuses: list[int] = []
    lock = threading.Lock()

    def work(index: int, create: Callable[[str], httpx.Response]) -> None:
        for j in range(per_writer):
            status = create(f"w{index}-{j:02d}").status_code
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=work, args=(i, w)) for i, w in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_parallel_writers_over_http_and_in_process_lose_nothing(state_path: str) -> None:
    with EmulatorServer(state_path) as server:
        http_clients = [Api(http_client(server.url)) for _ in range(4)]
        transport = EmulatorTransport(state_path)
        local_clients = [
            Api(httpx.Client(transport=transport, base_url="http://emulator", verify=NO_CA)) for _ in range(4)
        ]
        writers: list[Callable[[str], httpx.Response]] = [c.create for c in http_clients + local_clients]
        statuses = run_writers(writers, 25)
        assert statuses == [201] * 200
        assert len(policy_names(http_clients[0])) == 200
        assert policy_names(local_clients[0]) == policy_names(http_clients[0])
        for client in http_clients + local_clients:
            client.client.close()


def start_serve_process(state: str, *extra: str) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "sfdeclare.cli", "emulator", "serve", "--state", state, "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    assert process.stderr is not None
    assert line.startswith("sfdeclare emulator listening on http"), line + process.stderr.read()
    return process, line.rsplit(" ", 1)[1].strip()


def test_second_os_process_and_this_process_write_one_file(state_path: str) -> None:
    process, url = start_serve_process(state_path)
    try:
        remote = [Api(http_client(url)) for _ in range(4)]
        transport = EmulatorTransport(state_path)
        local = [
            Api(httpx.Client(transport=transport, base_url="http://emulator", verify=NO_CA)) for _ in range(4)
        ]
        statuses = run_writers([c.create for c in remote + local], 25)
        assert statuses == [201] * 200
        assert len(policy_names(local[0])) == 200
        assert policy_names(remote[0]) == policy_names(local[0])
        assert remote[0].create("w0-00").status_code == 409
        for client in remote + local:
            client.client.close()
    finally:
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)
        assert process.returncode == 0
        assert "stopped" in err


def test_serve_command_end_to_end(tmp_path: Path) -> None:
    state = str(tmp_path / "s.db")
    process, url = start_serve_process(state, "--topology", str(CALC_TOPOLOGY))
    try:
        with http_client(url) as client:
            apps = client.get("/Applications", params={"api-version": "6.1"})
            assert apps.status_code == 200 and len(apps.json()["Items"]) == 4
            assert (
                client.post(
                    "/BackupRestore/BackupPolicies/$/Create", params={"api-version": "6.4"}, json=policy()
                ).status_code
                == 201
            )
    finally:
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
        assert process.returncode == 0


def test_serve_command_reports_a_bad_topology_in_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    bad = str(TOPOLOGIES / "invalid" / "bad_kind.yaml")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "sfdeclare.cli",
            "emulator",
            "serve",
            "--state",
            str(tmp_path / "s.db"),
            "--topology",
            bad,
            "--port",
            "0",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    expected = f"{bad}:5:15: error: service kind must be Stateful or Stateless, not 'Statefull'"
    assert expected in done.stderr.splitlines()[0]


def test_serve_command_stops_on_ctrl_c(tmp_path: Path) -> None:
    process, url = start_serve_process(str(tmp_path / "s.db"))
    with http_client(url) as client:
        assert client.get("/Applications", params={"api-version": "6.1"}).status_code == 200
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "Traceback" not in err
