"""The client's own connections: kept alive and reused, replaced when the server closed them, never reused after
an answer cut short, closed with the client, and routed through a proxy the environment names."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from sfdeclare import __version__
from sfdeclare.cluster import client as client_module
from sfdeclare.cluster.retry import RetryPolicy
from sfdeclare.commands.session import connect
from sfdeclare.errors import ClusterError

NO_RETRY = RetryPolicy(max_attempts=1)
EMPTY_PAGE = json.dumps({"ContinuationToken": "", "Items": []}).encode()


@dataclass
class Seen:
    """What the server saw: one entry per connection accepted, each with the request targets it carried."""

    connections: list[list[str]] = field(default_factory=list)
    user_agents: list[str | None] = field(default_factory=list)
    ended: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: CountingServer

    def setup(self) -> None:
        super().setup()
        with self.server.seen.lock:
            self.server.seen.connections.append([])
            self.targets = self.server.seen.connections[-1]

    def do_GET(self) -> None:
        self.targets.append(self.path)
        self.server.seen.user_agents.append(self.headers.get("User-Agent"))
        body = self.server.body
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        # a server whose idle timeout is shorter than the client's: it drops the connection without a word
        self.close_connection = self.server.close_after_answer

    def handle(self) -> None:
        super().handle()
        with self.server.seen.lock:
            self.server.seen.ended += 1

    def log_message(self, format: str, *args: object) -> None:
        pass


class CountingServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen = Seen()
        self.body = EMPTY_PAGE
        self.close_after_answer = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def wait_for_ended(server: CountingServer, count: int) -> None:
    for _ in range(500):
        if server.seen.ended >= count:
            return
        threading.Event().wait(0.01)
    raise AssertionError(f"the server saw {server.seen.ended} connections end, not {count}")


@pytest.fixture
def server() -> Iterator[CountingServer]:
    httpd = CountingServer()
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def no_proxy_from_the_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def test_sequential_requests_share_one_connection(server: CountingServer) -> None:
    with connect(server.url, retry=NO_RETRY) as client:
        for _ in range(10):
            assert client.list_policies() == {}
    assert [len(targets) for targets in server.seen.connections] == [10]


def test_requests_name_sfdeclare_and_its_version(server: CountingServer) -> None:
    with connect(server.url, retry=NO_RETRY) as client:
        client.list_policies()
    assert server.seen.user_agents == [f"sfdeclare/{__version__}"]


def test_concurrent_requests_open_one_connection_each_at_most(server: CountingServer) -> None:
    with connect(server.url, retry=NO_RETRY, parallelism=4) as client, ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda _: client.list_policies(), range(40)))
    assert results == [{}] * 40
    assert 1 <= len(server.seen.connections) <= 4
    assert sum(len(targets) for targets in server.seen.connections) == 40


def test_a_connection_the_server_closed_while_idle_is_replaced_without_a_retry(
    server: CountingServer,
) -> None:
    server.close_after_answer = True
    with connect(server.url, retry=NO_RETRY) as client:
        for done in range(1, 4):
            assert client.list_policies() == {}
            wait_for_ended(server, done)
        assert client.requests == 3
    assert [len(targets) for targets in server.seen.connections] == [1, 1, 1]


def test_an_answer_cut_short_never_leaves_its_connection_for_the_next_request(
    server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.body = json.dumps({"ContinuationToken": "", "Items": [], "Padding": "x" * 4096}).encode()
    monkeypatch.setattr(client_module, "MAX_RESPONSE_BYTES", 1024)
    with connect(server.url, retry=NO_RETRY) as client:
        with pytest.raises(ClusterError, match="larger than 1,024 bytes"):
            client.list_policies()
        server.body = EMPTY_PAGE
        assert client.list_policies() == {}
    assert [len(targets) for targets in server.seen.connections] == [1, 1]


def test_closing_the_client_closes_its_idle_connections(server: CountingServer) -> None:
    client = connect(server.url, retry=NO_RETRY)
    client.list_policies()
    assert server.seen.ended == 0
    client.close()
    wait_for_ended(server, 1)


def test_a_proxy_named_by_the_environment_carries_the_requests(
    server: CountingServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The counting server plays the proxy: a proxy is asked for the absolute URL of the cluster.
    monkeypatch.setenv("HTTP_PROXY", server.url)
    with connect("http://cluster.example:19080", retry=NO_RETRY) as client:
        assert client.list_policies() == {}
    [[target]] = server.seen.connections
    assert target.startswith("http://cluster.example:19080/BackupRestore/BackupPolicies?")


def test_no_proxy_exempts_the_cluster(server: CountingServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # the discard port: nothing listens there
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with connect(server.url, retry=NO_RETRY) as client:
        assert client.list_policies() == {}
    [[target]] = server.seen.connections
    assert target.startswith("/BackupRestore/BackupPolicies?")
