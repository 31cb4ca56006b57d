from __future__ import annotations

from typing import Any

import pytest

from sfdeclare.errors import ClusterError
from sfdeclare.model.addresses import EntityRef
from sfdeclare.model.live import LiveApplication, LivePartition, LiveService
from sfdeclare.servicefabric import codes, replies

APP = EntityRef("fabric:/A")
SVC = EntityRef("fabric:/A", "fabric:/A/S")
PART = EntityRef("fabric:/A", "fabric:/A/S", "p1")
OP = "GetBackupConfigurationInfo application[fabric:/A]"


def item(
    kind: str, policy: str | None, inherited: str, suspended_from: str | None = None, **names: str
) -> dict[str, Any]:
    data: dict[str, Any] = {"Kind": kind, "PolicyName": policy, "PolicyInheritedFrom": inherited}
    data.update(names)
    data["SuspensionInfo"] = {
        "IsSuspended": suspended_from is not None,
        "SuspensionInheritedFrom": suspended_from or "Invalid",
    }
    return data


def parse_all(items: list[dict[str, Any]], queried: EntityRef = APP) -> replies.ExplicitConfiguration:
    parsed = [replies.parse_configuration_item(i, queried, OP) for i in items]
    return replies.explicit_configuration(p for p in parsed if p is not None)


def test_explicit_versus_inherited_mappings() -> None:
    config = parse_all(
        [
            item("Application", "daily", "Application", ApplicationName="fabric:/A"),
            item("Service", "hourly", "Service", ServiceName="fabric:/A/S"),
            item("Partition", "big", "Partition", ServiceName="fabric:/A/S", PartitionId="p1"),
            # suspended child without its own mapping: inherits, so no mapping of its own
            item("Partition", "hourly", "Service", "Partition", ServiceName="fabric:/A/S", PartitionId="p2"),
        ]
    )
    assert config.mappings == {
        APP: "daily",
        SVC: "hourly",
        PART: "big",
    }
    assert config.suspensions == {EntityRef("fabric:/A", "fabric:/A/S", "p2")}


def test_application_suspension_is_seen_through_children() -> None:
    # the app has no mapping of its own, so it is not listed; its suspension shows in its children
    config = parse_all(
        [
            item("Service", "hourly", "Service", "Application", ServiceName="fabric:/A/S"),
            item("Service", "hourly", "Service", "Service", ServiceName="fabric:/A/T"),
        ]
    )
    assert config.mappings == {SVC: "hourly", EntityRef("fabric:/A", "fabric:/A/T"): "hourly"}
    assert config.suspensions == {APP, EntityRef("fabric:/A", "fabric:/A/T")}


def test_application_item_suspended_at_its_own_level() -> None:
    config = parse_all([item("Application", "d", "Application", "Application", ApplicationName="fabric:/A")])
    assert config.suspensions == {APP}
    assert config.mappings == {APP: "d"}


def test_service_level_query_reveals_ancestor_mapping_and_suspension() -> None:
    config = parse_all(
        [
            item("Service", "daily", "Application", "Application", ServiceName="fabric:/A/S"),
            item("Partition", "big", "Partition", "Application", ServiceName="fabric:/A/S", PartitionId="p1"),
        ],
        queried=SVC,
    )
    assert config.mappings == {APP: "daily", PART: "big"}
    assert config.suspensions == {APP}


def test_own_item_wins_over_a_revealed_ancestor() -> None:
    config = parse_all(
        [
            item("Partition", "x", "Application", "Partition", ServiceName="fabric:/A/S", PartitionId="p1"),
            item("Application", "daily", "Application", ApplicationName="fabric:/A"),
        ]
    )
    assert config.mappings == {APP: "daily"}


def test_prefix_quirk_items_of_other_applications_are_ignored() -> None:
    config = parse_all(
        [
            item("Application", "d", "Application", ApplicationName="fabric:/A"),
            item("Service", "x", "Service", ServiceName="fabric:/A2/S"),
            item("Partition", "x", "Partition", "Partition", ServiceName="fabric:/AB/S", PartitionId="q"),
        ]
    )
    assert config.mappings == {APP: "d"}
    assert config.suspensions == frozenset()


def test_deep_names_take_their_application_from_the_query() -> None:
    queried = EntityRef("fabric:/a/b")
    parsed = replies.parse_configuration_item(
        item("Service", "p", "Service", ServiceName="fabric:/a/b/c"), queried, OP
    )
    assert parsed is not None
    assert parsed.ref == EntityRef("fabric:/a/b", "fabric:/a/b/c")
    assert parsed.explicit_policy == "p"
    assert not parsed.explicitly_suspended


def test_partition_level_null_is_empty() -> None:
    assert replies.parse_partition_configuration(None, PART, OP) == []
    one = replies.parse_partition_configuration(
        item("Partition", "h", "Service", "Service", ServiceName="fabric:/A/S", PartitionId="p1"), PART, OP
    )
    assert [(i.ref, i.explicit_policy, i.suspended, i.explicitly_suspended) for i in one] == [
        (PART, None, True, False)
    ]


def test_suspended_child_without_any_policy() -> None:
    data = {
        "Kind": "Service",
        "ServiceName": "fabric:/A/S",
        "PolicyName": None,
        "PolicyInheritedFrom": "Invalid",
        "SuspensionInfo": {"IsSuspended": True, "SuspensionInheritedFrom": "Service"},
    }
    config = parse_all([data])
    assert config.mappings == {}
    assert config.suspensions == {SVC}


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ([], "not a JSON object"),
        ({"Kind": "Cluster"}, "unknown Kind"),
        ({"Kind": "Service"}, "no ServiceName"),
        ({"Kind": "Partition", "ServiceName": "fabric:/A/S"}, "no PartitionId"),
        ({"Kind": "Application", "ApplicationName": "fabric:/A", "PolicyName": "p"}, "PolicyInheritedFrom"),
        (
            {
                "Kind": "Application",
                "ApplicationName": "fabric:/A",
                "PolicyName": "p",
                "PolicyInheritedFrom": "Bogus",
            },
            "PolicyInheritedFrom",
        ),
        ({"Kind": "Application", "ApplicationName": "fabric:/A", "SuspensionInfo": "yes"}, "SuspensionInfo"),
        (
            {
                "Kind": "Application",
                "ApplicationName": "fabric:/A",
                "SuspensionInfo": {"IsSuspended": True, "SuspensionInheritedFrom": "Invalid"},
            },
            "SuspensionInheritedFrom",
        ),
    ],
)
def test_bad_configuration_items_are_cluster_errors(data: Any, problem: str) -> None:
    with pytest.raises(ClusterError) as info:
        replies.parse_configuration_item(data, APP, OP)
    assert problem in str(info.value)
    assert str(info.value).startswith(OP + ": 200: unexpected reply")


def test_fabric_error_codes_are_normalised() -> None:
    err = replies.parse_fabric_error(
        {"Error": {"Code": "FABRIC_E_BACKUP_POLICY_NOT_EXISTING", "Message": "m"}}
    )
    assert err == replies.FabricError(codes.POLICY_DOES_NOT_EXIST, "m")
    err = replies.parse_fabric_error({"Error": {"Code": "FABRIC_E_BACKUP_POLICY_ALREADY_EXISTING"}})
    assert err == replies.FabricError(codes.POLICY_ALREADY_EXISTS, "")
    assert replies.parse_fabric_error(
        {"Error": {"Code": codes.POLICY_ALREADY_EXISTS, "Message": "x"}}
    ) == replies.FabricError(codes.POLICY_ALREADY_EXISTS, "x")
    for junk in (None, "text", {"Error": "x"}, {"Error": {"Message": "m"}}, {"Message": "m"}):
        assert replies.parse_fabric_error(junk) is None


def test_pages() -> None:
    assert replies.parse_page({"ContinuationToken": "t", "Items": [{"a": 1}]}, "op") == replies.Page(
        ({"a": 1},), "t"
    )
    assert replies.parse_page({"ContinuationToken": "", "Items": []}, "op").continuation is None
    assert replies.parse_page({"Items": None}, "op") == replies.Page((), None)
    bads: list[Any] = [None, [], {"Items": {}}, {"Items": [1]}, {"Items": [], "ContinuationToken": 3}]
    for bad in bads:
        with pytest.raises(ClusterError, match=r"^op: 200: unexpected reply"):
            replies.parse_page(bad, "op")


def test_applications_services_partitions() -> None:
    assert replies.parse_application(
        {"Id": "a~b", "Name": "fabric:/a/b", "TypeName": "T", "Status": "Ready"}, "op"
    ) == LiveApplication("fabric:/a/b", "T")
    assert replies.parse_service(
        {"Name": "fabric:/A/S", "ServiceKind": "Stateful", "HasPersistedState": True}, "op"
    ) == LiveService("fabric:/A/S", "Stateful", True)
    assert replies.parse_service({"Name": "fabric:/A/W", "ServiceKind": "Stateless"}, "op") == LiveService(
        "fabric:/A/W", "Stateless", False
    )
    ranged = {
        "PartitionInformation": {
            "ServicePartitionKind": "Int64Range",
            "Id": "x",
            "LowKey": "-9223372036854775808",
            "HighKey": 5,
        }
    }
    assert replies.parse_partition(ranged, "op") == LivePartition("x", "Int64Range", -9223372036854775808, 5)
    named = {"PartitionInformation": {"ServicePartitionKind": "Named", "Id": "y", "Name": "east"}}
    assert replies.parse_partition(named, "op") == LivePartition("y", "Named", name="east")
    single = {"PartitionInformation": {"ServicePartitionKind": "Singleton", "Id": "z"}}
    assert replies.parse_partition(single, "op") == LivePartition("z", "Singleton")


@pytest.mark.parametrize(
    ("parser", "data"),
    [
        (replies.parse_application, {"Name": "CalcApp"}),
        (replies.parse_application, {"TypeName": "T"}),
        (replies.parse_service, {"Name": "fabric:/A/S", "ServiceKind": "Weird"}),
        (
            replies.parse_service,
            {"Name": "fabric:/A/S", "ServiceKind": "Stateful", "HasPersistedState": "maybe"},
        ),
        (
            replies.parse_partition,
            {
                "PartitionInformation": {
                    "ServicePartitionKind": "Int64Range",
                    "Id": "x",
                    "LowKey": "a",
                    "HighKey": 1,
                }
            },
        ),
        (
            replies.parse_partition,
            {"PartitionInformation": {"ServicePartitionKind": "Int64Range", "Id": "x"}},
        ),
        (replies.parse_partition, {"PartitionInformation": {"ServicePartitionKind": "Named", "Id": "x"}}),
        (replies.parse_partition, {"PartitionInformation": {"ServicePartitionKind": "Other", "Id": "x"}}),
        (replies.parse_partition, {}),
        (replies.parse_policy, {"Schedule": {}}),
        (replies.parse_backup_entity, {"EntityKind": "Cluster"}),
        (replies.parse_backup_entity, {"EntityKind": "Service", "ServiceName": "fabric:/A"}),
    ],
)
def test_wrong_shapes_name_the_operation(parser: Any, data: Any) -> None:
    with pytest.raises(ClusterError, match=r"^the op: 200: unexpected reply from the cluster"):
        parser(data, "the op")


def test_policies_and_entities() -> None:
    name, body = replies.parse_policy(
        {"Name": "p", "MaxIncrementalBackups": 3, "Storage": {"ConnectionString": "****"}}, "op"
    )
    assert name == "p"
    assert body == {"MaxIncrementalBackups": 3, "Storage": {"ConnectionString": "****"}}
    assert (
        replies.parse_backup_entity({"EntityKind": "Application", "ApplicationName": "fabric:/A"}, "op")
        == APP
    )
    assert replies.parse_backup_entity({"EntityKind": "Service", "ServiceName": "fabric:/A/S"}, "op") == SVC
    assert (
        replies.parse_backup_entity(
            {"EntityKind": "Partition", "ServiceName": "fabric:/A/S", "PartitionId": "p1"}, "op"
        )
        == PART
    )
