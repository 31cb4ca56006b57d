"""Microsoft's SDK (azure-servicefabric 8.2) lists, takes and restores the emulator's backups and cleans them
with clean_backup=True: if it cannot send a request or parse an answer, the emulator is wrong."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from emulator_support import CALC_PARTITIONS, CALC_TOPOLOGY, start_clock

from sfdeclare.emulator.server import EmulatorServer
from sfdeclare.emulator.state import init_state

sdk = pytest.importorskip("azure.servicefabric")
models = pytest.importorskip("azure.servicefabric.models")
authentication = pytest.importorskip("msrest.authentication")
P0 = CALC_PARTITIONS[0]


@pytest.fixture
def served(tmp_path: Any) -> Iterator[tuple[Any, EmulatorServer]]:
    state = str(tmp_path / "s.db")
    init_state(state, str(CALC_TOPOLOGY))
    start_clock(state)
    with EmulatorServer(state) as server:
        api = sdk.ServiceFabricClientAPIs(authentication.Authentication(), base_url=server.url)
        yield api, server
        api.close()


def storage(container: str = "c") -> Any:
    return models.AzureBlobBackupStorageDescription(
        connection_string="DefaultEndpointsProtocol=https;AccountName=demo;AccountKey=c2VjcmV0",
        container_name=container,
    )


def make_policy(client: Any, name: str = "p1", container: str = "c", minimum: int = 0) -> None:
    client.create_backup_policy(
        models.BackupPolicyDescription(
            name=name,
            auto_restore_on_data_loss=False,
            max_incremental_backups=2,
            schedule=models.FrequencyBasedBackupScheduleDescription(interval="PT1H"),
            storage=storage(container),
            retention_policy=models.BasicRetentionPolicyDescription(
                retention_duration="PT5H", minimum_number_of_backups=minimum
            ),
        )
    )


def advance(server: EmulatorServer, duration: str) -> None:
    import httpx

    httpx.post(f"{server.url}/$/Emulator/Clock/$/Advance", params={"Duration": duration}).raise_for_status()


def test_sdk_lists_what_the_schedule_implies(served: tuple[Any, EmulatorServer]) -> None:
    client, server = served
    make_policy(client)
    client.enable_service_backup("CalcApp~CalcService", "p1")
    client.suspend_partition_backup(CALC_PARTITIONS[2])
    advance(server, "PT10H")
    listed = client.get_partition_backup_list(P0)
    # retention at 10:00 (PT5H): the newest Full before 05:00 is 04:00; everything from it on is kept
    assert [b.creation_time_utc.hour for b in listed.items] == [4, 5, 6, 7, 8, 9, 10]
    assert [b.backup_type for b in listed.items] == ["Full", "Incremental", "Incremental"] * 2 + ["Full"]
    assert listed.items[1].backup_chain_id == listed.items[0].backup_id
    assert listed.items[0].partition_information.low_key is not None
    assert listed.items[0].epoch_of_last_backup_record.data_loss_version == "1"
    assert client.get_partition_backup_list(CALC_PARTITIONS[2]).items == []  # suspended
    service = client.get_service_backup_list("CalcApp~CalcService", latest=True)
    assert len(service.items) == 2
    application = client.get_application_backup_list(
        "CalcApp",
        start_date_time_filter=datetime(2024, 1, 1, 9, tzinfo=timezone.utc),
        max_results=3,
    )
    assert len(application.items) == 3 and application.continuation_token
    rest = client.get_application_backup_list(
        "CalcApp",
        start_date_time_filter=datetime(2024, 1, 1, 9, tzinfo=timezone.utc),
        continuation_token=application.continuation_token,
    )
    assert len(rest.items) == 1 and rest.continuation_token is None


def test_sdk_clean_backup_removes_them(served: tuple[Any, EmulatorServer]) -> None:
    client, server = served
    make_policy(client)
    client.enable_partition_backup(P0, "p1")
    client.enable_partition_backup(CALC_PARTITIONS[1], "p1")
    advance(server, "PT3H")
    client.disable_partition_backup(P0, clean_backup=True)
    client.disable_partition_backup(CALC_PARTITIONS[1], clean_backup=False)

    def stored(partition: str) -> int:
        query = models.GetBackupByStorageQueryDescription(
            storage=storage(),
            backup_entity=models.PartitionBackupEntity(
                service_name="fabric:/CalcApp/CalcService", partition_id=partition
            ),
        )
        return len(client.get_backups_from_backup_location(query).items)

    assert (stored(P0), stored(CALC_PARTITIONS[1])) == (0, 3)
    with pytest.raises(models.FabricErrorException) as caught:
        client.get_partition_backup_list(P0)
    assert caught.value.error.error.code == "FABRIC_E_BACKUP_NOT_ENABLED"


def test_sdk_backup_and_restore_a_partition(served: tuple[Any, EmulatorServer]) -> None:
    client, server = served
    make_policy(client)
    client.enable_partition_backup(P0, "p1")
    assert client.get_partition_backup_progress(P0) is None
    client.backup_partition(P0, backup_timeout=5)
    assert client.get_partition_backup_progress(P0).backup_state == "Accepted"
    advance(server, "PT1M")
    done = client.get_partition_backup_progress(P0)
    assert (done.backup_state, done.failure_error) == ("Success", None)
    (backup,) = client.get_partition_backup_list(P0).items
    assert (backup.backup_id, backup.backup_location, backup.backup_type) == (
        done.backup_id,
        done.backup_location,
        "Full",
    )
    client.restore_partition(
        P0,
        models.RestorePartitionDescription(
            backup_id=backup.backup_id, backup_location=backup.backup_location
        ),
    )
    advance(server, "PT1M")
    restored = client.get_partition_restore_progress(P0)
    assert restored.restore_state == "Success"
    assert restored.restored_lsn == backup.lsn_of_last_backup_record
    assert restored.restored_epoch.data_loss_version == "2"
