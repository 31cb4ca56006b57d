"""Conformance, backup mappings and suspensions: SF-BACKUP-API.md §1, §5, §6 and rules 16-24."""

from __future__ import annotations

from typing import Any

import pytest
from emulator_support import (
    APP2_PARTITION,
    CACHE_PARTITION,
    CALC_PARTITIONS,
    LEDGER_PARTITION,
    WEB_PARTITION,
    Api,
    error_code,
)

SVC = "Services/CalcApp/CalcService"
APP = "Applications/CalcApp"
P0 = f"Partitions/{CALC_PARTITIONS[0]}"
P1 = f"Partitions/{CALC_PARTITIONS[1]}"
NOT_SUSPENDED = {"IsSuspended": False, "SuspensionInheritedFrom": "Invalid"}


def suspended(level: str) -> dict[str, Any]:
    return {"IsSuspended": True, "SuspensionInheritedFrom": level}


def partition_info(api: Api, pid: str) -> Any:
    response = api.config(f"Partitions/{pid}")
    assert response.status_code == 200, response.text
    return response.json()


def items(api: Api, entity: str, **query: Any) -> list[dict[str, Any]]:
    response = api.config(entity, **query)
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["Items"]
    return found


@pytest.fixture
def p1(api: Api) -> Api:
    assert api.create("p1").status_code == 201
    assert api.create("p2").status_code == 201
    return api


# Rule 16: enable checks in order.


def test_rule16_policy_checked_before_entity(p1: Api) -> None:
    response = p1.enable("Services/CalcApp/Nope", "missing")
    assert (response.status_code, error_code(response)) == (404, "FABRIC_E_BACKUP_POLICY_DOES_NOT_EXIST")


@pytest.mark.parametrize(
    ("entity", "status", "code"),
    [
        ("Applications/Nope", 404, "FABRIC_E_APPLICATION_NOT_FOUND"),
        ("Services/CalcApp/Nope", 404, "FABRIC_E_SERVICE_DOES_NOT_EXIST"),
        ("Services/CalcApp~Nope", 404, "FABRIC_E_SERVICE_DOES_NOT_EXIST"),
        ("Services/Org/Billing/Nope", 404, "FABRIC_E_SERVICE_DOES_NOT_EXIST"),
        ("Partitions/99999999-9999-4999-8999-999999999999", 404, "FABRIC_E_PARTITION_NOT_FOUND"),
        ("Services/CalcApp/Web", 400, "FABRIC_E_INVALID_FOR_STATELESS_SERVICES"),
        ("Services/CalcApp/Cache", 400, "FABRIC_E_INVALID_FOR_STATELESS_SERVICES"),
        (f"Partitions/{WEB_PARTITION}", 400, "FABRIC_E_INVALID_FOR_STATELESS_SERVICES"),
        (f"Partitions/{CACHE_PARTITION}", 400, "FABRIC_E_INVALID_FOR_STATELESS_SERVICES"),
    ],
)
def test_rule16_entity_checks(p1: Api, entity: str, status: int, code: str) -> None:
    response = p1.enable(entity)
    assert (response.status_code, error_code(response)) == (status, code)
    assert p1.get("/BackupRestore/BackupPolicies/p1/$/GetBackupEnabledEntities").json()["Items"] == []


def test_rule16_application_enable_has_no_kind_check(p1: Api) -> None:
    assert p1.enable("Applications/Empty").status_code == 202


def test_rule16_enable_body_validation(p1: Api) -> None:
    bodies: tuple[Any, ...] = ({}, {"BackupPolicyName": ""}, {"BackupPolicyName": 3}, [])
    for body in bodies:
        response = p1.post(f"/{SVC}/$/EnableBackup", body)
        assert (response.status_code, error_code(response)) == (400, "E_INVALIDARG")
        assert "BackupPolicyName" in response.json()["Error"]["Message"]
    no_body = p1.post(f"/{SVC}/$/EnableBackup")
    assert (no_body.status_code, no_body.json()["Error"]["Message"]) == (400, "Invalid Arguments.")


# Rule 17: enable upserts at that key only.


@pytest.mark.parametrize(
    "entity",
    [
        APP,
        SVC,
        "Services/CalcApp~CalcService",
        P0,
        "Services/Org~Billing~Ledger",
        "Services/Org/Billing/Ledger",
        "Applications/Org~Billing",
    ],
)
def test_rule17_enable_every_level_and_id_form(p1: Api, entity: str) -> None:
    assert p1.enable(entity).status_code == 202
    assert p1.enable(entity).status_code == 202
    assert p1.enable(entity, "p2").status_code == 202
    assert p1.get("/BackupRestore/BackupPolicies/p1/$/GetBackupEnabledEntities").json()["Items"] == []
    assert len(p1.get("/BackupRestore/BackupPolicies/p2/$/GetBackupEnabledEntities").json()["Items"]) == 1


def test_rule17_entities_listing_shapes_and_order(p1: Api) -> None:
    p1.enable(P0)
    p1.enable(APP)
    p1.enable(SVC)
    p1.enable("Services/Org~Billing~Ledger")
    found = p1.get("/BackupRestore/BackupPolicies/p1/$/GetBackupEnabledEntities").json()
    assert found["ContinuationToken"] is None
    assert found["Items"] == [
        {"EntityKind": "Application", "ApplicationName": "fabric:/CalcApp"},
        {"EntityKind": "Service", "ServiceName": "fabric:/CalcApp/CalcService"},
        {
            "EntityKind": "Partition",
            "ServiceName": "fabric:/CalcApp/CalcService",
            "PartitionId": CALC_PARTITIONS[0],
        },
        {"EntityKind": "Service", "ServiceName": "fabric:/Org/Billing/Ledger"},
    ]
    first = p1.get("/BackupRestore/BackupPolicies/p1/$/GetBackupEnabledEntities", MaxResults=3).json()
    assert len(first["Items"]) == 3 and first["ContinuationToken"]
    rest = p1.get(
        "/BackupRestore/BackupPolicies/p1/$/GetBackupEnabledEntities",
        MaxResults=3,
        ContinuationToken=first["ContinuationToken"],
    ).json()
    assert rest == {"ContinuationToken": None, "Items": found["Items"][3:]}


def test_rule17_children_keep_overriding(p1: Api) -> None:
    p1.enable(APP, "p1")
    p1.enable(P0, "p2")
    p1.enable(APP, "p2")
    p1.enable(APP, "p1")
    assert partition_info(p1, CALC_PARTITIONS[0])["PolicyName"] == "p2"
    assert partition_info(p1, CALC_PARTITIONS[1])["PolicyName"] == "p1"


# Rule 18: disable.


def test_rule18_disable_needs_exact_mapping(p1: Api) -> None:
    p1.enable(APP)
    response = p1.disable(SVC)
    assert (response.status_code, error_code(response)) == (404, "FABRIC_E_BACKUP_NOT_ENABLED")
    assert p1.disable("Applications/Nope").status_code == 404
    assert error_code(p1.disable("Applications/Nope")) == "FABRIC_E_BACKUP_NOT_ENABLED"


def test_rule18_disable_deletes_only_that_mapping_and_keeps_suspensions(p1: Api) -> None:
    p1.enable(APP)
    p1.enable(SVC, "p2")
    p1.suspend(SVC)
    assert p1.disable(SVC, {"CleanBackup": True}).status_code == 202
    info = partition_info(p1, CALC_PARTITIONS[0])
    assert (info["PolicyName"], info["PolicyInheritedFrom"]) == ("p1", "Application")
    assert info["SuspensionInfo"] == suspended("Service")
    assert p1.disable(APP).status_code == 202
    p1.enable(APP)
    assert partition_info(p1, CALC_PARTITIONS[0])["SuspensionInfo"] == suspended("Service")


def test_rule18_disable_body(p1: Api) -> None:
    p1.enable(SVC)
    for body in ({}, {"CleanBackup": "maybe"}):
        response = p1.disable(SVC, body)
        assert (response.status_code, error_code(response)) == (400, "E_INVALIDARG")
    assert p1.disable(SVC, {"CleanBackup": False}).status_code == 202


def test_rule18_disable_removes_orphan_mapping(p1: Api, state_path: str) -> None:
    from sfdeclare.emulator.state import Store, load_topology_into
    from sfdeclare.emulator.topology import topology_from_dict

    p1.enable("Applications/CalcApp2")
    p1.enable(SVC)
    store = Store(state_path)
    try:
        load_topology_into(store, topology_from_dict({"applications": []}, "t"))
    finally:
        store.close()
    assert p1.disable("Applications/CalcApp2").status_code == 202
    assert p1.disable(SVC).status_code == 202
    assert p1.get("/BackupRestore/BackupPolicies/p1/$/GetBackupEnabledEntities").json()["Items"] == []


# Rule 19: suspend / resume.


@pytest.mark.parametrize("entity", [APP, SVC, P0])
def test_rule19_suspend_needs_a_mapping_in_the_application(p1: Api, entity: str) -> None:
    response = p1.suspend(entity)
    assert (response.status_code, error_code(response)) == (404, "FABRIC_E_BACKUP_NOT_ENABLED")
    assert error_code(p1.resume(entity)) == "FABRIC_E_BACKUP_NOT_ENABLED"
    p1.enable("Applications/CalcApp2")  # the prefix quirk is not reproduced: CalcApp2 is another application
    assert p1.suspend(entity).status_code == 404


def test_rule19_suspend_does_not_check_the_target_is_enabled(p1: Api) -> None:
    p1.enable(P0)
    assert p1.suspend(P1).status_code == 202
    assert p1.suspend(P1).status_code == 202
    # suspended, but no policy applies to it: the 6.4 server answers null there (fidelity audit, finding 7)
    assert partition_info(p1, CALC_PARTITIONS[1]) is None


def test_rule19_resume_is_exact_key_and_a_no_op_when_absent(p1: Api) -> None:
    p1.enable(APP)
    p1.suspend(APP)
    assert p1.resume(SVC).status_code == 202
    assert partition_info(p1, CALC_PARTITIONS[0])["SuspensionInfo"] == suspended("Application")
    assert p1.resume(APP).status_code == 202
    assert partition_info(p1, CALC_PARTITIONS[0])["SuspensionInfo"] == NOT_SUSPENDED


# Rule 20: resolution partition > service > app.


def test_rule20_effective_policy_and_suspension(p1: Api) -> None:
    p1.enable(APP, "p1")
    info = partition_info(p1, CALC_PARTITIONS[0])
    assert (info["PolicyName"], info["PolicyInheritedFrom"], info["SuspensionInfo"]) == (
        "p1",
        "Application",
        NOT_SUSPENDED,
    )
    p1.enable(SVC, "p2")
    p1.suspend(APP)
    info = partition_info(p1, CALC_PARTITIONS[0])
    assert (info["PolicyName"], info["PolicyInheritedFrom"]) == ("p2", "Service")
    assert info["SuspensionInfo"] == suspended("Application")
    p1.suspend(SVC)
    assert partition_info(p1, CALC_PARTITIONS[0])["SuspensionInfo"] == suspended("Service")
    p1.enable(P0, "p1")
    p1.suspend(P0)
    info = partition_info(p1, CALC_PARTITIONS[0])
    assert (info["PolicyName"], info["PolicyInheritedFrom"]) == ("p1", "Partition")
    assert info["SuspensionInfo"] == suspended("Partition")


# Rule 21: configuration info listings.


def test_rule21_partition_level_null_when_nothing_configured(p1: Api) -> None:
    response = p1.config(P0)
    assert (response.status_code, response.content) == (200, b"null")
    p1.enable("Applications/CalcApp2")
    assert p1.config(P0).content == b"null"


@pytest.mark.parametrize("entity", [APP, SVC, "Applications/Nope", "Services/CalcApp/Nope"])
def test_rule21_empty_listing_is_not_enabled(p1: Api, entity: str) -> None:
    response = p1.config(entity)
    assert (response.status_code, error_code(response)) == (404, "FABRIC_E_BACKUP_NOT_ENABLED")


def test_rule21_service_level_listing(p1: Api) -> None:
    p1.enable(APP, "p1")
    p1.enable(P0, "p2")
    p1.suspend(P1)
    listed = items(p1, "Services/CalcApp~CalcService")
    expected_keys = ["Service", "Partition", "Partition"]
    assert [i["Kind"] for i in listed] == expected_keys
    service, *partitions = listed
    assert service == {
        "Kind": "Service",
        "PolicyName": "p1",
        "PolicyInheritedFrom": "Application",
        "SuspensionInfo": NOT_SUSPENDED,
        "ServiceName": "fabric:/CalcApp/CalcService",
    }
    by_id = {i["PartitionId"]: i for i in partitions}
    assert (by_id[CALC_PARTITIONS[0]]["PolicyName"], by_id[CALC_PARTITIONS[0]]["PolicyInheritedFrom"]) == (
        "p2",
        "Partition",
    )
    assert by_id[CALC_PARTITIONS[0]]["SuspensionInfo"] == NOT_SUSPENDED
    assert by_id[CALC_PARTITIONS[1]]["PolicyName"] == "p1"
    assert by_id[CALC_PARTITIONS[1]]["SuspensionInfo"] == suspended("Partition")
    assert CALC_PARTITIONS[2] not in by_id


def test_rule21_application_level_lists_only_overrides(p1: Api) -> None:
    p1.enable(SVC, "p1")
    p1.suspend(P1)
    listed = items(p1, APP)
    assert [i["Kind"] for i in listed] == ["Service", "Partition"]
    assert listed[1]["PolicyName"] == "p1"
    assert listed[1]["PolicyInheritedFrom"] == "Service"  # the docs' intent; 6.4 answered 500 here
    p1.enable(APP, "p2")
    listed = items(p1, APP)
    assert [i["Kind"] for i in listed] == ["Application", "Service", "Partition"]
    assert listed[0] == {
        "Kind": "Application",
        "PolicyName": "p2",
        "PolicyInheritedFrom": "Application",
        "SuspensionInfo": NOT_SUSPENDED,
        "ApplicationName": "fabric:/CalcApp",
    }


def test_rule21_hierarchical_names_round_trip(p1: Api) -> None:
    p1.enable(f"Partitions/{LEDGER_PARTITION}")
    listed = items(p1, "Applications/Org~Billing")
    assert listed == [
        {
            "Kind": "Partition",
            "PolicyName": "p1",
            "PolicyInheritedFrom": "Partition",
            "SuspensionInfo": NOT_SUSPENDED,
            "ServiceName": "fabric:/Org/Billing/Ledger",
            "PartitionId": LEDGER_PARTITION,
        }
    ]
    assert items(p1, "Services/Org/Billing/Ledger") == listed


# Rule 22: paging of configuration info.


def test_rule22_configuration_paging(p1: Api) -> None:
    p1.enable(APP)
    p1.enable(SVC)
    for pid in CALC_PARTITIONS:
        p1.enable(f"Partitions/{pid}")
    everything = items(p1, APP)
    assert len(everything) == 5
    assert items(p1, APP, MaxResults=0) == everything
    seen: list[dict[str, Any]] = []
    token = None
    while True:
        page = p1.config(APP, MaxResults=2, ContinuationToken=token).json()
        assert len(page["Items"]) <= 2
        seen += page["Items"]
        token = page["ContinuationToken"]
        if not token:
            break
    assert seen == everything


# Rule 23: writes are visible at once.


def test_rule23_writes_visible_to_the_next_read(p1: Api) -> None:
    for _ in range(3):
        assert p1.enable(SVC).status_code == 202
        assert partition_info(p1, CALC_PARTITIONS[2])["PolicyName"] == "p1"
        assert p1.disable(SVC).status_code == 202
        assert p1.config(f"Partitions/{CALC_PARTITIONS[2]}").content == b"null"


# Rule 24: lookups.


def test_rule24_applications_not_looked_up_partitions_always(p1: Api) -> None:
    p1.enable(APP)
    assert p1.suspend("Applications/CalcApp").status_code == 202
    assert error_code(p1.suspend("Applications/Ghost")) == "FABRIC_E_BACKUP_NOT_ENABLED"
    assert error_code(p1.config("Applications/Ghost")) == "FABRIC_E_BACKUP_NOT_ENABLED"
    ghost = "Partitions/99999999-9999-4999-8999-999999999999"
    for response in (p1.suspend(ghost), p1.resume(ghost), p1.disable(ghost), p1.config(ghost)):
        assert (response.status_code, error_code(response)) == (404, "FABRIC_E_PARTITION_NOT_FOUND")


def test_rule24_non_guid_partition_ids_are_bad_requests(p1: Api) -> None:
    for response in (p1.enable("Partitions/not-a-guid"), p1.config("Partitions/1234")):
        assert (response.status_code, error_code(response)) == (400, "E_INVALIDARG")


def test_partition_keys_are_case_sensitive(p1: Api) -> None:
    upper = CALC_PARTITIONS[0].upper()
    assert p1.enable(f"Partitions/{upper}").status_code == 202
    assert p1.config(f"Partitions/{upper}").json()["PartitionId"] == upper
    assert p1.config(P0).content == b"null"


def test_prefix_quirk_not_reproduced(p1: Api) -> None:
    p1.enable("Applications/CalcApp2")
    p1.enable(APP)
    p1.suspend(APP)
    info = partition_info(p1, APP2_PARTITION)
    assert info["SuspensionInfo"] == NOT_SUSPENDED
    assert [i["Kind"] for i in items(p1, APP)] == ["Application"]


def test_routes_without_a_body_ignore_one(p1: Api) -> None:
    p1.enable(APP)
    assert (
        p1.client.post(f"/{APP}/$/SuspendBackup", params=p1.params(), content=b"{garbage").status_code == 202
    )
    assert p1.client.post(f"/{APP}/$/ResumeBackup", params=p1.params(), content=b"[]").status_code == 202


def test_rule21_app_item_needs_its_own_mapping_children_show_the_queried_suspension(p1: Api) -> None:
    """§5.4: an application is listed only when it has an explicit mapping (a suspension alone is not enough);
    a child reports its own suspension, else the queried entity's, ignoring the levels in between."""
    p1.enable(P0, "p1")
    p1.suspend(APP)
    p1.suspend(SVC)
    listed = items(p1, APP)
    assert [i["Kind"] for i in listed] == ["Service", "Partition"]
    service, partition = listed
    assert service["SuspensionInfo"] == suspended("Service")
    assert service["PolicyName"] is None and service["PolicyInheritedFrom"] == "Invalid"
    # not the service's suspension: the levels in between are ignored
    assert partition["SuspensionInfo"] == suspended("Application")
    p1.resume(APP)
    partition = items(p1, APP)[1]
    assert partition["SuspensionInfo"] == NOT_SUSPENDED
    # queried at service level, the same partition reports the service's suspension
    assert items(p1, SVC)[-1]["SuspensionInfo"] == suspended("Service")
