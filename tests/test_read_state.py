"""read_state against a scripted cluster: what it reads, how few requests it makes, what it makes of them."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import httpx
import pytest

from sfdeclare.cluster.client import Client
from sfdeclare.cluster.read import count_partitions, read_state
from sfdeclare.cluster.retry import RetryPolicy
from sfdeclare.commands.session import connect
from sfdeclare.errors import ClusterError
from sfdeclare.model.addresses import EntityRef
from sfdeclare.model.declaration import (
    ApplicationDecl,
    Declaration,
    LevelSettings,
    PartitionDecl,
    PartitionSelector,
    ServiceDecl,
)
from sfdeclare.model.live import LiveApplication, LivePartition, LiveService
from sfdeclare.model.scope import read_scope


def cfg(
    kind: str,
    name: str,
    policy: str | None,
    inherited: str,
    suspended_from: str | None = None,
    partition: str | None = None,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        "Kind": kind,
        "PolicyName": policy,
        "PolicyInheritedFrom": inherited,
        "SuspensionInfo": {
            "IsSuspended": suspended_from is not None,
            "SuspensionInheritedFrom": suspended_from or "Invalid",
        },
    }
    if kind == "Application":
        item["ApplicationName"] = name
    else:
        item["ServiceName"] = name
    if partition:
        item["PartitionId"] = partition
    return item


def svc(name: str, kind: str = "Stateful") -> dict[str, Any]:
    return {"Name": name, "ServiceKind": kind, "HasPersistedState": kind == "Stateful"}


def not_found(code: str) -> httpx.Response:
    return httpx.Response(404, json={"Error": {"Code": code, "Message": "nope"}})


class FakeCluster:
    """Answers the read routes from dictionaries, counting requests by path (thread-safe)."""

    def __init__(self) -> None:
        self.policies: list[dict[str, Any]] = [{"Name": "daily", "MaxIncrementalBackups": 1}]
        self.apps: dict[str, dict[str, Any]] = {}  # app id -> {"services": [...], "config": [...]}
        self.partitions: dict[str, list[dict[str, Any]]] = {}  # service id (~) -> partitions
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        with self.lock:
            self.hits[path] += 1
        if path == "/BackupRestore/BackupPolicies":
            assert request.url.params["MaxResults"] == "0"
            return httpx.Response(200, json={"ContinuationToken": None, "Items": self.policies})
        if path == "/Applications":
            items = [{"Id": a, "Name": "fabric:/" + a.replace("~", "/"), "TypeName": "T"} for a in self.apps]
            return httpx.Response(200, json={"ContinuationToken": "", "Items": items})
        parts = path.split("/$/")
        if parts[0].startswith("/Applications/"):
            app = self.apps.get(parts[0][len("/Applications/") :])
            if parts[1] == "GetServices":
                if app is None:
                    return not_found("FABRIC_E_APPLICATION_NOT_FOUND")
                return httpx.Response(200, json={"ContinuationToken": None, "Items": app["services"]})
            if parts[1] == "GetBackupConfigurationInfo":
                if app is None or not app["config"]:
                    return not_found("FABRIC_E_BACKUP_NOT_ENABLED")
                return httpx.Response(200, json={"ContinuationToken": None, "Items": app["config"]})
        if parts[0].startswith("/Services/") and parts[1] == "GetPartitions":
            found = self.partitions.get(parts[0][len("/Services/") :])
            if found is None:
                return not_found("FABRIC_E_SERVICE_DOES_NOT_EXIST")
            return httpx.Response(200, json={"ContinuationToken": None, "Items": found})
        raise AssertionError(f"unexpected {request.method} {request.url}")


def part(pid: str, low: int) -> dict[str, Any]:
    return {
        "PartitionInformation": {
            "ServicePartitionKind": "Int64Range",
            "Id": pid,
            "LowKey": str(low),
            "HighKey": str(low + 9),
        }
    }


@pytest.fixture
def cluster() -> FakeCluster:
    fake = FakeCluster()
    fake.apps["A"] = {
        "services": [svc("fabric:/A/S"), svc("fabric:/A/W", "Stateless")],
        "config": [
            cfg("Application", "fabric:/A", "daily", "Application"),
            cfg("Partition", "fabric:/A/S", "daily", "Application", "Application", partition="p1"),
            cfg("Service", "fabric:/A/W", "daily", "Application", "Service"),
        ],
    }
    fake.apps["B"] = {
        "services": [svc("fabric:/B/S")],
        "config": [cfg("Service", "fabric:/B/S", "daily", "Service")],
    }
    fake.apps["C"] = {"services": [svc("fabric:/C/S")], "config": []}
    fake.apps["Other"] = {
        "services": [],
        "config": [cfg("Application", "fabric:/Other", "daily", "Application")],
    }
    fake.partitions["A~S"] = [part("p1", 0), part("p2", 10)]
    return fake


def declaration(*apps: ApplicationDecl, scope: str = "declared") -> Declaration:
    return Declaration(applications={a.name: a for a in apps}, scope=scope)  # type: ignore[arg-type]


def three_apps() -> Declaration:
    selector = PartitionSelector("low_key", 0)
    return declaration(
        ApplicationDecl(
            "fabric:/A",
            LevelSettings(policy="daily"),
            (
                ServiceDecl(
                    "fabric:/A/S", LevelSettings(), (PartitionDecl(selector, LevelSettings(suspended=True)),)
                ),
                ServiceDecl("W", LevelSettings(suspended=True)),
            ),
        ),
        ApplicationDecl(
            "fabric:/B", LevelSettings(), (ServiceDecl("fabric:/B/S", LevelSettings(policy="daily")),)
        ),
        ApplicationDecl("fabric:/C", LevelSettings(policy="daily")),
    )


def client_for(fake: FakeCluster) -> Client:
    return connect(
        "http://cluster:19080", env={}, transport=httpx.MockTransport(fake), retry=RetryPolicy(max_attempts=1)
    )


def test_exact_request_count_and_contents(cluster: FakeCluster) -> None:
    with client_for(cluster) as client:
        live = read_state(client, read_scope(three_apps()), parallelism=4)
    # 1 policy page + 3 x (services + config info) + partitions of the one service with partition settings
    assert live.requests == 8
    assert client.requests == 8
    assert sum(cluster.hits.values()) == 8
    assert cluster.hits["/Services/A~S/$/GetPartitions"] == 1
    assert "/Applications" not in cluster.hits
    assert live.policies == {"daily": {"MaxIncrementalBackups": 1}}
    assert live.applications["fabric:/A"] == LiveApplication(
        "fabric:/A",
        None,
        (
            LiveService(
                "fabric:/A/S",
                "Stateful",
                True,
                (LivePartition("p1", "Int64Range", 0, 9), LivePartition("p2", "Int64Range", 10, 19)),
            ),
            LiveService("fabric:/A/W", "Stateless", False, None),
        ),
    )
    assert live.applications["fabric:/C"].services == (LiveService("fabric:/C/S", "Stateful", True, None),)
    assert live.mappings == {
        EntityRef("fabric:/A"): "daily",
        EntityRef("fabric:/B", "fabric:/B/S"): "daily",
    }
    assert live.suspensions == {
        EntityRef("fabric:/A"),
        EntityRef("fabric:/A", "fabric:/A/W"),
    }
    assert live.configured_applications == {"fabric:/A", "fabric:/B", "fabric:/C"}


def test_a_missing_declared_application_is_left_out(cluster: FakeCluster) -> None:
    decl = declaration(
        ApplicationDecl(
            "fabric:/Gone",
            LevelSettings(policy="daily"),
            (ServiceDecl("S", LevelSettings(), (PartitionDecl(PartitionSelector("id", "x")),)),),
        ),
        ApplicationDecl("fabric:/C"),
    )
    with client_for(cluster) as client:
        live = read_state(client, read_scope(decl))
    assert set(live.applications) == {"fabric:/C"}
    assert live.requests == 1 + 2 * 2 + 1


def test_cluster_scope_reads_every_application(cluster: FakeCluster) -> None:
    decl = declaration(ApplicationDecl("fabric:/B"), scope="cluster")
    with client_for(cluster) as client:
        live = read_state(client, read_scope(decl))
    # policies + /Applications + B (services, config) + config of A, C, Other + in round two, the services of
    # the undeclared applications with backup configured (A, Other; C has none), so a plan lists what it
    # changes there
    assert live.requests == 1 + 1 + 2 + 3 + 2
    assert set(live.applications) == {"fabric:/A", "fabric:/B", "fabric:/C", "fabric:/Other"}
    assert live.applications["fabric:/C"] == LiveApplication("fabric:/C", "T", None)
    assert live.applications["fabric:/A"].services is not None
    assert live.applications["fabric:/B"].type_name == "T"
    assert live.applications["fabric:/B"].services is not None
    assert live.configured_applications == {"fabric:/A", "fabric:/B", "fabric:/C", "fabric:/Other"}
    assert live.mappings[EntityRef("fabric:/Other")] == "daily"
    with client_for(cluster) as client:
        again = read_state(
            client, read_scope(declaration(ApplicationDecl("fabric:/B")), all_applications=True)
        )
    assert again == live


def test_errors_other_than_missing_entities_fail_the_read(cluster: FakeCluster) -> None:
    cluster.apps["B"]["services"] = "not a list"
    with (
        client_for(cluster) as client,
        pytest.raises(ClusterError, match=r"GetServiceInfoList application\[fabric:/B\]"),
    ):
        read_state(client, read_scope(three_apps()))


def test_count_partitions_reads_each_named_service_once_and_skips_missing_ones(cluster: FakeCluster) -> None:
    cluster.partitions["B~S"] = [part("q1", 0), part("q2", 10), part("q3", 20)]
    with client_for(cluster) as client:
        counts = count_partitions(client, ["fabric:/A/S", "fabric:/B/S", "fabric:/Gone/S"], parallelism=2)
        assert count_partitions(client, []) == {}
    assert counts == {"fabric:/A/S": 2, "fabric:/B/S": 3}
    assert cluster.hits["/Services/A~S/$/GetPartitions"] == 1
    assert sum(cluster.hits.values()) == 3
