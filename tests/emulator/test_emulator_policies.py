"""Conformance, backup policies: SF-BACKUP-API.md §0, §2, §3, §4 and rules 1-15, in-process and over HTTP."""

from __future__ import annotations

from typing import Any

import pytest
from emulator_support import POLICY, Api, error_code, policy

CREATE = "/BackupRestore/BackupPolicies/$/Create"


def get_policy(api: Api, name: str = "p1") -> dict[str, Any]:
    response = api.get(f"/BackupRestore/BackupPolicies/{name}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# Rule 1: routes and success codes; write responses have empty bodies.


def test_rule01_success_codes_and_empty_write_bodies(api: Api) -> None:
    created = api.create()
    assert (created.status_code, created.content) == (201, b"")
    updated = api.post("/BackupRestore/BackupPolicies/p1/$/Update", policy())
    assert (updated.status_code, updated.content) == (200, b"")
    listed = api.get("/BackupRestore/BackupPolicies")
    assert listed.status_code == 200
    assert listed.headers["content-type"].startswith("application/json")
    assert api.get("/BackupRestore/BackupPolicies/p1/$/GetBackupEnabledEntities").status_code == 200
    deleted = api.post("/BackupRestore/BackupPolicies/p1/$/Delete")
    assert (deleted.status_code, deleted.content) == (200, b"")
    assert api.get("/BackupRestore/BackupPolicies/p1").status_code == 404


# Rule 2: api-version.


@pytest.mark.parametrize(
    "version", [None, "", "6.2", "6.3", "6.2-preview", "6.4-preview", "abc", "7.0-preview"]
)
def test_rule02_invalid_api_versions(api: Api, version: str | None) -> None:
    params = {} if version is None else {"api-version": version}
    response = api.client.get("/BackupRestore/BackupPolicies", params=params)
    assert response.status_code == 400
    assert error_code(response) == "E_INVALIDARG"
    assert response.json()["Error"]["Message"] == "Invalid API Version"


@pytest.mark.parametrize("version", ["6.4", "7.0", "8.2", "10"])
def test_rule02_numeric_versions_from_6_4(api: Api, version: str) -> None:
    assert api.client.get("/BackupRestore/BackupPolicies", params={"api-version": version}).status_code == 200


def test_rule02_invalid_version_changes_nothing(api: Api) -> None:
    response = api.client.post(CREATE, params={"api-version": "6.2-preview"}, json=policy())
    assert response.status_code == 400
    assert api.get("/BackupRestore/BackupPolicies/p1").status_code == 404


# Rule 3: error shape and the status map; 404 header.


def test_rule03_error_shape_status_and_not_found_header(api: Api) -> None:
    missing = api.get("/BackupRestore/BackupPolicies/none")
    assert missing.status_code == 404
    assert missing.headers["x-servicefabric"] == "ResourceNotFound"
    assert missing.headers["x-content-type-options"] == "nosniff"
    assert error_code(missing) == "FABRIC_E_BACKUP_POLICY_DOES_NOT_EXIST"
    api.create()
    conflict = api.create()
    assert conflict.status_code == 409
    assert "x-servicefabric" not in conflict.headers


# Rule 4: role -> model validation -> api-version -> business logic.


def test_rule04_model_validation_precedes_api_version(api: Api) -> None:
    response = api.client.post(CREATE, params={"api-version": "1.0"}, json={"Name": "x"})
    assert response.status_code == 400
    assert "ModelState" in response.json()["Error"]["Message"]


def test_rule04_api_version_precedes_business_logic(api: Api) -> None:
    response = api.client.get("/BackupRestore/BackupPolicies/none", params={"api-version": "6.0"})
    assert (response.status_code, response.json()["Error"]["Message"]) == (400, "Invalid API Version")


def test_rule04_roles(api: Api) -> None:
    api.create()
    user = {"X-Role": "User"}
    listed = api.client.get("/BackupRestore/BackupPolicies", params=api.params(), headers=user)
    assert listed.status_code == 200
    denied = api.client.post(CREATE, params=api.params(), json=policy("p2"), headers=user)
    assert (denied.status_code, error_code(denied)) == (403, "E_ACCESSDENIED")
    stranger = api.client.get(
        "/BackupRestore/BackupPolicies", params=api.params(), headers={"X-Role": "Guest"}
    )
    assert stranger.status_code == 403
    assert api.get("/BackupRestore/BackupPolicies/p2").status_code == 404


def test_rule04_missing_body_is_checked_after_api_version(api: Api) -> None:
    no_body = api.post(CREATE)
    assert (no_body.status_code, no_body.json()["Error"]["Message"]) == (400, "Invalid Arguments.")
    bad_version = api.client.post(CREATE, params={"api-version": "1.0"})
    assert bad_version.json()["Error"]["Message"] == "Invalid API Version"


# Rule 5: the name.


@pytest.mark.parametrize("name", [None, "", "   "])
def test_rule05_name_required(api: Api, name: str | None) -> None:
    response = api.post(CREATE, policy(Name=name))
    assert (response.status_code, error_code(response)) == (400, "E_INVALIDARG")


def test_rule05_name_case_sensitive_and_no_charset_rule(api: Api) -> None:
    assert api.create("Daily").status_code == 201
    assert api.create("daily").status_code == 201
    assert api.create("nightly backup #1 (ü)").status_code == 201
    names = [p["Name"] for p in api.get("/BackupRestore/BackupPolicies").json()["Items"]]
    assert sorted(names) == sorted(["Daily", "daily", "nightly backup #1 (ü)"])
    assert get_policy(api, "nightly backup %231 (ü)")["Name"] == "nightly backup #1 (ü)"


# Rule 6: MaxIncrementalBackups.


@pytest.mark.parametrize(
    ("value", "status"), [(0, 201), (255, 201), ("3", 201), (-1, 400), (256, 400), ("x", 400)]
)
def test_rule06_max_incremental_backups(api: Api, value: Any, status: int) -> None:
    assert api.post(CREATE, policy(MaxIncrementalBackups=value)).status_code == status


def test_rule06_max_incremental_backups_required(api: Api) -> None:
    body = policy()
    del body["MaxIncrementalBackups"]
    assert api.post(CREATE, body).status_code == 400


# Rule 7: discriminators are case-sensitive.


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("Schedule", {"ScheduleKind": "frequencyBased", "Interval": "PT1H"}),
        ("Schedule", {"Interval": "PT1H"}),
        ("Storage", {"StorageKind": "azureblobstore", "ConnectionString": "x", "ContainerName": "c"}),
        ("Storage", {"ContainerName": "c"}),
        ("RetentionPolicy", {"RetentionPolicyType": "basic", "RetentionDuration": "P1D"}),
        ("RetentionPolicy", {"RetentionDuration": "P1D"}),
    ],
)
def test_rule07_discriminators(api: Api, field: str, value: dict[str, Any]) -> None:
    overrides: dict[str, Any] = {field: value}
    response = api.post(CREATE, policy(**overrides))
    assert (response.status_code, error_code(response)) == (400, "E_INVALIDARG")


# Rule 8: interval.


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("PT1H", "PT1H"),
        ("PT24H", "P1D"),
        ("PT90M", "PT1H30M"),
        ("PT1M30S", "PT1M"),
        ("PT2H0M30S", "PT2H"),
        ("P15D", "P15D"),
        ("P1DT2H", "P1DT2H"),
        ("PT5M", "PT5M"),
    ],
)
def test_rule08_interval_normalised(api: Api, sent: str, stored: str) -> None:
    assert api.create(Schedule={"ScheduleKind": "FrequencyBased", "Interval": sent}).status_code == 201
    assert get_policy(api)["Schedule"] == {"ScheduleKind": "FrequencyBased", "Interval": stored}


@pytest.mark.parametrize("interval", ["P15DT1M", "P16D", "PT0S", "PT0M", "PT30S", "-PT1H", "1 hour", "P", ""])
def test_rule08_interval_rejected(api: Api, interval: str) -> None:
    response = api.create(Schedule={"ScheduleKind": "FrequencyBased", "Interval": interval})
    assert (response.status_code, error_code(response)) == (400, "E_INVALIDARG")


# Rule 9: time-based schedules.


def test_rule09_run_times_and_days_normalised(api: Api) -> None:
    schedule = {
        "ScheduleKind": "TimeBased",
        "ScheduleFrequencyType": "Weekly",
        "RunDays": ["Monday", "monday", "Friday"],
        "RunTimes": ["2018-01-01T09:00:00Z", "0001-01-01T09:00:00Z", "2020-05-05T23:30:00+02:00", "10:00"],
    }
    schedule["RunTimes"] = schedule["RunTimes"][:3]
    assert api.create(Schedule=schedule).status_code == 201
    assert get_policy(api)["Schedule"] == {
        "ScheduleKind": "TimeBased",
        "ScheduleFrequencyType": "Weekly",
        "RunDays": ["Monday", "Friday"],
        "RunTimes": ["0001-01-01T09:00:00Z", "0001-01-01T21:30:00Z"],
    }


def test_rule09_daily_needs_no_days_and_empty_run_times_pass(api: Api) -> None:
    schedule = {"ScheduleKind": "TimeBased", "ScheduleFrequencyType": "Daily", "RunTimes": []}
    assert api.create(Schedule=schedule).status_code == 201
    assert get_policy(api)["Schedule"]["RunDays"] == []


@pytest.mark.parametrize(
    "schedule",
    [
        {
            "ScheduleKind": "TimeBased",
            "ScheduleFrequencyType": "Weekly",
            "RunTimes": ["09:00"],
            "RunDays": [],
        },
        {
            "ScheduleKind": "TimeBased",
            "ScheduleFrequencyType": "Weekly",
            "RunTimes": ["2018-01-01T09:00:00Z"],
        },
        {"ScheduleKind": "TimeBased", "ScheduleFrequencyType": "Daily"},
        {"ScheduleKind": "TimeBased", "ScheduleFrequencyType": "Daily", "RunTimes": None},
        {"ScheduleKind": "TimeBased", "ScheduleFrequencyType": "Hourly", "RunTimes": []},
        {"ScheduleKind": "TimeBased", "RunTimes": []},
        {"ScheduleKind": "TimeBased", "ScheduleFrequencyType": "Daily", "RunTimes": ["nine o'clock"]},
        {
            "ScheduleKind": "TimeBased",
            "ScheduleFrequencyType": "Weekly",
            "RunTimes": [],
            "RunDays": ["Funday"],
        },
    ],
)
def test_rule09_time_based_rejected(api: Api, schedule: dict[str, Any]) -> None:
    assert api.create(Schedule=schedule).status_code == 400


# Rule 10: retention.


@pytest.mark.parametrize(("sent", "stored"), [("P10D", "P10D"), ("PT1H59M", "PT1H"), ("PT36H", "P1DT12H")])
def test_rule10_retention_truncated_to_hours(api: Api, sent: str, stored: str) -> None:
    retention = {"RetentionPolicyType": "Basic", "RetentionDuration": sent, "MinimumNumberOfBackups": 20}
    assert api.create(RetentionPolicy=retention).status_code == 201
    assert get_policy(api)["RetentionPolicy"] == {**retention, "RetentionDuration": stored}


@pytest.mark.parametrize("duration", ["PT59M", "PT0S", "-P1D", None])
def test_rule10_retention_under_an_hour_rejected(api: Api, duration: str | None) -> None:
    retention = {"RetentionPolicyType": "Basic", "RetentionDuration": duration}
    assert api.create(RetentionPolicy=retention).status_code == 400


def test_rule10_retention_optional(api: Api) -> None:
    body = policy()
    del body["RetentionPolicy"]
    assert api.post(CREATE, body).status_code == 201
    assert get_policy(api)["RetentionPolicy"] is None


# Rule 11: storage fields.


@pytest.mark.parametrize(
    "storage",
    [
        {"StorageKind": "AzureBlobStore", "ContainerName": "c"},
        {"StorageKind": "AzureBlobStore", "ConnectionString": "x"},
        {"StorageKind": "AzureBlobStore", "ConnectionString": "", "ContainerName": "c"},
        {"StorageKind": "FileShare"},
        {"StorageKind": "DsmsAzureBlobStore", "ContainerName": "c"},
        {"StorageKind": "DsmsAzureBlobStore", "StorageCredentialsSourceLocation": "x"},
    ],
)
def test_rule11_required_storage_fields(api: Api, storage: dict[str, Any]) -> None:
    assert api.create(Storage=storage).status_code == 400


def test_rule11_friendly_name_defaults_to_empty(api: Api) -> None:
    storage = {
        "StorageKind": "DsmsAzureBlobStore",
        "StorageCredentialsSourceLocation": "loc",
        "ContainerName": "c",
    }
    assert api.create(Storage=storage).status_code == 201
    assert get_policy(api)["Storage"] == {**storage, "FriendlyName": ""}


# Rule 12: 409 and 404.


def test_rule12_duplicate_and_missing(api: Api) -> None:
    api.create()
    conflict = api.create()
    assert (conflict.status_code, error_code(conflict)) == (409, "FABRIC_E_BACKUP_POLICY_ALREADY_EXISTS")
    for response in (
        api.get("/BackupRestore/BackupPolicies/P1"),
        api.post("/BackupRestore/BackupPolicies/P1/$/Update", policy("P1")),
        api.post("/BackupRestore/BackupPolicies/P1/$/Delete"),
        api.get("/BackupRestore/BackupPolicies/P1/$/GetBackupEnabledEntities"),
    ):
        assert (response.status_code, error_code(response)) == (404, "FABRIC_E_BACKUP_POLICY_DOES_NOT_EXIST")


# Rule 13: update.


def test_rule13_update_replaces_ignores_name_changes_kind_keeps_mappings(api: Api) -> None:
    api.create()
    assert api.enable("Applications/CalcApp").status_code == 202
    body = policy("renamed", MaxIncrementalBackups=7)
    body["Storage"] = {"StorageKind": "FileShare", "Path": "\\\\share\\b", "PrimaryUserName": "u"}
    del body["RetentionPolicy"]
    assert api.post("/BackupRestore/BackupPolicies/p1/$/Update", body).status_code == 200
    stored = get_policy(api)
    assert stored["Name"] == "p1"
    assert stored["MaxIncrementalBackups"] == 7
    assert stored["RetentionPolicy"] is None
    assert stored["Storage"]["StorageKind"] == "FileShare"
    assert api.get("/BackupRestore/BackupPolicies/renamed").status_code == 404
    entities = api.get("/BackupRestore/BackupPolicies/p1/$/GetBackupEnabledEntities").json()
    assert entities["Items"] == [{"EntityKind": "Application", "ApplicationName": "fabric:/CalcApp"}]


def test_rule13_update_validates_and_needs_a_name(api: Api) -> None:
    api.create()
    assert api.post("/BackupRestore/BackupPolicies/p1/$/Update", policy("")).status_code == 400
    assert api.post("/BackupRestore/BackupPolicies/p1/$/Update").status_code == 400
    assert get_policy(api)["MaxIncrementalBackups"] == POLICY["MaxIncrementalBackups"]


# Rule 14: secrets.


def test_rule14_secrets_masked_on_every_read(api: Api) -> None:
    api.create("blob")
    api.create(
        "share",
        Storage={
            "StorageKind": "FileShare",
            "Path": "\\\\s\\p",
            "PrimaryUserName": "u",
            "PrimaryPassword": "pw-1",
        },
    )
    api.create("bare", Storage={"StorageKind": "FileShare", "Path": "\\\\s\\p"})
    assert get_policy(api, "blob")["Storage"]["ConnectionString"] == "****"
    share = get_policy(api, "share")["Storage"]
    assert (share["PrimaryPassword"], share["SecondaryPassword"], share["PrimaryUserName"]) == (
        "****",
        "****",
        "u",
    )
    bare = get_policy(api, "bare")["Storage"]
    assert (bare["PrimaryPassword"], bare["SecondaryPassword"]) == ("****", "****")
    listing = api.get("/BackupRestore/BackupPolicies").text
    assert "c2VjcmV0" not in listing and "pw-1" not in listing


def test_rule14_masked_value_sent_back_is_stored(api: Api, state_path: str) -> None:
    import sqlite3

    api.create()
    assert api.post("/BackupRestore/BackupPolicies/p1/$/Update", get_policy(api)).status_code == 200
    with sqlite3.connect(state_path) as conn:
        (body,) = conn.execute("SELECT body FROM policies WHERE name = 'p1'").fetchone()
    assert '"ConnectionString":"****"' in body


# Rule 15: delete.


def test_rule15_delete_refused_while_mapped(api: Api) -> None:
    api.create()
    api.enable("Services/CalcApp/CalcService")
    refused = api.post("/BackupRestore/BackupPolicies/p1/$/Delete")
    assert (refused.status_code, error_code(refused)) == (400, "FABRIC_E_BACKUP_IS_ENABLED")
    api.disable("Services/CalcApp/CalcService")
    assert api.post("/BackupRestore/BackupPolicies/p1/$/Delete").status_code == 200


def test_rule15_delete_purges_mappings_of_entities_gone_from_the_cluster(api: Api, state_path: str) -> None:
    from sfdeclare.emulator.state import Store, load_topology_into
    from sfdeclare.emulator.topology import topology_from_dict

    api.create()
    api.enable("Services/CalcApp/CalcService")
    api.enable("Applications/CalcApp2")
    store = Store(state_path)
    try:
        load_topology_into(store, topology_from_dict({"applications": [{"name": "fabric:/CalcApp2"}]}, "t"))
    finally:
        store.close()
    refused = api.post("/BackupRestore/BackupPolicies/p1/$/Delete")
    assert error_code(refused) == "FABRIC_E_BACKUP_IS_ENABLED"
    entities = api.get("/BackupRestore/BackupPolicies/p1/$/GetBackupEnabledEntities").json()["Items"]
    assert entities == [{"EntityKind": "Application", "ApplicationName": "fabric:/CalcApp2"}]


# §2 list paging and §3 JSON leniency.


def test_list_paging_by_name_with_opaque_tokens(api: Api) -> None:
    names = [f"p{i:02d}" for i in range(7)]
    for name in reversed(names):
        api.create(name)
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = api.get("/BackupRestore/BackupPolicies", MaxResults=3, ContinuationToken=token).json()
        seen += [p["Name"] for p in page["Items"]]
        pages += 1
        token = page["ContinuationToken"]
        if not token:
            break
    assert (seen, pages) == (names, 3)
    assert [
        p["Name"] for p in api.get("/BackupRestore/BackupPolicies", MaxResults=0).json()["Items"]
    ] == names
    # MaxResults is a 32-bit int on the backup service: negative pages one item at a time, beyond int32 is a
    # binding error (fidelity audit C; 6.4 BaseStore.cs).
    one = api.get("/BackupRestore/BackupPolicies", MaxResults=-1).json()
    assert ([p["Name"] for p in one["Items"]], one["ContinuationToken"]) == (names[:1], names[0])
    assert api.get("/BackupRestore/BackupPolicies", MaxResults=2147483648).status_code == 400


def test_numeric_and_boolean_strings_accepted_unknown_fields_ignored(api: Api) -> None:
    body = policy(MaxIncrementalBackups="5", AutoRestoreOnDataLoss="true", Extra={"x": 1})
    assert api.post(CREATE, body, ValidateConnection="false", unknown="1").status_code == 201
    stored = get_policy(api)
    assert (stored["MaxIncrementalBackups"], stored["AutoRestoreOnDataLoss"]) == (5, True)
    assert "Extra" not in stored


def test_get_returns_every_field_with_nulls(api: Api) -> None:
    api.create(Storage={"StorageKind": "FileShare", "Path": "p"})
    storage = get_policy(api)["Storage"]
    assert storage == {
        "StorageKind": "FileShare",
        "FriendlyName": "",
        "Path": "p",
        "PrimaryUserName": None,
        "PrimaryPassword": "****",
        "SecondaryUserName": None,
        "SecondaryPassword": "****",
    }
