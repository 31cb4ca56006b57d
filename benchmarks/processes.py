"""Child processes for the benchmarks: the served emulator, and timed command runs with their own rusage.

Every child gets a bounded timeout and is killed on the way out, whatever happens to the harness.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import IO, Any

import httpx

PYTHON = sys.executable
# The installed console script next to this Python (the venv's bin/sfdeclare): what users run, entered through
# sfdeclare.cli:run like `python -m sfdeclare`.
SFDECLARE = os.path.join(os.path.dirname(PYTHON), "sfdeclare")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
STARTUP_TIMEOUT = 120.0  # loading a 40,000-partition topology takes a few seconds
LISTENING = "listening on "


class BenchError(Exception):
    """A child failed or did not answer in time; the message says which and how."""


@dataclass(frozen=True)
class Run:
    """One finished child process: its exit code, wall time, CPU time and peak resident memory."""

    argv: tuple[str, ...]
    returncode: int
    wall_s: float
    user_s: float
    sys_s: float
    maxrss_mb: float
    stdout: str
    stderr: str

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    def tail(self, lines: int = 5) -> str:
        text = (self.stderr.strip() or self.stdout.strip()).splitlines()
        return "\n".join(text[-lines:])


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SFDECLARE_")}
    env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["NO_COLOR"] = "1"
    env.update(extra or {})
    return env


def run_timed(argv: Sequence[str], *, env: Mapping[str, str], timeout: float, cwd: str | None = None) -> Run:
    """Run ``argv`` to completion, its own rusage (wait4) giving CPU time and peak memory.

    wait4 reports exactly this child's resources, the same numbers a RUSAGE_CHILDREN delta gives when nothing
    else is reaped in between. A child still running after ``timeout`` seconds is killed and BenchError raised.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=err, env=dict(env), cwd=cwd or ROOT
        )
        timed_out = threading.Event()

        def kill() -> None:
            timed_out.set()
            proc.kill()

        timer = threading.Timer(timeout, kill)
        timer.daemon = True
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            timer.cancel()
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        run = Run(
            argv=tuple(argv),
            returncode=proc.returncode,
            wall_s=wall,
            user_s=usage.ru_utime,
            sys_s=usage.ru_stime,
            maxrss_mb=usage.ru_maxrss / 1024.0,  # kilobytes on Linux
            stdout=out.read().decode("utf-8", "replace"),
            stderr=err.read().decode("utf-8", "replace"),
        )
    if timed_out.is_set():
        raise BenchError(f"{' '.join(argv[:5])} ... did not finish within {timeout:g}s and was killed")
    return run


class Emulator:
    """``sfdeclare emulator serve`` as a separate process on a free loopback port, stopped on exit."""

    def __init__(
        self, state: str, topology: str | None, *, latency_ms: float, timeout: float = STARTUP_TIMEOUT
    ) -> None:
        self.argv = [SFDECLARE, "emulator", "serve", "--state", state, "--port", "0"]
        if topology is not None:
            self.argv += ["--topology", topology]
        self.argv += ["--latency-ms", f"{latency_ms:g}"]
        self.latency_ms = latency_ms
        self.timeout = timeout
        self.url = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._http: httpx.Client | None = None

    def start(self) -> Emulator:
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115  (closed in stop())
        self._proc = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=child_env(),
            cwd=ROOT,
            start_new_session=True,  # a Ctrl-C to the harness is handled by the harness, which stops us
        )
        try:
            line = self._first_line()
        except BaseException:
            self.stop()
            raise
        self.url = line.rsplit(LISTENING, 1)[1].strip()
        self._http = httpx.Client(base_url=self.url, timeout=30.0, trust_env=False)
        return self

    def _first_line(self) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        deadline = time.monotonic() + self.timeout
        buffer = b""
        with selectors.DefaultSelector() as selector:
            selector.register(self._proc.stdout, selectors.EVENT_READ)
            while b"\n" not in buffer:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise BenchError(f"the emulator printed no URL within {self.timeout:g}s")
                if not selector.select(left):
                    continue
                chunk = os.read(self._proc.stdout.fileno(), 4096)
                if not chunk:
                    raise BenchError(f"the emulator exited before listening: {self._stderr_text()}")
                buffer += chunk
        line = buffer.split(b"\n", 1)[0].decode("utf-8", "replace")
        if LISTENING not in line:
            raise BenchError(f"unexpected first line from the emulator: {line!r}")
        return line

    def _stderr_text(self) -> str:
        if self._stderr is None:
            return ""
        self._stderr.seek(0)
        return self._stderr.read().decode("utf-8", "replace").strip()[-500:]

    def cpu_seconds(self) -> float | None:
        """CPU time the emulator process has used so far (Linux /proc), or None where unknown."""
        if self._proc is None:
            return None
        try:
            with open(f"/proc/{self._proc.pid}/stat", encoding="ascii") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stats(self) -> dict[str, Any]:
        assert self._http is not None
        response = self._http.get("/$/Emulator/Stats")
        response.raise_for_status()
        data: dict[str, Any] = json.loads(response.content)
        return data

    def reset_stats(self) -> None:
        assert self._http is not None
        self._http.post("/$/Emulator/Stats/$/Reset").raise_for_status()

    def advance(self, duration: str) -> None:
        """Move the emulator's virtual clock, taking every backup that falls due (not counted in its stats)."""
        assert self._http is not None
        self._http.post("/$/Emulator/Clock/$/Advance", params={"Duration": duration}).raise_for_status()

    def stop(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        if proc is not None and proc.stdout is not None:
            proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
