"""Conformance, cluster queries: SF-BACKUP-API.md §8 (applications, services, partitions, paging)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from emulator_support import (
    CALC_PARTITIONS,
    LEDGER_PARTITION,
    NO_CA,
    WEB_PARTITION,
    Api,
    error_code,
)

from sfdeclare.emulator.app import EmulatorApp
from sfdeclare.emulator.state import Store, load_topology_into
from sfdeclare.emulator.topology import INT64_MAX, INT64_MIN, topology_from_dict
from sfdeclare.emulator.transport import EmulatorTransport


def all_pages(api: Api, path: str, **query: Any) -> tuple[list[dict[str, Any]], int]:
    found: list[dict[str, Any]] = []
    token = None
    calls = 0
    while True:
        response = api.get(path, ContinuationToken=token, **query)
        assert response.status_code == 200, response.text
        calls += 1
        found += response.json()["Items"]
        token = response.json()["ContinuationToken"]
        if not token:
            return found, calls


def test_applications(api: Api) -> None:
    apps, _ = all_pages(api, "/Applications")
    assert [a["Name"] for a in apps] == [
        "fabric:/CalcApp",
        "fabric:/CalcApp2",
        "fabric:/Empty",
        "fabric:/Org/Billing",
    ]
    calc = apps[0]
    assert calc == {
        "Id": "CalcApp",
        "Name": "fabric:/CalcApp",
        "TypeName": "CalcAppType",
        "TypeVersion": "1.2.0",
        "Status": "Ready",
        "Parameters": [{"Key": "Mode", "Value": "fast"}],
        "HealthState": "Ok",
        "ApplicationDefinitionKind": "ServiceFabricApplicationDescription",
    }
    assert apps[3]["Id"] == "Org~Billing"
    paged, calls = all_pages(api, "/Applications", MaxResults=1)
    assert (paged, calls) == (apps, 4)
    assert all_pages(api, "/Applications", ApplicationTypeName="CalcAppType")[0] == [calc]
    bare, _ = all_pages(api, "/Applications", ExcludeApplicationParameters="true")
    assert bare[0] == {**calc, "Parameters": []}


def test_services(api: Api) -> None:
    services, _ = all_pages(api, "/Applications/CalcApp/$/GetServices")
    by_name = {s["Name"]: s for s in services}
    assert by_name["fabric:/CalcApp/CalcService"] == {
        "Id": "CalcApp~CalcService",
        "ServiceKind": "Stateful",
        "Name": "fabric:/CalcApp/CalcService",
        "TypeName": "CalcServiceType",
        "ManifestVersion": "1.0.0",
        "HealthState": "Ok",
        "ServiceStatus": "Active",
        "IsServiceGroup": False,
        "HasPersistedState": True,
    }
    assert "HasPersistedState" not in by_name["fabric:/CalcApp/Web"]
    assert by_name["fabric:/CalcApp/Cache"]["HasPersistedState"] is False
    assert all_pages(api, "/Applications/Org~Billing/$/GetServices")[0][0]["Id"] == "Org~Billing~Ledger"
    missing = api.get("/Applications/Nope/$/GetServices")
    assert (missing.status_code, error_code(missing)) == (404, "FABRIC_E_APPLICATION_NOT_FOUND")


def test_single_service(api: Api) -> None:
    found = api.get("/Applications/CalcApp/$/GetServices/CalcApp~CalcService")
    assert (found.status_code, found.json()["Name"]) == (200, "fabric:/CalcApp/CalcService")
    absent = api.get("/Applications/CalcApp/$/GetServices/CalcApp~Nope")
    assert (absent.status_code, absent.content) == (204, b"")
    assert api.get("/Applications/CalcApp2/$/GetServices/CalcApp~CalcService").status_code == 204


def test_partitions(api: Api) -> None:
    parts, _ = all_pages(api, "/Services/CalcApp~CalcService/$/GetPartitions")
    assert [p["PartitionInformation"]["Id"] for p in parts] == CALC_PARTITIONS
    ranges = [
        (int(p["PartitionInformation"]["LowKey"]), int(p["PartitionInformation"]["HighKey"])) for p in parts
    ]
    assert ranges[0][0] == INT64_MIN and ranges[-1][1] == INT64_MAX
    assert all(ranges[i][1] + 1 == ranges[i + 1][0] for i in range(2))
    assert parts[0]["ServiceKind"] == "Stateful" and parts[0]["PartitionStatus"] == "Ready"
    web, _ = all_pages(api, "/Services/CalcApp~Web/$/GetPartitions")
    assert web[0]["PartitionInformation"] == {"ServicePartitionKind": "Singleton", "Id": WEB_PARTITION}
    assert web[0]["ServiceKind"] == "Stateless"
    named, _ = all_pages(api, "/Services/CalcApp~Router/$/GetPartitions")
    assert [p["PartitionInformation"]["Name"] for p in named] == ["east", "west"]
    missing = api.get("/Services/CalcApp~Nope/$/GetPartitions")
    assert (missing.status_code, error_code(missing)) == (404, "FABRIC_E_SERVICE_DOES_NOT_EXIST")


def test_single_partition(api: Api) -> None:
    found = api.get(f"/Partitions/{LEDGER_PARTITION}")
    assert found.json()["PartitionInformation"] == {
        "ServicePartitionKind": "Int64Range",
        "Id": LEDGER_PARTITION,
        "LowKey": "0",
        "HighKey": "99",
    }
    assert api.get("/Partitions/99999999-9999-4999-8999-999999999999").status_code == 204
    assert api.get("/Partitions/zzz").status_code == 400


@pytest.mark.parametrize("version", ["6.0", "6.1", "6.4", "8.2", "6.2-preview"])
def test_query_versions_the_sdk_sends(api: Api, version: str) -> None:
    assert api.client.get("/Applications", params={"api-version": version}).status_code == 200


@pytest.mark.parametrize("version", [None, "x", "0.5"])
def test_query_versions_rejected(api: Api, version: str | None) -> None:
    params = {} if version is None else {"api-version": version}
    assert api.client.get("/Applications", params=params).status_code == 400


@pytest.fixture
def big_api(tmp_path: Path) -> Iterator[Api]:
    """A service with 250 partitions and an application with 120 services, served with pages of 50."""
    path = str(tmp_path / "big.db")
    services = [{"name": f"fabric:/Big/S{i:03d}", "partitions": 1} for i in range(120)]
    services[0]["partitions"] = 250
    store = Store(path)
    load_topology_into(
        store, topology_from_dict({"applications": [{"name": "fabric:/Big", "services": services}]}, "t")
    )
    transport = EmulatorTransport(path)
    transport.app = EmulatorApp(store, query_page_size=50)
    with httpx.Client(transport=transport, base_url="http://emulator", verify=NO_CA) as client:
        yield Api(client)


def test_service_and_partition_paging(big_api: Api) -> None:
    services, calls = all_pages(big_api, "/Applications/Big/$/GetServices")
    assert (len(services), calls) == (120, 3)
    assert len({s["Name"] for s in services}) == 120
    partitions, calls = all_pages(big_api, "/Services/Big~S000/$/GetPartitions")
    assert (len(partitions), calls) == (250, 5)
    assert len({p["PartitionInformation"]["Id"] for p in partitions}) == 250
