"""Chaos answers: the request is processed, then the answer is damaged, so a client's error handling can be
tested against invalid JSON, HTML error pages, wrong shapes, truncation, hangs and resets."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable

import httpx
import pytest
from emulator_support import NO_CA, Api, http_client, policy

from sfdeclare.emulator.app import Request
from sfdeclare.emulator.chaos import FAULTS, Chaos, Rule
from sfdeclare.emulator.modes import CHAOS_MODES, MODE_FAULTS
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


# --- the rules behind the modes (sfdeclare/emulator/chaos.py): one mechanism for --chaos and the tests -------


def test_every_mode_is_one_rule_on_every_request_carried_out_first() -> None:
    assert tuple(MODE_FAULTS) == CHAOS_MODES
    for mode, fault in MODE_FAULTS.items():
        (rule,) = Chaos.from_mode(mode).rules
        assert (rule.method, rule.path_contains, rule.fault, rule.carries_out) == ("*", "", fault, True)
        assert fault in FAULTS


def test_a_rule_counts_what_it_lets_through_and_how_often_it_acts() -> None:
    chaos = Chaos([Rule("GET", "/Policies", "html_500", times=2, after=1), Rule("*", "", "invalid_json")])
    fired = [chaos.match(Request("GET", "/Policies?x")) for _ in range(4)]
    assert [r.fault if r else None for r in fired] == ["invalid_json", "html_500", "html_500", "invalid_json"]
    assert chaos.match(Request("POST", "/Policies")) == Rule("*", "", "invalid_json")
    assert chaos.match(Request("GET", "/$/Emulator/Stats")) is None  # control paths never misbehave
    assert chaos.received == []  # recording is asked for


def test_a_rule_names_a_known_fault() -> None:
    with pytest.raises(ValueError, match="unknown fault 'gremlins'"):
        Rule("GET", "/", "gremlins")
    with pytest.raises(ValueError, match="must not be negative"):
        Rule("GET", "/", "silent", after=-1)
    assert Rule("POST", "/", "forward_then_reset").carries_out
    assert not Rule("POST", "/", "reset_before_answer").carries_out


@pytest.mark.parametrize("carry_out", [False, True])
def test_a_fault_answers_instead_of_the_emulator_unless_it_carries_the_request_out(
    state_path: str, carry_out: bool
) -> None:
    chaos = Chaos([Rule("POST", "/$/Create", "html_500", carry_out=carry_out)], record=True)
    with EmulatorServer(state_path) as server, http_client(server.url) as client:
        server.set_chaos(chaos)
        response = client.post(CREATE, json=policy())
        assert (response.status_code, response.headers["content-type"]) == (500, "text/html")
        assert b"<title>500 Internal Server Error</title>" in response.content
        assert client.get(LIST).status_code == 200  # no rule for it: the emulator answers
        server.set_chaos(None)
        assert client.post(CREATE, json=policy("p2")).status_code == 201
    assert [(r.method, r.path) for r in chaos.received] == [("POST", CREATE), ("GET", LIST)]
    assert created(state_path) is carry_out


def test_lifting_the_chaos_ends_a_silent_answer(state_path: str) -> None:
    chaos = Chaos([Rule("GET", "/BackupRestore", "silent")], record=True)
    with EmulatorServer(state_path) as server, http_client(server.url, timeout=30) as client:
        server.set_chaos(chaos)
        outcome: list[BaseException] = []
        waiting = threading.Thread(target=lambda: _capture(outcome, lambda: client.get(LIST)))
        waiting.start()
        while not chaos.received:  # the request has reached the server and is being held
            waiting.join(0.01)
        server.set_chaos(None)
        waiting.join()
    assert chaos.released.is_set()
    assert len(outcome) == 1 and isinstance(outcome[0], httpx.RemoteProtocolError)


def _capture(outcome: list[BaseException], call: Callable[[], object]) -> None:
    try:
        call()
    except httpx.HTTPError as exc:  # handed to the test thread
        outcome.append(exc)
