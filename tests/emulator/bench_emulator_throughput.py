"""Benchmark, not a test (not collected): requests per second a keep-alive httpx client gets from a served
emulator holding a 1,000 applications x 10 services x 4 partitions cluster.

    .venv/bin/python tests/emulator/bench_emulator_throughput.py [--seconds 5] [--clients 1]

The server runs in its own process (``sfdeclare emulator serve``); each client is a process with one
keep-alive ``httpx.Client`` calling ``GET /BackupRestore/BackupPolicies`` in a loop.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def write_topology(path: Path, apps: int, services: int, partitions: int) -> None:
    data = {
        "applications": [
            {
                "name": f"fabric:/App{a:04d}",
                "services": [
                    {"name": f"fabric:/App{a:04d}/Svc{s}", "partitions": partitions} for s in range(services)
                ],
            }
            for a in range(apps)
        ]
    }
    path.write_text(json.dumps(data))


def raw_client(url: str, seconds: float, counts: multiprocessing.Queue[int]) -> None:
    """The stdlib client, much cheaper per request than httpx: shows what the server itself sustains."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port))
    done = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        connection.request("GET", "/BackupRestore/BackupPolicies?api-version=6.4")
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"unexpected status {response.status}")
        done += 1
    connection.close()
    counts.put(done)


def client(url: str, seconds: float, counts: multiprocessing.Queue[int]) -> None:
    done = 0
    with httpx.Client(base_url=url) as http:
        http.get("/BackupRestore/BackupPolicies?api-version=6.4")
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            response = http.get("/BackupRestore/BackupPolicies?api-version=6.4")
            if response.status_code != 200:
                raise SystemExit(f"unexpected status {response.status_code}")
            done += 1
    counts.put(done)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", type=int, default=1)
    parser.add_argument("--stdlib", action="store_true", help="use http.client instead of httpx")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        topology = Path(work) / "topology.json"
        write_topology(topology, 1000, 10, 4)
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        command = [sys.executable, "-m", "sfdeclare.cli", "emulator", "serve", "--port", "0"]
        started = time.perf_counter()
        server = subprocess.Popen(
            [*command, "--state", str(Path(work) / "state.db"), "--topology", str(topology)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert server.stdout is not None
        url = server.stdout.readline().rsplit(" ", 1)[1].strip()
        print(f"server ready in {time.perf_counter() - started:.1f} s at {url}")
        try:
            counts: multiprocessing.Queue[int] = multiprocessing.Queue()
            workers = [
                multiprocessing.Process(
                    target=raw_client if args.stdlib else client, args=(url, args.seconds, counts)
                )
                for _ in range(args.clients)
            ]
            for worker in workers:
                worker.start()
            total = sum(counts.get() for _ in workers)
            for worker in workers:
                worker.join()
        finally:
            server.send_signal(signal.SIGTERM)
            server.communicate(timeout=30)
        kind = "http.client" if args.stdlib else "httpx"
        print(f"{args.clients} keep-alive {kind} client(s): {total / args.seconds:.0f} requests/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
