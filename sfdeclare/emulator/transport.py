"""``emulator:PATH``: the emulator served in-process through an httpx transport, without sockets."""

from __future__ import annotations

import httpx

from sfdeclare.emulator.app import EmulatorApp, Request
from sfdeclare.emulator.state import Store


class EmulatorTransport(httpx.BaseTransport):
    """An httpx transport answering every request from the emulator application on ``state_path``.

    Thread-safe: each request runs in its own state transaction. A missing state file is created empty (tests
    and ``emulator init`` rely on it); the CLI's ``emulator:PATH`` refuses a missing file before it gets here
    (``sfdeclare.commands.session.connect``), so a mistyped path never becomes a new, empty cluster. The
    runtime is the one the state records, unless ``runtime`` pins another.
    """

    def __init__(self, state_path: str, *, runtime: str | None = None) -> None:
        self.app = EmulatorApp(Store(state_path), runtime=runtime)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        target = request.url.raw_path.decode("ascii")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers.raw}
        response = self.app.handle(Request(request.method, target, headers, body))
        if response.reset:
            raise httpx.ReadError("connection reset by the emulator (injected fault)", request=request)
        return httpx.Response(response.status, headers=list(response.headers), content=response.body)

    def close(self) -> None:
        self.app.store.close()
