from __future__ import annotations

import json
import string
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sfdeclare.model.addresses import EntityRef
from sfdeclare.model.declaration import ClusterSettings
from sfdeclare.servicefabric import routes
from sfdeclare.servicefabric.routes import ApiOptions, WireRequest

UNRESERVED_OR_PERCENT = set(string.ascii_letters + string.digits + "-._%")
OPTS = ApiOptions()
TILDE = ApiOptions(entity_ids="tilde")
PREVIEW = ApiOptions(api_version="6.2-preview")
APP = EntityRef("fabric:/CalcApp")
SVC = EntityRef("fabric:/CalcApp", "fabric:/CalcApp/CalcService")
PART = EntityRef("fabric:/CalcApp", "fabric:/CalcApp/CalcService", "8f0e2a7c-3c1e-4d7b-9b7e-2f1d0c6a5b4e")


def test_enable_service_matches_the_rest_example() -> None:
    req = routes.enable_backup(SVC, "DailyAzureBackupPolicy", OPTS)
    assert req.method == "POST"
    assert req.path == "/Services/CalcApp/CalcService/$/EnableBackup"
    assert req.query == (("api-version", "6.4"), ("timeout", "60"))
    assert req.body == {"BackupPolicyName": "DailyAzureBackupPolicy"}
    assert req.operation == "EnableBackup service[fabric:/CalcApp/CalcService]"


@pytest.mark.parametrize(
    ("ref", "style", "path"),
    [
        (APP, "slash", "/Applications/CalcApp/$/SuspendBackup"),
        (SVC, "tilde", "/Services/CalcApp~CalcService/$/SuspendBackup"),
        (PART, "slash", "/Partitions/8f0e2a7c-3c1e-4d7b-9b7e-2f1d0c6a5b4e/$/SuspendBackup"),
        (EntityRef("fabric:/a/b", "fabric:/a/b/c"), "slash", "/Services/a/b/c/$/SuspendBackup"),
        (EntityRef("fabric:/a/b", "fabric:/a/b/c"), "tilde", "/Services/a~b~c/$/SuspendBackup"),
        (
            EntityRef("fabric:/my app", "fabric:/my app/s$1"),
            "slash",
            "/Services/my%20app/s%241/$/SuspendBackup",
        ),
    ],
)
def test_entity_paths_are_quoted_per_segment(ref: EntityRef, style: str, path: str) -> None:
    assert routes.suspend_backup(ref, ApiOptions(entity_ids=style)).path == path  # type: ignore[arg-type]


def test_create_policy_adds_name_first_and_keeps_references() -> None:
    body = {"Name": "stale", "Storage": {"StorageKind": "AzureBlobStore", "ConnectionString": "${env:CS}"}}
    req = routes.create_policy("p1", body, OPTS)
    assert req.path == "/BackupRestore/BackupPolicies/$/Create"
    assert req.body == {
        "Name": "p1",
        "Storage": {"StorageKind": "AzureBlobStore", "ConnectionString": "${env:CS}"},
    }
    assert list(req.body or {}) == ["Name", "Storage"]


def test_policy_routes() -> None:
    assert routes.update_policy("a b", {}, OPTS).path == "/BackupRestore/BackupPolicies/a%20b/$/Update"
    assert routes.delete_policy("p", OPTS).path == "/BackupRestore/BackupPolicies/p/$/Delete"
    assert routes.delete_policy("p", OPTS).body is None
    assert routes.get_policy("p", OPTS).method == "GET"
    listing = routes.list_policies(OPTS, "tok+O")
    assert dict(listing.query) == {
        "api-version": "6.4",
        "ContinuationToken": "tok+O",
        "MaxResults": "0",
        "timeout": "60",
    }
    assert (
        routes.policy_entities("p", OPTS).path == "/BackupRestore/BackupPolicies/p/$/GetBackupEnabledEntities"
    )
    with pytest.raises(ValueError):
        routes.get_policy("", OPTS)


def test_disable_backup_body_depends_on_api_version() -> None:
    assert routes.disable_backup(SVC, True, OPTS).body == {"CleanBackup": True}
    assert routes.disable_backup(SVC, False, OPTS).body == {"CleanBackup": False}
    assert routes.disable_backup(SVC, False, PREVIEW).body is None
    assert dict(routes.disable_backup(SVC, False, PREVIEW).query)["api-version"] == "6.2-preview"
    with pytest.raises(ValueError, match="clean_backup"):
        routes.disable_backup(SVC, True, PREVIEW)


def test_configuration_info_pages_except_at_partition_level() -> None:
    assert dict(routes.configuration_info(APP, OPTS, "k+O").query)["ContinuationToken"] == "k+O"
    part = routes.configuration_info(PART, OPTS, "ignored")
    assert "ContinuationToken" not in dict(part.query)


def test_query_routes_use_tilde_and_their_own_versions() -> None:
    assert routes.list_applications(OPTS).query == (("api-version", "6.1"), ("timeout", "60"))
    services = routes.list_services("fabric:/a/b", OPTS, "t")
    assert services.path == "/Applications/a~b/$/GetServices"
    assert services.query == (("api-version", "6.0"), ("ContinuationToken", "t"), ("timeout", "60"))
    parts = routes.list_partitions("fabric:/CalcApp/CalcService", OPTS)
    assert parts.path == "/Services/CalcApp~CalcService/$/GetPartitions"
    assert dict(parts.query)["api-version"] == "6.4"
    assert dict(routes.list_partitions("fabric:/A/S", PREVIEW).query)["api-version"] == "6.0"
    assert routes.get_service("fabric:/A", "fabric:/A/S", OPTS).path == "/Applications/A/$/GetServices/A~S"
    assert routes.get_partition("P", OPTS).path == "/Partitions/P"


def test_timeout_on_every_call() -> None:
    opts = ApiOptions(timeout=5)
    for req in (
        routes.create_policy("p", {}, opts),
        routes.enable_backup(APP, "p", opts),
        routes.list_partitions("fabric:/A/S", opts),
        routes.get_partition("x", opts),
    ):
        assert req.query[-1] == ("timeout", "5")


def test_json_round_trip() -> None:
    req = routes.create_policy("p", {"Storage": {"ConnectionString": "${env:CS}"}}, TILDE)
    data = json.loads(json.dumps(req.to_json()))
    assert data == {
        "method": "POST",
        "path": "/BackupRestore/BackupPolicies/$/Create",
        "query": {"api-version": "6.4", "timeout": "60"},
        "body": {"Name": "p", "Storage": {"ConnectionString": "${env:CS}"}},
        "operation": req.operation,
    }
    back = WireRequest.from_json(data)
    assert (back.method, back.path, back.query, back.body) == (req.method, req.path, req.query, req.body)
    assert back == req
    without_name = {k: v for k, v in data.items() if k != "operation"}
    assert WireRequest.from_json(without_name).operation == "POST /BackupRestore/BackupPolicies/$/Create"
    with pytest.raises(ValueError):
        WireRequest.from_json({**data, "method": "DELETE"})
    with pytest.raises(ValueError):
        WireRequest.from_json({**data, "query": {"a": 1}})


def test_options_from_settings() -> None:
    opts = ApiOptions.from_settings(ClusterSettings(api_version="6.2-preview", entity_ids="tilde"))
    assert opts == ApiOptions("6.2-preview", "tilde", 60)
    assert opts.is_pre_64
    assert not ApiOptions("7.0").is_pre_64


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), min_size=2, max_size=4))
def test_every_name_quotes_to_unreserved_segments_that_round_trip(segments: list[str]) -> None:
    segments = [s.replace("/", "_") for s in segments]
    name = "fabric:/" + "/".join(segments)
    for style, separator in (("slash", "/"), ("tilde", "~")):
        quoted = routes.entity_id(name, style)  # type: ignore[arg-type]
        parts = quoted.split(separator)
        assert [unquote(p) for p in parts] == segments
        assert all(set(p) <= UNRESERVED_OR_PERCENT for p in parts)
