"""Periodic backups on the emulator's clock: schedules, chains, suspension, StopBackups, broken storage and
health, retention, CleanBackup, listings and their filters and paging, checked against the project's schema of
the REST spec's BackupInfo."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from emulator_support import (
    CALC_PARTITIONS,
    LEDGER_PARTITION,
    NO_CA,
    Api,
    advance,
    backups,
    error_code,
    policy,
    start_clock,
)

from sfdeclare.emulator.transport import EmulatorTransport

SCHEMA = json.loads(
    (Path(__file__).resolve().parents[1] / "data" / "schemas" / "backup-restore.schema.json").read_text()
)
P0, P1, P2 = (f"Partitions/{p}" for p in CALC_PARTITIONS)
CALC = "Services/CalcApp/CalcService"
ROUTER = ["4d4d4d4d-0000-4000-8000-000000000001", "4d4d4d4d-0000-4000-8000-000000000002"]


def conforms(payload: Any, definition: str) -> None:
    jsonschema.validate(payload, {**SCHEMA, "$ref": f"#/$defs/{definition}"})


@pytest.fixture
def clocked(state_path: str) -> str:
    start_clock(state_path)
    return state_path


@pytest.fixture
def api(clocked: str) -> Api:
    return Api(httpx.Client(transport=EmulatorTransport(clocked), base_url="http://emulator", verify=NO_CA))


def times(items: list[dict[str, Any]]) -> list[str]:
    return [i["CreationTimeUtc"][11:16] for i in items]


def kinds(items: list[dict[str, Any]]) -> str:
    return "".join("F" if i["BackupType"] == "Full" else "i" for i in items)


def hourly(api: Api, name: str = "p1", **changes: Any) -> None:
    body = {"MaxIncrementalBackups": 2, "RetentionPolicy": None, **changes}
    assert api.create(name, **body).status_code == 201


def test_clock_starts_virtual_and_moves_only_when_told(api: Api) -> None:
    assert api.client.get("/$/Emulator/Clock").json() == {"UtcNow": "2024-01-01T00:00:00Z", "Mode": "virtual"}
    moved = advance(api, "PT3H")
    assert (moved.status_code, moved.json()["UtcNow"]) == (200, "2024-01-01T03:00:00Z")
    assert api.client.get("/$/Emulator/Clock").json()["UtcNow"] == "2024-01-01T03:00:00Z"
    for bad in ("3 hours", "-PT1H", ""):
        response = advance(api, bad)
        assert (response.status_code, error_code(response)) == (400, "E_INVALIDARG")
    assert api.client.get("/$/Emulator/Clock/$/Advance").status_code == 405


def test_first_backup_one_interval_after_mapping_then_chains_of_max_incremental(api: Api) -> None:
    hourly(api)
    advance(api, "PT30M")
    api.enable(CALC)  # armed at 00:30
    advance(api, "PT6H")  # to 06:30
    items = backups(api, P0)
    assert times(items) == ["01:30", "02:30", "03:30", "04:30", "05:30", "06:30"]
    assert kinds(items) == "FiiFii"
    for item in items:
        conforms(item, "backupInfo")
    chains = [i["BackupChainId"] for i in items]
    assert chains[:3] == [items[0]["BackupId"]] * 3 and chains[3:] == [items[3]["BackupId"]] * 3
    lsns = [int(i["LsnOfLastBackupRecord"]) for i in items]
    assert lsns == sorted(lsns) and len(set(lsns)) == 6
    assert (
        items[0]["BackupLocation"] == f"CalcApp\\CalcService\\{CALC_PARTITIONS[0]}\\2024-01-01 01.30.00.zip"
    )
    assert (items[0]["ApplicationName"], items[0]["ServiceName"]) == (
        "fabric:/CalcApp",
        "fabric:/CalcApp/CalcService",
    )
    assert items[0]["PartitionInformation"]["ServicePartitionKind"] == "Int64Range"


def test_time_based_daily_and_weekly(api: Api) -> None:
    daily = {
        "ScheduleKind": "TimeBased",
        "ScheduleFrequencyType": "Daily",
        "RunTimes": ["2024-01-01T09:00:00Z", "2024-01-01T21:15:00Z"],
    }
    weekly = {
        "ScheduleKind": "TimeBased",
        "ScheduleFrequencyType": "Weekly",
        "RunDays": ["Wednesday", "Saturday"],
        "RunTimes": ["2024-01-01T02:00:00Z"],
    }
    hourly(api, "daily", Schedule=daily, MaxIncrementalBackups=0)
    hourly(api, "weekly", Schedule=weekly)
    api.enable(P0, "daily")
    api.enable("Services/Org~Billing~Ledger", "weekly")
    advance(api, "P7D")  # Monday 2024-01-01 .. Monday 2024-01-08
    daily_items = backups(api, P0)
    assert len(daily_items) == 14 and kinds(daily_items) == "F" * 14
    assert times(daily_items)[:2] == ["09:00", "21:15"]
    weekly_items = backups(api, f"Partitions/{LEDGER_PARTITION}")
    assert [i["CreationTimeUtc"] for i in weekly_items] == ["2024-01-03T02:00:00Z", "2024-01-06T02:00:00Z"]


def test_suspended_and_unmapped_partitions_get_none_and_resume_rearms(api: Api) -> None:
    hourly(api)
    api.enable(P0)
    api.enable(P1)
    api.suspend(P1)
    advance(api, "PT3H")
    assert len(backups(api, P0)) == 3
    assert backups(api, P1) == []
    missing = api.get(f"{P2}/$/GetBackups")
    assert (missing.status_code, error_code(missing)) == (404, "FABRIC_E_BACKUP_NOT_ENABLED")
    api.resume(P1)  # at 03:00: first backup one interval later
    advance(api, "PT2H")
    assert times(backups(api, P1)) == ["04:00", "05:00"]


def test_stopped_partition_looks_healthy_and_configured_but_takes_nothing(api: Api) -> None:
    hourly(api)
    api.enable(CALC)
    advance(api, "PT1H")
    assert api.client.post(f"/$/Emulator/{P0}/$/StopBackups").status_code == 200
    advance(api, "PT5H")
    assert times(backups(api, P0)) == ["01:00"]
    assert len(backups(api, P1)) == 6
    health = api.get(f"{P0}/$/GetHealth").json()
    assert health["AggregatedHealthState"] == "Ok"
    assert api.config(P0).json()["SuspensionInfo"]["IsSuspended"] is False
    api.client.post(f"/$/Emulator/{P0}/$/StartBackups")  # at 06:00
    advance(api, "PT1H")
    assert times(backups(api, P0)) == ["01:00", "07:00"]
    unknown = api.client.post("/$/Emulator/Partitions/00000000-0000-4000-8000-000000000000/$/StopBackups")
    assert (unknown.status_code, error_code(unknown)) == (404, "FABRIC_E_PARTITION_NOT_FOUND")


def test_broken_storage_writes_nothing_and_warns_until_repaired(api: Api) -> None:
    hourly(api)
    api.enable(CALC)
    advance(api, "PT1H")
    assert api.client.post("/$/Emulator/BackupPolicies/p1/$/BreakStorage").status_code == 200
    advance(api, "PT2H")
    assert times(backups(api, P0)) == ["01:00"]
    health = api.get(f"{P0}/$/GetHealth").json()
    conforms(health, "partitionHealth")
    assert health["AggregatedHealthState"] == "Warning"
    (event,) = [e for e in health["HealthEvents"] if e["SourceId"] == "System.BackupRestoreManager"]
    assert (event["Property"], event["HealthState"]) == ("Backup", "Warning")
    assert event["Description"].startswith("Failed to take periodic backup for this partition")
    assert event["LastWarningTransitionAt"] == "2024-01-01T02:00:00Z"
    assert health["UnhealthyEvaluations"][0]["HealthEvaluation"]["UnhealthyEvent"] == event
    only_warnings = api.get(f"{P0}/$/GetHealth", EventsHealthStateFilter=4).json()["HealthEvents"]
    assert [e["HealthState"] for e in only_warnings] == ["Warning"]
    assert api.client.post("/$/Emulator/BackupPolicies/p1/$/RepairStorage").status_code == 200
    advance(api, "PT1H")
    # the chain went on from the last backup that was written: 01:00 Full, 04:00 Incremental
    assert kinds(backups(api, P0)) == "Fi"
    event = api.get(f"{P0}/$/GetHealth").json()["HealthEvents"][-1]
    assert (event["HealthState"], event["Description"]) == (
        "Ok",
        "Partition successfully backed up at 01/01/2024 04:00:00 GMT",
    )
    missing = api.client.post("/$/Emulator/BackupPolicies/nope/$/BreakStorage")
    assert (missing.status_code, error_code(missing)) == (404, "FABRIC_E_BACKUP_POLICY_DOES_NOT_EXIST")


def test_policy_update_rearms_and_a_new_storage_starts_a_new_chain(api: Api) -> None:
    hourly(api)
    api.enable(P0)
    advance(api, "PT2H")  # 01:00 F, 02:00 i
    update = policy(
        "p1",
        MaxIncrementalBackups=2,
        RetentionPolicy=None,
        Schedule={"ScheduleKind": "FrequencyBased", "Interval": "PT30M"},
    )
    assert api.post("/BackupRestore/BackupPolicies/p1/$/Update", update).status_code == 200
    advance(api, "PT1H")
    items = backups(api, P0)
    assert times(items) == ["01:00", "02:00", "02:30", "03:00"] and kinds(items) == "FiiF"
    moved = policy("p1", MaxIncrementalBackups=2, RetentionPolicy=None)
    moved["Storage"] = {**moved["Storage"], "ContainerName": "elsewhere"}
    api.post("/BackupRestore/BackupPolicies/p1/$/Update", moved)
    advance(api, "PT1H")
    assert kinds(backups(api, P0)) == "F"  # only the new storage is listed now, and it starts with a Full


def test_listing_filters_latest_and_paging(api: Api) -> None:
    hourly(api)
    api.enable("Applications/CalcApp")
    advance(api, "PT4H")
    everything = backups(api, "Applications/CalcApp")
    assert len(everything) == 20  # CalcService's three and Router's two partitions; Web and Cache cannot be
    window = backups(
        api, CALC, StartDateTimeFilter="2024-01-01T02:00:00Z", EndDateTimeFilter="2024-01-01T03:00:00Z"
    )
    assert sorted(set(times(window))) == ["02:00", "03:00"] and len(window) == 6
    latest = backups(api, "Applications/CalcApp", Latest="true")
    assert sorted(i["PartitionInformation"]["Id"] for i in latest) == sorted([*CALC_PARTITIONS, *ROUTER])
    assert set(times(latest)) == {"04:00"}
    assert times(backups(api, P0, Latest="true", EndDateTimeFilter="2024-01-01T02:30:00Z")) == ["02:00"]
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = api.get("/Applications/CalcApp/$/GetBackups", MaxResults=5, ContinuationToken=token).json()
        conforms(page, "pagedBackupInfoList")
        seen += [i["BackupId"] for i in page["Items"]]
        pages += 1
        token = page["ContinuationToken"]
        if token is None:
            break
    assert pages == 4 and sorted(seen) == sorted(i["BackupId"] for i in everything) and len(set(seen)) == 20
    one = api.get("/Applications/CalcApp/$/GetBackups", MaxResults=-1).json()
    assert len(one["Items"]) == 1 and one["ContinuationToken"]
    bad = api.get("/Applications/CalcApp/$/GetBackups", StartDateTimeFilter="yesterday")
    assert (bad.status_code, error_code(bad)) == (400, "E_INVALIDARG")
    unknown = api.get("/Applications/NoSuchApp/$/GetBackups")
    assert (unknown.status_code, error_code(unknown)) == (400, "E_INVALIDARG")
    stateless = api.get("/Services/CalcApp~Web/$/GetBackups")
    assert stateless.status_code == 400


def test_retention_keeps_the_newest_expired_full_and_everything_after(api: Api) -> None:
    retention = {"RetentionPolicyType": "Basic", "RetentionDuration": "PT3H", "MinimumNumberOfBackups": 0}
    hourly(api, RetentionPolicy=retention)  # chains of 3: F i i
    api.enable(P0)
    advance(api, "PT10H")
    # at 10:00 the expired backups are those before 07:00 (07:00 itself is not); the newest expired Full is
    # 04:00, so 01:00-03:00 go and everything from 04:00 on stays.
    items = backups(api, P0)
    assert times(items) == ["04:00", "05:00", "06:00", "07:00", "08:00", "09:00", "10:00"]
    assert kinds(items) == "FiiFiiF"


def test_retention_minimum_keeps_the_oldest_as_the_server_does(api: Api) -> None:
    retention = {"RetentionPolicyType": "Basic", "RetentionDuration": "PT1H", "MinimumNumberOfBackups": 4}
    hourly(api, MaxIncrementalBackups=0, RetentionPolicy=retention)  # every backup is a Full
    api.enable(P0)
    advance(api, "PT8H")
    # expired (before 07:00): 01..06; keep 06 (newest expired Full) and 07, 08; delete newest first while more
    # than 4 remain: 05, 04, 03, 02 go, 01 stays.
    assert times(backups(api, P0)) == ["01:00", "06:00", "07:00", "08:00"]


def test_clean_backup_deletes_unless_the_inherited_policy_uses_the_same_storage(api: Api) -> None:
    hourly(api, "app")
    hourly(api, "same")  # the same storage as "app"
    other = policy("other", MaxIncrementalBackups=2, RetentionPolicy=None)
    other["Storage"] = {**other["Storage"], "ContainerName": "other"}
    api.post("/BackupRestore/BackupPolicies/$/Create", other)
    api.enable("Applications/CalcApp", "app")
    api.enable(P0, "same")
    api.enable(P1, "other")
    advance(api, "PT2H")
    assert api.disable(P0, {"CleanBackup": True}).status_code == 202
    assert api.disable(P1, {"CleanBackup": "true"}).status_code == 202  # a string, as Json.NET reads it
    location = "/BackupRestore/$/GetBackups"

    def stored(storage: dict[str, Any], partition: str) -> int:
        entity = {
            "EntityKind": "Partition",
            "ServiceName": "fabric:/CalcApp/CalcService",
            "PartitionId": partition,
        }
        answer = api.post(location, {"Storage": storage, "BackupEntity": entity})
        assert answer.status_code == 200, answer.text
        return len(answer.json()["Items"])

    assert stored(policy()["Storage"], CALC_PARTITIONS[0]) == 2  # skipped: "app" uses the same storage
    assert stored(other["Storage"], CALC_PARTITIONS[1]) == 0  # cleaned
    assert stored(policy()["Storage"], CALC_PARTITIONS[2]) == 2
    assert api.disable("Applications/CalcApp", {"CleanBackup": True}).status_code == 202
    assert stored(policy()["Storage"], CALC_PARTITIONS[2]) == 0
    assert stored(policy()["Storage"], CALC_PARTITIONS[0]) == 0  # an application's partitions are all cleaned


def test_disable_without_clean_keeps_the_backups(api: Api) -> None:
    hourly(api)
    api.enable(P0)
    advance(api, "PT2H")
    api.disable(P0)
    entity = {"EntityKind": "Service", "ServiceName": "fabric:/CalcApp/CalcService"}
    answer = api.post("/BackupRestore/$/GetBackups", {"Storage": policy()["Storage"], "BackupEntity": entity})
    assert len(answer.json()["Items"]) == 2
    gone = api.get(f"{P0}/$/GetBackups")
    assert (gone.status_code, error_code(gone)) == (404, "FABRIC_E_BACKUP_NOT_ENABLED")
    api.enable(P0)
    advance(api, "PT1H")
    assert kinds(backups(api, P0)) == "FiF"  # a re-enabled partition starts a new chain


def test_body_without_json_content_type_is_415(api: Api) -> None:
    response = api.client.post(
        "/BackupRestore/BackupPolicies/$/Create", params=api.params(), content=json.dumps(policy()).encode()
    )
    assert response.status_code == 415
    text = api.client.post(
        "/BackupRestore/BackupPolicies/$/Create",
        params=api.params(),
        content=json.dumps(policy()).encode(),
        headers={"Content-Type": "text/plain"},
    )
    assert text.status_code == 415
    assert api.get("/BackupRestore/BackupPolicies/p1").status_code == 404
