"""Microsoft's Python SDK (azure-servicefabric 8.2.0.0) against the served emulator: if the SDK cannot send a
request or parse an answer, the emulator is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from emulator_support import CALC_PARTITIONS, CALC_TOPOLOGY, LEDGER_PARTITION

from sfdeclare.emulator.server import EmulatorServer
from sfdeclare.emulator.state import init_state

sdk = pytest.importorskip("azure.servicefabric")
models = pytest.importorskip("azure.servicefabric.models")
authentication = pytest.importorskip("msrest.authentication")


@pytest.fixture
def client(tmp_path: Any) -> Iterator[Any]:
    state = str(tmp_path / "s.db")
    init_state(state, str(CALC_TOPOLOGY))
    with EmulatorServer(state, query_page_size=2) as server:
        # The SDK needs a credentials object; the base class signs nothing, which plain HTTP needs.
        api = sdk.ServiceFabricClientAPIs(authentication.Authentication(), base_url=server.url)
        yield api
        api.close()


def blob_policy(name: str, interval: str = "PT24H") -> Any:
    return models.BackupPolicyDescription(
        name=name,
        auto_restore_on_data_loss=False,
        max_incremental_backups=3,
        schedule=models.FrequencyBasedBackupScheduleDescription(interval=interval),
        storage=models.AzureBlobBackupStorageDescription(connection_string="secret-cs", container_name="c"),
        retention_policy=models.BasicRetentionPolicyDescription(
            retention_duration="P10D", minimum_number_of_backups=1
        ),
    )


def code_of(call: Any, *args: Any) -> str:
    with pytest.raises(models.FabricErrorException) as caught:
        call(*args)
    return str(caught.value.error.error.code)


def test_policy_lifecycle(client: Any) -> None:
    client.create_backup_policy(blob_policy("p1", "PT90M"))
    policy = client.get_backup_policy_by_name("p1")
    assert policy.schedule.interval == timedelta(hours=1, minutes=30)
    assert policy.storage.connection_string == "****"
    assert policy.retention_policy.retention_duration == timedelta(days=10)
    share = models.FileShareBackupStorageDescription(
        path="\\\\s\\b", primary_user_name="u", primary_password="pw"
    )
    weekly = models.TimeBasedBackupScheduleDescription(
        schedule_frequency_type="Weekly", run_days=["Monday"], run_times=["2020-01-01T09:00:00Z"]
    )
    update = models.BackupPolicyDescription(
        name="ignored",
        auto_restore_on_data_loss=True,
        max_incremental_backups=0,
        schedule=weekly,
        storage=share,
    )
    client.update_backup_policy(update, "p1")
    policy = client.get_backup_policy_by_name("p1")
    assert (policy.name, policy.auto_restore_on_data_loss, policy.retention_policy) == ("p1", True, None)
    assert (policy.storage.primary_password, policy.storage.secondary_password) == ("****", "****")
    assert policy.schedule.run_days == ["Monday"]
    assert [t.hour for t in policy.schedule.run_times] == [9]
    client.delete_backup_policy("p1")
    assert code_of(client.get_backup_policy_by_name, "p1") in ("FABRIC_E_BACKUP_POLICY_DOES_NOT_EXIST",)


def test_policy_list_paging(client: Any) -> None:
    for i in range(5):
        client.create_backup_policy(blob_policy(f"p{i}"))
    names: list[str] = []
    token = None
    while True:
        page = client.get_backup_policy_list(continuation_token=token, max_results=2)
        names += [p.name for p in page.items]
        token = page.continuation_token
        if not token:
            break
    assert names == [f"p{i}" for i in range(5)]


def test_error_codes(client: Any) -> None:
    client.create_backup_policy(blob_policy("p1"))
    assert code_of(client.create_backup_policy, blob_policy("p1")) == "FABRIC_E_BACKUP_POLICY_ALREADY_EXISTS"
    assert code_of(client.create_backup_policy, blob_policy("bad", "P16D")) == "E_INVALIDARG"
    assert code_of(client.enable_application_backup, "Nope", "p1") == "FABRIC_E_APPLICATION_NOT_FOUND"
    assert code_of(client.enable_service_backup, "CalcApp~Nope", "p1") == "FABRIC_E_SERVICE_DOES_NOT_EXIST"
    assert (
        code_of(client.enable_service_backup, "CalcApp~Web", "p1")
        == "FABRIC_E_INVALID_FOR_STATELESS_SERVICES"
    )
    missing_partition = "99999999-9999-4999-8999-999999999999"
    assert code_of(client.enable_partition_backup, missing_partition, "p1") == "FABRIC_E_PARTITION_NOT_FOUND"
    assert (
        code_of(client.enable_service_backup, "CalcApp~CalcService", "x")
        == "FABRIC_E_BACKUP_POLICY_DOES_NOT_EXIST"
    )
    assert (
        code_of(client.disable_service_backup, "CalcApp~CalcService", False) == "FABRIC_E_BACKUP_NOT_ENABLED"
    )
    assert code_of(client.suspend_application_backup, "CalcApp") == "FABRIC_E_BACKUP_NOT_ENABLED"
    assert (
        code_of(client.get_application_backup_configuration_info, "CalcApp") == "FABRIC_E_BACKUP_NOT_ENABLED"
    )
    client.enable_application_backup("CalcApp", "p1")
    assert code_of(client.delete_backup_policy, "p1") == "FABRIC_E_BACKUP_IS_ENABLED"


def test_every_level(client: Any) -> None:
    client.create_backup_policy(blob_policy("p1"))
    client.create_backup_policy(blob_policy("p2"))
    assert client.get_partition_backup_configuration_info(CALC_PARTITIONS[0]) is None
    client.enable_application_backup("CalcApp", "p1")
    client.enable_service_backup("CalcApp~CalcService", "p2")
    client.enable_partition_backup(CALC_PARTITIONS[0], "p1")
    client.enable_service_backup("Org~Billing~Ledger", "p1")
    client.suspend_application_backup("CalcApp")
    client.suspend_service_backup("CalcApp~CalcService")
    client.suspend_partition_backup(CALC_PARTITIONS[1])

    app = client.get_application_backup_configuration_info("CalcApp")
    assert [(i.kind, i.policy_name, i.policy_inherited_from) for i in app.items] == [
        ("Application", "p1", "Application"),
        ("Service", "p2", "Service"),
        ("Partition", "p1", "Partition"),
        ("Partition", "p2", "Service"),
    ]
    assert app.continuation_token is None
    service = client.get_service_backup_configuration_info("CalcApp~CalcService", max_results=2)
    assert service.continuation_token
    rest = client.get_service_backup_configuration_info(
        "CalcApp~CalcService", continuation_token=service.continuation_token
    )
    kinds = [(i.kind, i.suspension_info.suspension_inherited_from) for i in service.items + rest.items]
    assert kinds == [("Service", "Service"), ("Partition", "Service"), ("Partition", "Partition")]
    partition = client.get_partition_backup_configuration_info(CALC_PARTITIONS[2])
    assert (partition.policy_name, partition.policy_inherited_from) == ("p2", "Service")
    assert (
        partition.suspension_info.is_suspended
        and partition.suspension_info.suspension_inherited_from == "Service"
    )
    assert partition.partition_id == CALC_PARTITIONS[2]

    entities = client.get_all_entities_backed_up_by_policy("p1", max_results=2)
    more = client.get_all_entities_backed_up_by_policy("p1", continuation_token=entities.continuation_token)
    entity_kinds = [e.entity_kind for e in entities.items + more.items]
    assert entity_kinds == ["Application", "Partition", "Service"]

    client.resume_partition_backup(CALC_PARTITIONS[1])
    client.resume_service_backup("CalcApp~CalcService")
    client.resume_application_backup("CalcApp")
    assert not client.get_partition_backup_configuration_info(CALC_PARTITIONS[2]).suspension_info.is_suspended
    client.disable_partition_backup(CALC_PARTITIONS[0], clean_backup=True)
    client.disable_service_backup("CalcApp~CalcService", clean_backup=False)
    client.disable_application_backup("CalcApp", clean_backup=False)
    client.disable_service_backup("Org~Billing~Ledger", clean_backup=False)
    assert client.get_partition_backup_configuration_info(CALC_PARTITIONS[0]) is None
    client.delete_backup_policy("p1")


def test_cluster_queries(client: Any) -> None:
    apps: list[Any] = []
    token = None
    while True:
        page = client.get_application_info_list(continuation_token=token)
        apps += page.items
        token = page.continuation_token
        if not token:
            break
    assert [a.name for a in apps] == [
        "fabric:/CalcApp",
        "fabric:/CalcApp2",
        "fabric:/Empty",
        "fabric:/Org/Billing",
    ]
    assert apps[0].parameters[0].key == "Mode"
    services = client.get_service_info_list("CalcApp")
    assert services.continuation_token
    service = client.get_service_info("CalcApp", "CalcApp~CalcService")
    assert (service.service_kind, service.has_persisted_state) == ("Stateful", True)
    assert client.get_service_info("CalcApp", "CalcApp~Nope") is None
    partitions = client.get_partition_info_list("CalcApp~CalcService")
    assert partitions.continuation_token
    rest = client.get_partition_info_list(
        "CalcApp~CalcService", continuation_token=partitions.continuation_token
    )
    assert [p.partition_information.id for p in partitions.items + rest.items] == CALC_PARTITIONS
    assert int(partitions.items[0].partition_information.low_key) == -(2**63)
    ledger = client.get_partition_info(LEDGER_PARTITION)
    assert (ledger.partition_information.low_key, ledger.partition_information.high_key) == ("0", "99")
    assert client.get_partition_info("99999999-9999-4999-8999-999999999999") is None
