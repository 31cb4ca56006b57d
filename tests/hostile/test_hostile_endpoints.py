"""Hostile endpoints (--endpoint, SFDECLARE_ENDPOINT, cluster.endpoint): each is refused before any connection
with one line naming where it came from, never an internal error."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from sfdeclare.cli import main

ENDPOINTS = {
    "http://[::1": "is not a URL (Invalid IPv6 URL)",
    "http://a b:19080": "'a b' is not a host name or IP address",
    'http://h"x:19080': "is not a host name or IP address",
    "http://host:99999": "has an invalid port",
    "http://host:-1": "has an invalid port",
    "http://admin:hunter2@host:19080": "put credentials in cluster.token or cluster.tls",
    "https://host:19080/?api-version=1.0": "an endpoint has no query or fragment",
    "http://host:19080#frag": "an endpoint has no query or fragment",
    "ftp://host:21": "is not an endpoint: write http(s)://host:port",
    "file:///etc/passwd": "is not an endpoint: write http(s)://host:port",
    "http://": "is not an endpoint",
    "emulator:": "write emulator:PATH",
    "http://host\x00evil:19080": "holds a control character ('\\x00')",
    "emulator:/tmp/state\x00.db": "holds a control character ('\\x00')",
    "http://host:19080\r\nX-Injected: 1": "holds a control character ('\\r')",
}


@pytest.fixture()
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("SFDECLARE_ENDPOINT", raising=False)
    path = tmp_path / "sfdeclare.yaml"
    path.write_text("version: 1\napplications:\n  App: {policy: Daily}\n")
    return path


def refused(argv: list[str], fragment: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    assert main(argv, out=out, err=err) == 1
    text = err.getvalue()
    assert "Traceback" not in text and "internal error" not in text, text
    assert text.count("\n") == 1 and text.startswith("error: "), text
    assert fragment in text, text
    assert "hunter2" not in text
    return text


@pytest.mark.timeout(10)
@pytest.mark.parametrize("endpoint", sorted(ENDPOINTS), ids=repr)
def test_a_hostile_endpoint_is_refused_in_one_line(endpoint: str, config: Path) -> None:
    text = refused(["plan", str(config), "--endpoint", endpoint], ENDPOINTS[endpoint])
    assert text.startswith("error: --endpoint")


@pytest.mark.timeout(10)
def test_the_environment_variable_is_named_when_it_is_the_source(
    config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SFDECLARE_ENDPOINT", "http://[::1")
    assert refused(["plan", str(config)], "is not a URL").startswith("error: SFDECLARE_ENDPOINT ")
