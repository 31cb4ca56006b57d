"""A backup-and-restore runbook against the emulator, in-process and over HTTP: take an on-demand backup, list it
from the storage location, restore it, read the progress to Success; then every refusal with the server's code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from emulator_support import (
    CALC_PARTITIONS,
    LEDGER_PARTITION,
    Api,
    advance,
    backups,
    error_code,
    policy,
    start_clock,
)

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "schemas" / "backup-restore.schema.json").read_text()
)
P0, P1 = CALC_PARTITIONS[0], CALC_PARTITIONS[1]
LOCATION = "/BackupRestore/$/GetBackups"


def conforms(payload: Any, definition: str) -> None:
    jsonschema.validate(payload, {**SCHEMA, "$ref": f"#/$defs/{definition}"})


@pytest.fixture
def clocked(state_path: str) -> str:
    start_clock(state_path)
    return state_path


def in_storage(api: Api, storage: dict[str, Any], **extra: Any) -> list[dict[str, Any]]:
    body = {
        "Storage": storage,
        "BackupEntity": {"EntityKind": "Application", "ApplicationName": "fabric:/CalcApp"},
        **extra,
    }
    answer = api.post(LOCATION, body)
    assert answer.status_code == 200, answer.text
    conforms(answer.json(), "pagedBackupInfoList")
    items: list[dict[str, Any]] = answer.json()["Items"]
    return items


def test_runbook_backup_list_restore(clocked: str, api: Api) -> None:
    assert api.create(RetentionPolicy=None).status_code == 201
    assert api.enable("Services/CalcApp/CalcService").status_code == 202
    assert api.get(f"/Partitions/{P0}/$/GetBackupProgress").json() is None
    assert api.post(f"/Partitions/{P0}/$/Backup", BackupTimeout=5).status_code == 202
    accepted = api.get(f"/Partitions/{P0}/$/GetBackupProgress").json()
    conforms(accepted, "backupProgressInfo")
    assert (accepted["BackupState"], accepted["BackupId"]) == ("Accepted", None)
    advance(api, "PT5S")
    assert api.get(f"/Partitions/{P0}/$/GetBackupProgress").json()["BackupState"] == "BackupInProgress"
    advance(api, "PT1M")
    done = api.get(f"/Partitions/{P0}/$/GetBackupProgress").json()
    conforms(done, "backupProgressInfo")
    assert (done["BackupState"], done["TimeStampUtc"]) == ("Success", "2024-01-01T00:00:10Z")
    (listed,) = in_storage(api, policy()["Storage"])
    assert (listed["BackupId"], listed["BackupLocation"]) == (done["BackupId"], done["BackupLocation"])
    assert listed["BackupType"] == "Full"
    restore = {"BackupId": listed["BackupId"], "BackupLocation": listed["BackupLocation"]}
    assert api.post(f"/Partitions/{P0}/$/Restore", restore, RestoreTimeout=10).status_code == 202
    assert api.get(f"/Partitions/{P0}/$/GetRestoreProgress").json()["RestoreState"] == "Accepted"
    advance(api, "PT1M")
    restored = api.get(f"/Partitions/{P0}/$/GetRestoreProgress").json()
    conforms(restored, "restoreProgressInfo")
    assert restored == {
        "RestoreState": "Success",
        "TimeStampUtc": "2024-01-01T00:01:35Z",
        "RestoredEpoch": {"ConfigurationVersion": "1", "DataLossVersion": "2"},
        "RestoredLsn": listed["LsnOfLastBackupRecord"],
        "FailureError": None,
    }
    advance(api, "PT1H")  # the next periodic backup after a restore is a Full of the new epoch
    latest = backups(api, f"Partitions/{P0}", Latest="true")[0]
    assert (latest["BackupType"], latest["EpochOfLastBackupRecord"]["DataLossVersion"]) == ("Full", "2")


def test_refusals_carry_the_servers_codes(clocked: str, transport_api: Api) -> None:
    api = transport_api
    nothing = api.post(f"/Partitions/{P0}/$/Backup")
    assert (nothing.status_code, error_code(nothing)) == (404, "FABRIC_E_BACKUP_NOT_ENABLED")
    api.create(RetentionPolicy=None)
    api.enable("Services/CalcApp/CalcService")
    api.enable("Services/Org~Billing~Ledger")
    advance(api, "PT2H")
    p0, p1 = backups(api, f"Partitions/{P0}")[0], backups(api, f"Partitions/{P1}")[0]
    restore = f"/Partitions/{P0}/$/Restore"

    def refused(body: Any, status: int, code: str) -> None:
        answer = api.post(restore, body)
        assert (answer.status_code, error_code(answer)) == (status, code), answer.text

    mismatch = "FABRIC_E_RESTORE_SOURCE_TARGET_PARTITION_MISMATCH"
    refused({"BackupId": p1["BackupId"], "BackupLocation": p0["BackupLocation"]}, 400, mismatch)
    refused({"BackupId": p1["BackupId"], "BackupLocation": p1["BackupLocation"]}, 400, mismatch)  # other keys
    ledger = backups(api, f"Partitions/{LEDGER_PARTITION}")[0]
    refused({"BackupId": ledger["BackupId"], "BackupLocation": ledger["BackupLocation"]}, 400, mismatch)
    absent = p0["BackupLocation"].replace("01.00.00", "01.30.00")
    refused({"BackupId": p0["BackupId"], "BackupLocation": absent}, 500, "FABRIC_E_RESTORE_SAFE_CHECK_FAILED")
    other = {**policy()["Storage"], "ContainerName": "elsewhere"}
    refused(
        {**{k: p0[k] for k in ("BackupId", "BackupLocation")}, "BackupStorage": other},
        500,
        "FABRIC_E_RESTORE_SAFE_CHECK_FAILED",
    )
    refused({"BackupLocation": p0["BackupLocation"]}, 400, "E_INVALIDARG")
    missing_body = api.post(restore)
    assert (missing_body.status_code, error_code(missing_body)) == (400, "E_INVALIDARG")
    assert api.post(restore, {k: p0[k] for k in ("BackupId", "BackupLocation")}).status_code == 202
    refused({k: p0[k] for k in ("BackupId", "BackupLocation")}, 409, "FABRIC_E_RESTORE_IN_PROGRESS")
    during = api.post(f"/Partitions/{P0}/$/Backup")
    assert (during.status_code, error_code(during)) == (409, "FABRIC_E_RESTORE_IN_PROGRESS")
    assert api.post(f"/Partitions/{P1}/$/Backup").status_code == 202
    twice = api.post(f"/Partitions/{P1}/$/Backup")
    assert (twice.status_code, error_code(twice)) == (409, "FABRIC_E_BACKUP_IN_PROGRESS")
    stateless = api.post("/Partitions/0f6a8c1e-5b7d-4e2a-9c3b-1a2b3c4d5e6f/$/Backup")
    assert (stateless.status_code, error_code(stateless)) == (400, "FABRIC_E_INVALID_FOR_STATELESS_SERVICES")
    unknown = api.get("/Partitions/00000000-0000-4000-8000-000000000000/$/GetBackupProgress")
    assert (unknown.status_code, error_code(unknown)) == (404, "FABRIC_E_PARTITION_NOT_FOUND")


def test_failure_timeout_and_storage_override(clocked: str, transport_api: Api) -> None:
    api = transport_api
    api.create(RetentionPolicy=None)
    api.enable(f"Partitions/{P0}")
    api.enable(f"Partitions/{P1}")
    api.client.post("/$/Emulator/BackupPolicies/p1/$/BreakStorage")
    api.post(f"/Partitions/{P0}/$/Backup")
    api.client.post(f"/$/Emulator/Partitions/{P1}/$/StopBackups")
    api.post(f"/Partitions/{P1}/$/Backup", BackupTimeout=2)
    advance(api, "PT1M")
    failed = api.get(f"/Partitions/{P0}/$/GetBackupProgress").json()
    assert failed["BackupState"] == "Failure" and failed["FailureError"]["Code"]
    assert api.get(f"/Partitions/{P1}/$/GetBackupProgress").json()["BackupState"] == "BackupInProgress"
    advance(api, "PT1M")
    timed_out = api.get(f"/Partitions/{P1}/$/GetBackupProgress").json()
    assert (timed_out["BackupState"], timed_out["TimeStampUtc"]) == ("Timeout", "2024-01-01T00:02:00Z")
    other = {**policy()["Storage"], "ContainerName": "elsewhere"}
    assert api.post(f"/Partitions/{P0}/$/Backup", {"BackupStorage": other}).status_code == 202
    advance(api, "PT1M")
    assert api.get(f"/Partitions/{P0}/$/GetBackupProgress").json()["BackupState"] == "Success"
    assert len(in_storage(api, other)) == 1
    assert in_storage(api, policy()["Storage"]) == []
    assert backups(api, f"Partitions/{P0}") == []  # GetBackups looks in the policy's storage only


def test_storage_listing_filters_latest_paging_and_bad_bodies(clocked: str, api: Api) -> None:
    api.create(RetentionPolicy=None)
    api.enable("Services/CalcApp/CalcService")
    advance(api, "PT3H")
    storage = policy()["Storage"]
    assert len(in_storage(api, storage)) == 9
    assert len(in_storage(api, storage, Latest=True)) == 3
    window = in_storage(
        api, storage, StartDateTimeFilter="2024-01-01T02:00:00Z", EndDateTimeFilter="2024-01-01T02:00:00Z"
    )
    assert {i["CreationTimeUtc"] for i in window} == {"2024-01-01T02:00:00Z"}
    body = {
        "Storage": storage,
        "BackupEntity": {"EntityKind": "Service", "ServiceName": "fabric:/CalcApp/CalcService"},
    }
    first = api.post(LOCATION, body, MaxResults=4).json()
    second = api.post(LOCATION, body, MaxResults=4, ContinuationToken=first["ContinuationToken"]).json()
    third = api.post(LOCATION, body, MaxResults=4, ContinuationToken=second["ContinuationToken"]).json()
    assert [len(p["Items"]) for p in (first, second, third)] == [4, 4, 1] and third[
        "ContinuationToken"
    ] is None
    ids = [i["BackupId"] for p in (first, second, third) for i in p["Items"]]
    assert len(set(ids)) == 9
    for bad in ({"BackupEntity": body["BackupEntity"]}, {"Storage": storage}, {**body, "Latest": "maybe"}):
        answer = api.post(LOCATION, bad)
        assert (answer.status_code, error_code(answer)) == (400, "E_INVALIDARG")
