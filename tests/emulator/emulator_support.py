"""Helpers shared by the emulator's tests (imported by name; conftest.py holds only fixtures)."""

from __future__ import annotations

import copy
import ssl
from pathlib import Path
from typing import Any

import httpx

from sfdeclare.emulator.topology import derived_partition_id

# httpx loads the system CA bundle for every client it makes (~0.2 s); the tests talk plain HTTP or bring
# their own context, so an empty one keeps client creation cheap.
NO_CA = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


def http_client(base_url: str, **kwargs: Any) -> httpx.Client:
    return httpx.Client(base_url=base_url, verify=kwargs.pop("verify", NO_CA), **kwargs)


TOPOLOGIES = Path(__file__).resolve().parent.parent / "data" / "topologies"
CALC_TOPOLOGY = TOPOLOGIES / "calc.yaml"

POLICY: dict[str, Any] = {
    "Name": "p1",
    "AutoRestoreOnDataLoss": False,
    "MaxIncrementalBackups": 3,
    "Schedule": {"ScheduleKind": "FrequencyBased", "Interval": "PT1H"},
    "Storage": {
        "StorageKind": "AzureBlobStore",
        "FriendlyName": "",
        "ConnectionString": "DefaultEndpointsProtocol=https;AccountKey=c2VjcmV0",
        "ContainerName": "backups",
    },
    "RetentionPolicy": {
        "RetentionPolicyType": "Basic",
        "RetentionDuration": "P10D",
        "MinimumNumberOfBackups": 2,
    },
}

CALC_PARTITIONS = [derived_partition_id("fabric:/CalcApp/CalcService", i) for i in range(3)]
WEB_PARTITION = "0f6a8c1e-5b7d-4e2a-9c3b-1a2b3c4d5e6f"
CACHE_PARTITION = "3c3c3c3c-0000-4000-8000-000000000001"
APP2_PARTITION = "11111111-1111-4111-8111-111111111111"
LEDGER_PARTITION = "22222222-2222-4222-8222-222222222222"


class Api:
    """A thin client for tests: raw httpx calls with the api-version filled in."""

    def __init__(self, client: httpx.Client, version: str = "6.4") -> None:
        self.client = client
        self.version = version

    def params(self, **extra: Any) -> dict[str, Any]:
        return {"api-version": self.version, **{k: v for k, v in extra.items() if v is not None}}

    def get(self, path: str, **query: Any) -> httpx.Response:
        return self.client.get(path, params=self.params(**query))

    def post(self, path: str, body: Any = None, **query: Any) -> httpx.Response:
        if body is None:
            return self.client.post(path, params=self.params(**query))
        return self.client.post(path, params=self.params(**query), json=body)

    def create(self, name: str = "p1", **changes: Any) -> httpx.Response:
        return self.post("/BackupRestore/BackupPolicies/$/Create", policy(name, **changes))

    def enable(self, entity: str, policy_name: str = "p1") -> httpx.Response:
        return self.post(f"/{entity}/$/EnableBackup", {"BackupPolicyName": policy_name})

    def disable(self, entity: str, body: Any = None) -> httpx.Response:
        return self.post(f"/{entity}/$/DisableBackup", body)

    def suspend(self, entity: str) -> httpx.Response:
        return self.post(f"/{entity}/$/SuspendBackup")

    def resume(self, entity: str) -> httpx.Response:
        return self.post(f"/{entity}/$/ResumeBackup")

    def config(self, entity: str, **query: Any) -> httpx.Response:
        return self.get(f"/{entity}/$/GetBackupConfigurationInfo", **query)


def policy(name: str = "p1", **changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(POLICY)
    body["Name"] = name
    body.update(changes)
    return body


def error_code(response: httpx.Response) -> str:
    payload = response.json()
    assert set(payload) == {"Error"}, payload
    assert set(payload["Error"]) == {"Code", "Message"}, payload
    return str(payload["Error"]["Code"])


START = "2024-01-01T00:00:00Z"  # a Monday: the backup tests' clock starts here


def start_clock(state_path: str, start: str = START) -> None:
    """Set a state file's virtual clock (as ``emulator init --clock-start`` does)."""
    from sfdeclare.emulator.clock import configure, parse_utc
    from sfdeclare.emulator.state import Store

    store = Store(state_path)
    try:
        with store.write() as tx:
            configure(tx, "virtual", parse_utc(start, "start"))
    finally:
        store.close()


def advance(api: Api, duration: str) -> httpx.Response:
    return api.client.post("/$/Emulator/Clock/$/Advance", params={"Duration": duration})


def backups(api: Api, entity: str, **query: Any) -> list[dict[str, Any]]:
    response = api.get(f"/{entity}/$/GetBackups", **query)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["Items"]
    return items
