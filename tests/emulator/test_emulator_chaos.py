"""Chaos answers: the request is processed, then the answer is damaged, so a client's error handling can be
tested against invalid JSON, HTML error pages, wrong shapes, truncation, hangs and resets."""

from __future__ import annotations

import json

import httpx
import pytest
from emulator_support import NO_CA, Api, http_client, policy

from sfdeclare.emulator.server import EmulatorServer
from sfdeclare.emulator.transport import EmulatorTransport
from sfdeclare.errors import EmulatorError

LIST = "/BackupRestore/BackupPolicies?api-version=6.4"
CREATE = "/BackupRestore/BackupPolicies/$/Create?api-version=6.4"


def created(state_path: str) -> bool:
    with httpx.Client(transport=EmulatorTransport(state_path), base_url="http://e", verify=NO_CA) as client:
        return (
            client.get("/BackupRestore/BackupPolicies/p1", params={"api-version": "6.4"}).status_code == 200
        )


def test_invalid_json(state_path: str) -> None:
    with EmulatorServer(state_path, chaos="invalid-json") as server, http_client(server.url) as client:
        response = client.get(LIST)
        assert response.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            response.json()
        assert client.get("/$/Emulator/Stats").json()["Total"] == 1


def test_html_error(state_path: str) -> None:
    with EmulatorServer(state_path, chaos="html-error") as server, http_client(server.url) as client:
        response = client.post(CREATE, json=policy())
        assert (response.status_code, response.headers["content-type"]) == (502, "text/html")
    assert created(state_path)


def test_wrong_shape(state_path: str) -> None:
    with EmulatorServer(state_path, chaos="wrong-shape") as server, http_client(server.url) as client:
        assert isinstance(client.get(LIST).json()["Items"], dict)
        assert Api(client).get("/BackupRestore/BackupPolicies/none").json() == {
            "Error": "something went wrong"
        }


@pytest.mark.parametrize("mode", ["truncated", "reset-mid-response"])
def test_broken_connections(state_path: str, mode: str) -> None:
    with EmulatorServer(state_path, chaos=mode) as server, http_client(server.url) as client:
        with pytest.raises(httpx.TransportError):
            client.post(CREATE, json=policy())
        with pytest.raises(httpx.TransportError):
            client.get(LIST)
    assert created(state_path)


def test_hang_until_the_client_gives_up(state_path: str) -> None:
    server = EmulatorServer(state_path, chaos="hang")
    with server, http_client(server.url, timeout=0.3) as client, pytest.raises(httpx.ReadTimeout):
        client.get(LIST)


def test_unknown_mode(state_path: str) -> None:
    with pytest.raises(EmulatorError, match="unknown chaos mode"):
        EmulatorServer(state_path, chaos="gremlins")
