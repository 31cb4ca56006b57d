from __future__ import annotations

import os

import pytest

from sfdeclare.cluster.endpoint import parse_endpoint, resolve_endpoint
from sfdeclare.errors import ConfigError, EndpointError
from sfdeclare.model.declaration import ClusterSettings

CONFIGURED = ClusterSettings(endpoint="https://config:19080")


def test_precedence() -> None:
    env = {"SFDECLARE_ENDPOINT": "http://env:19080"}
    assert resolve_endpoint("http://cli:1", env, CONFIGURED) == "http://cli:1"
    assert resolve_endpoint(None, env, CONFIGURED) == "http://env:19080"
    assert resolve_endpoint(None, {}, CONFIGURED) == "https://config:19080"
    assert resolve_endpoint("", {"SFDECLARE_ENDPOINT": ""}, CONFIGURED) == "https://config:19080"


def test_missing_endpoint_says_what_to_do() -> None:
    with pytest.raises(EndpointError) as info:
        resolve_endpoint(None, {}, ClusterSettings())
    assert (
        str(info.value) == "no cluster endpoint: pass --endpoint, set SFDECLARE_ENDPOINT or cluster.endpoint"
    )


def test_references_are_resolved() -> None:
    settings = ClusterSettings(endpoint="https://${env:HOST}:19080")
    assert resolve_endpoint(None, {"HOST": "h"}, settings) == "https://h:19080"
    with pytest.raises(ConfigError, match="HOST is not set"):
        resolve_endpoint(None, {}, settings)


def test_emulator_paths_from_the_configuration_are_relative_to_it() -> None:
    settings = ClusterSettings(endpoint="emulator:state.json")
    assert resolve_endpoint(None, {}, settings, base_dir="conf") == "emulator:" + os.path.join(
        "conf", "state.json"
    )
    assert resolve_endpoint("emulator:/tmp/s.json", {}, settings, base_dir="conf") == "emulator:/tmp/s.json"


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("cluster:19080", "is not an endpoint"),
        ("ftp://h:1", "is not an endpoint"),
        ("https://", "is not an endpoint"),
        ("emulator:", "emulator:PATH"),
        ("https://user:pw@h:1", "not in the endpoint URL"),
        ("https://h:1/?x=1", "no query"),
        ("https://h:99999", "invalid port"),
    ],
)
def test_bad_endpoints(value: str, problem: str) -> None:
    with pytest.raises(EndpointError, match=problem) as info:
        parse_endpoint(value, source="--endpoint")
    assert "pw" not in str(info.value)


def test_normal_forms() -> None:
    assert parse_endpoint("https://h:19080/").url == "https://h:19080"
    assert parse_endpoint("http://h:19080/prefix/").url == "http://h:19080/prefix"
    emulator = parse_endpoint("emulator:s.json", base_dir="/x")
    assert (emulator.kind, emulator.state_path, str(emulator)) == (
        "emulator",
        "/x/s.json",
        "emulator:/x/s.json",
    )
