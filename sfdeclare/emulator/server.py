"""The emulator over real HTTP(S): a threaded HTTP/1.1 server with keep-alive, optional TLS and client
certificates, serving the same request -> response application as the in-process transport."""

from __future__ import annotations

import socket
import ssl
import threading
from types import TracebackType

from sfdeclare.emulator.app import DEFAULT_QUERY_PAGE_SIZE, EmulatorApp
from sfdeclare.emulator.auth import Access
from sfdeclare.emulator.chaos import Chaos, check_mode
from sfdeclare.emulator.clock import MODES as CLOCK_MODES
from sfdeclare.emulator.clock import configure as configure_clock
from sfdeclare.emulator.faults import FaultInjector
from sfdeclare.emulator.http11 import HTTPServer
from sfdeclare.emulator.runtimes import RUNTIMES
from sfdeclare.emulator.state import Store, init_state
from sfdeclare.errors import EmulatorError


def _tls_context(cert: str | None, key: str | None, client_ca: str | None) -> ssl.SSLContext | None:
    if cert is None and key is None:
        if client_ca is not None:
            raise EmulatorError("--client-ca needs --tls-cert and --tls-key")
        return None
    if cert is None:
        raise EmulatorError("--tls-key needs --tls-cert")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
        if client_ca is not None:
            context.load_verify_locations(client_ca)
            context.verify_mode = ssl.CERT_REQUIRED
    except (OSError, ssl.SSLError) as exc:
        raise EmulatorError(f"cannot load TLS certificate files: {exc.strerror or exc}") from None
    return context


class EmulatorServer:
    """The emulator served over HTTP(S) from a background thread. Use as a context manager, or start/stop."""

    def __init__(
        self,
        state_path: str,
        *,
        topology: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        runtime: str | None = None,
        latency_ms: float = 0.0,
        fault_rate: float = 0.0,
        fault_codes: str = "503,429,504,reset",
        seed: int | None = None,
        tls_cert: str | None = None,
        tls_key: str | None = None,
        client_ca: str | None = None,
        query_page_size: int = DEFAULT_QUERY_PAGE_SIZE,
        chaos: str | None = None,
        clock: str | None = None,
        access: Access | None = None,
    ) -> None:
        if clock is not None and clock not in CLOCK_MODES:
            raise EmulatorError(f"unknown clock {clock!r} (expected virtual or real)")
        self.clock = clock
        if runtime is not None and runtime not in RUNTIMES:
            raise EmulatorError(f"unknown runtime {runtime!r} (expected one of: {', '.join(RUNTIMES)})")
        if latency_ms < 0:
            raise EmulatorError("--latency-ms must not be negative")
        try:
            self._faults = FaultInjector(fault_rate, fault_codes, seed) if fault_rate > 0 else None
            if fault_rate <= 0:
                FaultInjector(0.0, fault_codes)  # still validate the codes
        except ValueError as exc:
            raise EmulatorError(str(exc)) from None
        try:
            check_mode(chaos)
        except ValueError as exc:
            raise EmulatorError(str(exc)) from None
        self._chaos = Chaos.from_mode(chaos) if chaos is not None else None
        self.state_path = state_path
        self.topology = topology
        self.host = host
        self.port = port
        self.runtime = runtime
        self.latency_ms = latency_ms
        self.query_page_size = query_page_size
        self._tls = _tls_context(tls_cert, tls_key, client_ca)
        self.access = access
        self._server: HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.app: EmulatorApp | None = None

    @property
    def url(self) -> str:
        if self._server is None:
            raise EmulatorError("the emulator server is not running")
        port = self._server.server_address[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://{host}:{port}"

    def start(self) -> EmulatorServer:
        if self._server is not None:
            return self
        if self._chaos is not None:
            self._chaos.released.clear()  # a restart: waiting faults wait again
        init_state(self.state_path, self.topology, self.runtime)  # the runtime is the cluster's: recorded
        store = Store(self.state_path)
        if self.clock is not None:
            with store.write() as tx:
                configure_clock(tx, self.clock, None)
        self.app = EmulatorApp(
            store,
            query_page_size=self.query_page_size,
            faults=self._faults,
            latency_ms=self.latency_ms,
            access=self.access,
        )
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            self._server = HTTPServer((self.host, self.port), self.app, self._tls, family, self._chaos)
        except OSError as exc:
            store.close()
            raise EmulatorError(f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}") from None
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="sfdeclare-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def set_chaos(self, chaos: Chaos | None) -> None:
        """From the next request on, misbehave by ``chaos`` (None: answer as the emulator again). The chaos it
        replaces is released: its waiting faults end."""
        previous, self._chaos = self._chaos, chaos
        if self._server is not None:
            self._server.chaos = chaos
        if previous is not None and previous is not chaos:
            previous.release()

    def stop(self) -> None:
        server, self._server = self._server, None
        if self._chaos is not None:
            self._chaos.release()
        if server is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join()
        if self.app is not None:
            self.app.store.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
