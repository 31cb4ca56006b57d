"""Fuzzing: arbitrary JSON shapes for every parser of cluster replies, through the parsers and through the client;
arbitrary YAML documents through the configuration loader. Parsers return a value or raise ClusterError; the
loader returns a Declaration or raises ConfigError; nothing else ever escapes (no KeyError, TypeError, ...)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from typing import Any

import httpx
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfdeclare.cluster.client import Client
from sfdeclare.cluster.retry import NO_RETRY
from sfdeclare.commands.session import connect
from sfdeclare.config.loader import load_declaration
from sfdeclare.errors import ClusterError, ConfigError
from sfdeclare.model.addresses import EntityRef
from sfdeclare.servicefabric import replies

BUDGET = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PARSER_BUDGET = settings(BUDGET, max_examples=60)  # the pure parsers are cheap to cover; generation is not

WIRE_KEYS = (
    "Items", "ContinuationToken", "Name", "TypeName", "ServiceKind", "HasPersistedState", "Kind", "EntityKind",
    "PartitionInformation", "Id", "ServicePartitionKind", "LowKey", "HighKey", "ApplicationName",
    "ServiceName", "PartitionId", "PolicyName", "PolicyInheritedFrom", "SuspensionInfo", "IsSuspended",
    "SuspensionInheritedFrom", "Error", "Code", "Message", "Schedule", "Storage",
)  # fmt: skip
WIRE_WORDS = (
    "Application", "Service", "Partition", "Invalid", "Stateful", "Stateless", "Int64Range", "Named",
    "Singleton", "fabric:/A", "fabric:/A/S", "fabric:/A/S/T", "fabric:/A2/S", "fabric:/", "A/S", "true",
    "false", "12", "-9223372036854775808", "8f0e2a7c-3c1e-4d7b-9b7e-2f1d0c6a5b4e", "", "****",
    "FABRIC_E_BACKUP_NOT_ENABLED",
)  # fmt: skip

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.sampled_from(WIRE_WORDS)
    | st.text(max_size=12)
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(WIRE_KEYS) | st.text(max_size=6), inner, max_size=6)
    ),
    max_leaves=10,
)
objects = st.dictionaries(st.sampled_from(WIRE_KEYS), json_values, max_size=8)
reply_shapes = json_values | objects | st.builds(lambda items, token: {"Items": items, "ContinuationToken": token},
                                            st.lists(objects, max_size=3), scalars)  # fmt: skip
queried = st.sampled_from(
    [
        EntityRef("fabric:/A"),
        EntityRef("fabric:/A", "fabric:/A/S"),
        EntityRef("fabric:/A", "fabric:/A/S", "8f0e2a7c-3c1e-4d7b-9b7e-2f1d0c6a5b4e"),
    ]
)


def only_cluster_errors(parse: Callable[[], Any]) -> None:
    try:
        parse()
    except ClusterError as exc:
        assert str(exc).startswith("op: ") and "\n" not in str(exc)


@PARSER_BUDGET
@given(reply_shapes)
def test_parse_page_and_fabric_error(body: Any) -> None:
    only_cluster_errors(lambda: replies.parse_page(body, "op"))
    error = replies.parse_fabric_error(body)
    assert error is None or (isinstance(error.code, str) and isinstance(error.message, str))


@PARSER_BUDGET
@given(reply_shapes | objects)
def test_parse_policy_and_backup_entity(item: Any) -> None:
    only_cluster_errors(lambda: replies.parse_policy(item, "op"))
    only_cluster_errors(lambda: replies.parse_backup_entity(item, "op"))


@PARSER_BUDGET
@given(reply_shapes | objects)
def test_parse_application_service_partition(item: Any) -> None:
    only_cluster_errors(lambda: replies.parse_application(item, "op"))
    only_cluster_errors(lambda: replies.parse_service(item, "op"))
    only_cluster_errors(lambda: replies.parse_partition(item, "op"))


@PARSER_BUDGET
@given(st.lists(reply_shapes | objects, max_size=4), queried)
def test_configuration_items_and_what_they_reveal(items: list[Any], ref: EntityRef) -> None:
    parsed: list[replies.BackupConfigurationItem] = []
    for item in items:
        try:
            found = replies.parse_configuration_item(item, ref, "op")
        except ClusterError as exc:
            assert str(exc).startswith("op: ")
            continue
        if found is not None:
            parsed.append(found)
    only_cluster_errors(lambda: replies.parse_partition_configuration(items[0] if items else None, ref, "op"))
    explicit = replies.explicit_configuration(parsed)
    assert all(isinstance(policy, str) for policy in explicit.mappings.values())


# --- through the client: every listing, whatever the cluster answers ------------------------------------------


def client_for(body: bytes, status: int) -> Client:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"Content-Type": "application/json"})

    return connect("http://cluster:19080", transport=httpx.MockTransport(handler), retry=NO_RETRY)


CALLS: dict[str, Callable[[Client], Any]] = {
    "list_policies": lambda c: c.list_policies(),
    "get_policy": lambda c: c.get_policy("P"),
    "policy_entities": lambda c: c.policy_entities("P"),
    "list_applications": lambda c: c.list_applications(),
    "list_services": lambda c: c.list_services("fabric:/A"),
    "list_partitions": lambda c: c.list_partitions("fabric:/A/S"),
    "get_service": lambda c: c.get_service("fabric:/A", "fabric:/A/S"),
    "get_partition": lambda c: c.get_partition("8f0e2a7c-3c1e-4d7b-9b7e-2f1d0c6a5b4e"),
    "configuration_info(app)": lambda c: c.configuration_info(EntityRef("fabric:/A")),
    "configuration_info(partition)": lambda c: c.configuration_info(
        EntityRef("fabric:/A", "fabric:/A/S", "8f0e2a7c-3c1e-4d7b-9b7e-2f1d0c6a5b4e")
    ),
}
raw_bodies = (
    reply_shapes.map(lambda value: json.dumps(value).encode())
    | st.binary(max_size=40)
    | st.sampled_from([b"", b"null", b"<html>502</html>", b'{"Items": [', b"\xff\xfe{}"])
)


@BUDGET
@given(st.sampled_from(sorted(CALLS)), raw_bodies, st.sampled_from([200, 204, 400, 404, 500, 502]))
def test_every_client_call_raises_only_cluster_errors(call: str, body: bytes, status: int) -> None:
    with client_for(body, status) as client:
        try:
            CALLS[call](client)
        except ClusterError as exc:
            assert "\n" not in str(exc)


def test_a_cluster_that_pages_forever_is_stopped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sfdeclare.cluster.client.MAX_PAGES", 50)
    pages = iter(range(10**9))

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"Items": [], "ContinuationToken": f"t{next(pages)}"})

    with connect("http://cluster:19080", transport=httpx.MockTransport(handler), retry=NO_RETRY) as client:
        with pytest.raises(ClusterError) as info:
            client.list_policies()
        assert client.requests == 50
    assert "GetBackupPolicyList: " in str(info.value) and "more than 50 pages" in str(info.value)


# --- configurations ----------------------------------------------------------------------------------------

CONFIG_KEYS = (
    "version", "cluster", "endpoint", "api_version", "entity_ids", "tls", "verify", "token", "scope",
    "prune_policies", "clean_backup", "policies", "applications", "services", "partitions", "policy",
    "suspended", "id", "name", "low_key", "MaxIncrementalBackups", "Schedule", "ScheduleKind", "Interval",
    "RunTimes", "RunDays", "ScheduleFrequencyType", "Storage", "StorageKind", "ConnectionString",
    "ContainerName", "Path", "PrimaryPassword", "RetentionPolicy", "RetentionPolicyType", "RetentionDuration",
    "MinimumNumberOfBackups", "AutoRestoreOnDataLoss", "Daily", "App", "Svc", "fabric:/App",
)  # fmt: skip
CONFIG_WORDS = (
    "FrequencyBased", "TimeBased", "AzureBlobStore", "FileShare", "Basic", "PT24H", "P1D", "PT0S", "PT90S",
    "P400D", "10:00", "Monday", "${env:X}", "${file:x}", "${nope}", "$${", "Daily", "App", "declared",
    "cluster", "tilde", "slash", "6.2-preview", "6.4", "none", "8f0e2a7c-3c1e-4d7b-9b7e-2f1d0c6a5b4e",
)  # fmt: skip
config_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**65), max_value=2**65)
    | st.floats(allow_nan=False)
    | st.sampled_from(CONFIG_WORDS)
    | st.text(max_size=10)
)
config_values = st.recursive(
    config_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(CONFIG_KEYS) | st.text(max_size=6), inner, max_size=6)
    ),
    max_leaves=14,
)
documents = (
    st.fixed_dictionaries(
        {},
        optional={key: config_values for key in ("version", "cluster", "policies", "applications", "scope")},
    )
    | config_values
)


@BUDGET
@given(documents)
def test_load_declaration_raises_only_config_errors(document: Any) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "sfdeclare.yaml")
        with open(path, "w", encoding="utf-8") as handle:
            yaml.safe_dump(document, handle, allow_unicode=True)
        try:
            load_declaration([path])
        except ConfigError as exc:
            assert exc.diagnostics
