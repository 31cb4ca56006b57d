"""How many requests per second the served emulator answers without injected latency: a few threads, each
with its own keep-alive client, sending the read requests a plan sends, for a fixed time.

Two clients: sfdeclare's own (``Client.send`` through its kept-alive httpcore connections, what a plan sends
with) and the standard library's http.client, the lightest Python client there is. On a small machine the
client process can be the limit (its CPU per request, under one GIL); the emulator's own CPU time per request
(``Emulator.cpu_seconds``) gives its capacity either way.
"""

from __future__ import annotations

import http.client
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from benchmarks.generate import app_name
from sfdeclare.cluster.retry import RetryPolicy
from sfdeclare.commands.session import connect
from sfdeclare.errors import ClusterRequestError
from sfdeclare.servicefabric.routes import WireRequest


@dataclass(frozen=True)
class Throughput:
    requests: int
    errors: int
    seconds: float
    threads: int
    client: str

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def read_paths(applications: int) -> list[str]:
    """GetServices and application-level GetBackupConfigurationInfo of every application, interleaved."""
    paths: list[str] = []
    for index in range(applications):
        app_id = quote(app_name(index).removeprefix("fabric:/"), safe="")
        paths.append(f"/Applications/{app_id}/$/GetServices?api-version=6.4")
        paths.append(f"/Applications/{app_id}/$/GetBackupConfigurationInfo?api-version=6.4")
    return paths


def _sfdeclare_getter(url: str) -> tuple[Callable[[str], int], Callable[[], None]]:
    client = connect(url, env={}, retry=RetryPolicy(max_attempts=1), parallelism=1, timeout=30)

    def get(target: str) -> int:
        path, _, query = target.partition("?")
        pairs = tuple((name, value) for name, _, value in (part.partition("=") for part in query.split("&")))
        try:
            return client.send(WireRequest("GET", path, pairs, None, "throughput")).status
        except ClusterRequestError as error:
            return error.status or 0

    return get, client.close


def _stdlib_getter(url: str) -> tuple[Callable[[str], int], Callable[[], None]]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30.0)

    def get(path: str) -> int:
        connection.request("GET", path, headers={"Accept": "application/json"})
        response = connection.getresponse()
        response.read()
        return response.status

    return get, connection.close


CLIENTS = {"sfdeclare": _sfdeclare_getter, "http.client": _stdlib_getter}


def measure(
    url: str, applications: int, *, threads: int = 4, seconds: float = 3.0, client: str = "sfdeclare"
) -> Throughput:
    paths = read_paths(applications)
    counter = itertools.count()
    done = [0] * threads
    failed = [0] * threads
    start = threading.Barrier(threads + 1)
    stop = threading.Event()
    make = CLIENTS[client]

    def worker(slot: int) -> None:
        get, close = make(url)
        try:
            get(paths[0])  # connect before the clock starts
            start.wait()
            while not stop.is_set():
                status = get(paths[next(counter) % len(paths)])
                if status in (200, 404):  # 404: an application without backup configuration
                    done[slot] += 1
                else:
                    failed[slot] += 1
        finally:
            close()

    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for w in workers:
        w.start()
    start.wait(timeout=30)
    began = time.perf_counter()
    time.sleep(seconds)
    stop.set()
    for w in workers:
        w.join(timeout=30)
    elapsed = time.perf_counter() - began
    return Throughput(sum(done), sum(failed), elapsed, threads, client)
