"""The HTTP server: malformed and hostile requests, keep-alive, statistics, faults, TLS, and the 6.2 runtime."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from emulator_support import NO_CA, Api, error_code, http_client, policy

from sfdeclare.emulator.server import EmulatorServer
from sfdeclare.emulator.transport import EmulatorTransport
from sfdeclare.errors import EmulatorError

CREATE = "/BackupRestore/BackupPolicies/$/Create?api-version=6.4"


def raw_exchange(server: EmulatorServer, data: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send raw bytes on a fresh connection; return the first response's status, headers and body."""
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        # the server may answer and close before it has read an oversized request: read its answer anyway
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        return int(lines[0].split()[1]), headers, body


def fabric_code(body: bytes) -> str:
    return str(json.loads(body)["Error"]["Code"])


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"\xff\xfe", 400),
        (b'"a string"', 400),
        (b"[1, 2]", 400),
        (b'{"Name": 5, "MaxIncrementalBackups": 1}', 400),
        (b"", 400),
    ],
)
def test_bad_bodies_get_fabric_errors(http_api: Api, body: bytes, status: int) -> None:
    response = http_api.client.post(CREATE, content=body, headers=JSON)
    assert (response.status_code, error_code(response)) == (status, "E_INVALIDARG")


def test_huge_body_refused_without_reading_it(server: EmulatorServer, http_api: Api) -> None:
    request = (
        b"POST /BackupRestore/BackupPolicies/$/Create?api-version=6.4 HTTP/1.1\r\nHost: x\r\n"
        b"Content-Length: 104857600\r\n\r\n"
    )
    status, headers, body = raw_exchange(server, request)
    assert (status, fabric_code(body), headers.get("connection")) == (413, "E_INVALIDARG", "close")
    big = json.dumps(policy(Padding="x" * (2 * 1024 * 1024))).encode()
    assert http_api.client.post(CREATE, content=big, headers=JSON).status_code == 413
    assert http_api.get("/BackupRestore/BackupPolicies/p1").status_code == 404


def test_chunked_bodies(server: EmulatorServer, http_api: Api) -> None:
    def chunks(data: bytes) -> Iterator[bytes]:
        yield data[:10]
        yield data[10:]

    assert (
        http_api.client.post(CREATE, content=chunks(json.dumps(policy()).encode()), headers=JSON).status_code
        == 201
    )
    assert http_api.get("/BackupRestore/BackupPolicies/p1").status_code == 200
    huge = b"POST " + CREATE.encode() + b" HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
    huge += b"200000\r\n" + b"x" * 0x200000 + b"\r\n0\r\n\r\n"
    status, _, body = raw_exchange(server, huge)
    assert (status, fabric_code(body)) == (413, "E_INVALIDARG")


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /Applications?api-version=6.1 HTTP/1.1\r\nContent-Length: nope\r\n\r\n",
        b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",
        b"BREW /Applications HTTP/1.1\r\nHost: x\r\n\r\n",
    ],
)
def test_malformed_requests_get_fabric_errors(
    server: EmulatorServer, http_api: Api, request_bytes: bytes
) -> None:
    status, headers, body = raw_exchange(server, request_bytes)
    assert 400 <= status < 600
    assert headers["content-type"].startswith("application/json")
    assert fabric_code(body) == "E_INVALIDARG"
    assert http_api.get("/Applications").status_code == 200


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/Nope", 404),
        ("GET", "/", 404),
        ("GET", "/BackupRestore/Nope", 404),
        ("GET", "/Applications/CalcApp/$/Nope", 404),
        ("POST", "/BackupRestore/BackupPolicies", 405),
        ("GET", "/BackupRestore/BackupPolicies/$/Create", 405),
        ("DELETE", "/BackupRestore/BackupPolicies/p1", 405),
    ],
)
def test_unknown_routes_and_methods(api: Api, method: str, path: str, status: int) -> None:
    response = api.client.request(method, path, params=api.params())
    assert response.status_code == status
    assert error_code(response) in ("FABRIC_E_INVALID_ADDRESS", "E_INVALIDARG")


def test_routes_are_case_insensitive_and_accept_a_trailing_slash(api: Api) -> None:
    assert api.get("/backuprestore/backuppolicies/").status_code == 200
    assert api.get("/applications/CalcApp/$/getservices").status_code == 200


def test_timeout_parameter(api: Api) -> None:
    assert api.get("/BackupRestore/BackupPolicies", timeout=60).status_code == 200
    for bad in ("0", "-1", "4294967296", "abc", "2147483648"):
        assert api.get("/BackupRestore/BackupPolicies", timeout=bad).status_code == 400
    # 32-bit on the backup service (fidelity audit C): a timeout it cannot turn into milliseconds is a 500,
    # while the gateway's own queries take the spec's whole range.
    too_long = api.get("/BackupRestore/BackupPolicies", timeout="2147484")
    assert (too_long.status_code, error_code(too_long)) == (500, "E_UNEXPECTED")
    assert api.get("/BackupRestore/BackupPolicies", timeout="2147483").status_code == 200
    assert api.get("/Applications", timeout="4294967295").status_code == 200


def test_keep_alive_serves_many_requests_on_one_connection(server: EmulatorServer) -> None:
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    request = b"GET /BackupRestore/BackupPolicies?api-version=6.4 HTTP/1.1\r\nHost: x\r\n\r\n"
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(request * 3)
        received = b""
        while received.count(b"HTTP/1.1 200") < 3:
            chunk = sock.recv(65536)
            assert chunk, "the server closed a keep-alive connection"
            received += chunk


def test_stats_count_requests_by_route(http_api: Api) -> None:
    http_api.create()
    http_api.create()
    http_api.enable("Services/CalcApp~CalcService")
    http_api.get("/Nope")
    stats = http_api.client.get("/$/Emulator/Stats").json()
    assert stats["Total"] == 4
    assert stats["Routes"] == {
        "POST /BackupRestore/BackupPolicies/$/Create": 2,
        "POST /Services/{id}/$/EnableBackup": 1,
        "unmatched": 1,
    }
    assert http_api.client.post("/$/Emulator/Stats/$/Reset").status_code == 200
    assert http_api.client.get("/$/Emulator/Stats").json() == {"Total": 0, "Routes": {}, "Faults": {}}


# Faults.


@pytest.mark.parametrize(
    ("kind", "status", "code"),
    [
        ("503", 503, "FABRIC_E_NOT_PRIMARY"),
        ("429", 429, "FABRIC_E_SERVICE_TOO_BUSY"),
        ("504", 504, "FABRIC_E_TIMEOUT"),
    ],
)
def test_every_request_faults_and_nothing_changes(state_path: str, kind: str, status: int, code: str) -> None:
    with (
        EmulatorServer(state_path, fault_rate=1.0, fault_codes=kind, seed=7) as server,
        http_client(server.url) as c,
    ):
        api = Api(c)
        for response in (api.create(), api.enable("Applications/CalcApp"), api.get("/Applications")):
            assert (response.status_code, error_code(response)) == (status, code)
        assert c.get("/$/Emulator/Stats").json()["Faults"] == {kind: 3}
    untouched = Api(httpx.Client(transport=EmulatorTransport(state_path), base_url="http://e", verify=NO_CA))
    assert untouched.get("/BackupRestore/BackupPolicies").json()["Items"] == []


def test_reset_fault_drops_the_connection(state_path: str) -> None:
    server = EmulatorServer(state_path, fault_rate=1.0, fault_codes="reset", seed=1)
    with server, http_client(server.url) as client, pytest.raises(httpx.TransportError):
        client.post(CREATE, json=policy())
    untouched = Api(httpx.Client(transport=EmulatorTransport(state_path), base_url="http://e", verify=NO_CA))
    assert untouched.get("/BackupRestore/BackupPolicies/p1").status_code == 404


def fault_sequence(state_path: str, seed: int) -> list[Any]:
    outcomes: list[Any] = []
    with EmulatorServer(state_path, fault_rate=0.5, seed=seed, latency_ms=1) as server:
        for _ in range(30):
            with http_client(server.url) as client:
                try:
                    outcomes.append(client.get("/Applications", params={"api-version": "6.1"}).status_code)
                except httpx.TransportError:
                    outcomes.append("reset")
    return outcomes


def test_faults_repeat_with_a_seed(state_path: str) -> None:
    first = fault_sequence(state_path, 42)
    assert first == fault_sequence(state_path, 42)
    assert first != fault_sequence(state_path, 43)
    assert {200, 503, 429, 504, "reset"} <= set(first) | set(fault_sequence(state_path, 43))


def test_latency_is_a_floor_for_every_answer_but_the_emulators_own(state_path: str) -> None:
    server = EmulatorServer(state_path, latency_ms=80, fault_rate=1.0, fault_codes="503")
    with server, http_client(server.url) as client:
        client.get("/$/Emulator/Stats")  # connect first: only the answer's wait is measured
        timings = []
        for path in ("/Applications", "/BackupRestore/BackupPolicies", "/$/Emulator/Stats"):
            started = time.monotonic()
            status = client.get(path, params={"api-version": "6.4"}).status_code
            timings.append((path, status, time.monotonic() - started))
    assert [status for _, status, _ in timings] == [503, 503, 200]
    assert all(seconds >= 0.08 for path, _, seconds in timings if path != "/$/Emulator/Stats")


@pytest.mark.parametrize(
    "options",
    [
        {"fault_codes": "503,418"},
        {"fault_rate": 1.5},
        {"runtime": "7.0"},
        {"latency_ms": -1},
        {"client_ca": "ca.pem"},
        {"tls_cert": "/nonexistent/cert.pem", "tls_key": "/nonexistent/key.pem"},
    ],
)
def test_bad_options_are_one_line_errors(state_path: str, options: dict[str, Any]) -> None:
    with pytest.raises(EmulatorError):
        EmulatorServer(state_path, **options)


def test_address_in_use(state_path: str, server: EmulatorServer) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    with pytest.raises(EmulatorError, match="cannot listen"):
        EmulatorServer(state_path, port=port).start()


# TLS.


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def tls_files(ca: trustme.CA, tmp_path: Path) -> dict[str, str]:
    server_cert = ca.issue_cert("127.0.0.1", "localhost")
    files = {"cert": tmp_path / "server.pem", "key": tmp_path / "server-key.pem", "ca": tmp_path / "ca.pem"}
    server_cert.cert_chain_pems[0].write_to_path(str(files["cert"]))
    server_cert.private_key_pem.write_to_path(str(files["key"]))
    ca.cert_pem.write_to_path(str(files["ca"]))
    return {k: str(v) for k, v in files.items()}


def client_context(ca: trustme.CA, with_cert: bool) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=ca.cert_pem.bytes().decode())
    if with_cert:
        ca.issue_cert("client@example.test").configure_cert(context)
    return context


def test_https(state_path: str, tls_files: dict[str, str], ca: trustme.CA) -> None:
    with EmulatorServer(state_path, tls_cert=tls_files["cert"], tls_key=tls_files["key"]) as server:
        assert server.url.startswith("https://")
        with http_client(server.url, verify=client_context(ca, False)) as client:
            assert client.get("/Applications", params={"api-version": "6.1"}).status_code == 200


def test_client_certificate_required(state_path: str, tls_files: dict[str, str], ca: trustme.CA) -> None:
    options: dict[str, Any] = {
        "tls_cert": tls_files["cert"],
        "tls_key": tls_files["key"],
        "client_ca": tls_files["ca"],
    }
    with EmulatorServer(state_path, **options) as server:
        anonymous = http_client(server.url, verify=client_context(ca, False))
        with anonymous, pytest.raises(httpx.TransportError):
            anonymous.get("/Applications", params={"api-version": "6.1"})
        stranger_ca = trustme.CA()
        stranger = ssl.create_default_context(cadata=ca.cert_pem.bytes().decode())
        stranger_ca.issue_cert("mallory@example.test").configure_cert(stranger)
        impostor = http_client(server.url, verify=stranger)
        with impostor, pytest.raises(httpx.TransportError):
            impostor.get("/Applications", params={"api-version": "6.1"})
        with http_client(server.url, verify=client_context(ca, True)) as trusted:
            assert trusted.get("/Applications", params={"api-version": "6.1"}).status_code == 200


# The 6.2 runtime.


@pytest.fixture
def api62(state_path: str) -> Iterator[Api]:
    with EmulatorServer(state_path, runtime="6.2") as server, http_client(server.url) as client:
        yield Api(client, version="6.2-preview")


def test_runtime_62_versions(api62: Api) -> None:
    assert api62.get("/BackupRestore/BackupPolicies").status_code == 200
    for version in ("6.4", "7.0", "6.4-preview", "6.3-preview"):
        response = api62.client.get("/BackupRestore/BackupPolicies", params={"api-version": version})
        assert (response.status_code, response.json()["Error"]["Message"]) == (400, "Invalid API Version")
    assert api62.client.get("/Applications", params={"api-version": "6.0"}).status_code == 200


def test_runtime_62_has_no_retention_policy(api62: Api) -> None:
    response = api62.create()
    assert (response.status_code, error_code(response)) == (400, "E_INVALIDARG")
    body = policy()
    del body["RetentionPolicy"]
    assert api62.post("/BackupRestore/BackupPolicies/$/Create", body).status_code == 201
    assert "RetentionPolicy" not in api62.get("/BackupRestore/BackupPolicies/p1").json()


def test_runtime_62_disable_takes_no_body(api62: Api) -> None:
    body = policy()
    del body["RetentionPolicy"]
    api62.post("/BackupRestore/BackupPolicies/$/Create", body)
    assert api62.enable("Services/CalcApp/CalcService").status_code == 202
    refused = api62.disable("Services/CalcApp/CalcService", {"CleanBackup": False})
    assert (refused.status_code, error_code(refused)) == (400, "E_INVALIDARG")
    assert api62.disable("Services/CalcApp/CalcService").status_code == 202


def test_transport_runtime_62(state_path: str) -> None:
    with httpx.Client(
        transport=EmulatorTransport(state_path, runtime="6.2"), base_url="http://e", verify=NO_CA
    ) as client:
        assert client.get("/BackupRestore/BackupPolicies", params={"api-version": "6.4"}).status_code == 400
        assert (
            client.get("/BackupRestore/BackupPolicies", params={"api-version": "6.2-preview"}).status_code
            == 200
        )


def test_an_unexpected_failure_is_a_500_fabric_error(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from sfdeclare.emulator import rules

    def broken(*args: Any) -> Any:
        raise RuntimeError("DefaultEndpointsProtocol=https;AccountKey=c2VjcmV0")

    monkeypatch.setattr(rules, "list_policies", broken)
    response = api.get("/BackupRestore/BackupPolicies")
    assert (response.status_code, error_code(response)) == (500, "E_UNEXPECTED")
    assert "AccountKey" not in response.text
    assert api.create().status_code == 201
