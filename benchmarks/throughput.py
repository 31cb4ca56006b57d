"""How many requests per second the served emulator answers without injected latency: a few threads, each
with its own keep-alive httpx client, sending the read requests a plan sends, for a fixed time."""

from __future__ import annotations

import itertools
import threading
import time
from dataclasses import dataclass
from urllib.parse import quote

import httpx

from benchmarks.generate import app_name


@dataclass(frozen=True)
class Throughput:
    requests: int
    errors: int
    seconds: float
    threads: int

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


def measure(url: str, applications: int, *, threads: int = 4, seconds: float = 3.0) -> Throughput:
    paths = read_paths(applications)
    counter = itertools.count()
    done = [0] * threads
    failed = [0] * threads
    start = threading.Barrier(threads + 1)
    stop = threading.Event()

    def worker(slot: int) -> None:
        with httpx.Client(base_url=url, timeout=30.0, trust_env=False) as client:
            client.get(paths[0])  # connect before the clock starts
            start.wait()
            while not stop.is_set():
                response = client.get(paths[next(counter) % len(paths)])
                if response.status_code in (200, 404):  # 404: an application without backup configuration
                    done[slot] += 1
                else:
                    failed[slot] += 1

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
    return Throughput(sum(done), sum(failed), elapsed, threads)
