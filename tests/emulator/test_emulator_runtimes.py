"""Runtimes 6.2 to 11.3: the same request gets the answer each runtime gives (runtimes.py's table), the runtime
lives in the state, GetClusterVersion, the RunTimes forms the server reads, the 11.3 policy fields, managed-identity
storage (also through Microsoft's SDK) and ValidateConnection against the topology's storage section."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from emulator_support import CALC_TOPOLOGY, NO_CA, Api, error_code, http_client, policy

from sfdeclare.cli import main
from sfdeclare.emulator import runtimes
from sfdeclare.emulator.server import EmulatorServer
from sfdeclare.emulator.state import init_state
from sfdeclare.emulator.topology import load_topology
from sfdeclare.emulator.transport import EmulatorTransport
from sfdeclare.errors import ConfigError

CREATE = "/BackupRestore/BackupPolicies/$/Create"
ALL = ("6.2", "6.4", "9.1", "10.1", "11.3")
CLIENT_ID = "5b3e2f11-6f0e-4c3a-9d43-2a8f6f0c1d22"
ACCOUNT_KEY = "a2V5LW9uZS1mb3ItZGVtbw=="
OTHER_KEY = "d3Jvbmcta2V5LXNlbnQ="
SHARE_PASSWORD = "share-pass-7"
MANAGED: dict[str, Any] = {
    "StorageKind": "ManagedIdentityAzureBlobStore",
    "FriendlyName": "mi",
    "BlobServiceUri": "https://demo.blob.core.windows.net",
    "ContainerName": "backups",
    "ManagedIdentityType": "VMSS",
}

STORAGE_SECTION = f"""
storage:
  blob_accounts:
    - name: demo
      keys: ["{ACCOUNT_KEY}"]
      containers: [backups, archive]
  file_shares:
    - path: \\\\files\\backups
      username: backup-user
      password: {SHARE_PASSWORD}
    - path: \\\\files\\open
  managed_identities:
    - type: VMSS
      access:
        - account: demo
          containers: [backups]
    - type: VMSS
      client_id: {CLIENT_ID}
      access:
        - account: demo
          role: Storage Blob Data Reader
"""


def make_api(tmp_path: Path, runtime: str | None, topology: Path = CALC_TOPOLOGY) -> Api:
    state = str(tmp_path / f"state-{runtime}.db")
    init_state(state, str(topology), runtime)
    client = httpx.Client(transport=EmulatorTransport(state), base_url="http://emulator", verify=NO_CA)
    return Api(client, version="6.2-preview" if runtime == "6.2" else "6.4")


@pytest.fixture
def api_at(tmp_path: Path) -> Iterator[Callable[..., Api]]:
    made: list[Api] = []

    def make(runtime: str | None, topology: Path = CALC_TOPOLOGY) -> Api:
        api = make_api(tmp_path, runtime, topology)
        made.append(api)
        return api

    yield make
    for api in made:
        api.client.close()


@pytest.fixture
def storage_topology(tmp_path: Path) -> Path:
    path = tmp_path / "with-storage.yaml"
    path.write_text(CALC_TOPOLOGY.read_text() + STORAGE_SECTION)
    return path


def body_for(runtime: str, **changes: Any) -> dict[str, Any]:
    """A policy body as a client for that runtime writes it (no RetentionPolicy on 6.2)."""
    body = policy(**changes)
    if runtime == "6.2":
        del body["RetentionPolicy"]
    return body


def outcome(response: httpx.Response) -> tuple[int, str | None]:
    return response.status_code, error_code(response) if response.status_code >= 400 else None


# The table itself.


def test_each_runtime_is_the_latest_build_of_its_branch() -> None:
    assert runtimes.BUILDS == {
        "6.2": "6.2.301.9494",
        "6.4": "6.4.670.9590",
        "9.1": "9.1.2937.9590",
        "10.1": "10.1.3033.1",
        "11.3": "11.3.365.1",
    }
    assert runtimes.DEFAULT_RUNTIME == "10.1"
    for name, build in runtimes.BUILDS.items():
        assert build.startswith(name + ".")


EXPECTED_FEATURES = {
    "6.2": set(),
    "6.4": {"numeric", "retention", "disable-body", "cluster-version"},
    "9.1": {
        "numeric",
        "retention",
        "disable-body",
        "cluster-version",
        "validate",
        "mi",
        "skip",
        "client-id",
        "warn",
    },
    "10.1": {
        "numeric",
        "retention",
        "disable-body",
        "cluster-version",
        "validate",
        "mi",
        "skip",
        "client-id",
        "warn",
    },
    "11.3": {
        *(
            "numeric",
            "retention",
            "disable-body",
            "cluster-version",
            "validate",
            "mi",
            "skip",
            "client-id",
            "warn",
        ),
        *("quick", "compression"),
    },
}
SHORT = {
    runtimes.NUMERIC_API_VERSION: "numeric",
    runtimes.RETENTION_POLICY: "retention",
    runtimes.DISABLE_BACKUP_BODY: "disable-body",
    runtimes.GET_CLUSTER_VERSION: "cluster-version",
    runtimes.VALIDATE_CONNECTION: "validate",
    runtimes.MANAGED_IDENTITY_STORAGE: "mi",
    runtimes.SKIP_AUTO_RESTORE: "skip",
    runtimes.MANAGED_IDENTITY_CLIENT_ID: "client-id",
    runtimes.PLAIN_TEXT_CREDENTIAL_WARNING: "warn",
    runtimes.QUICK_RECOVERY: "quick",
    runtimes.COMPRESSION: "compression",
}


@pytest.mark.parametrize("runtime", ALL)
def test_features_of_each_runtime(runtime: str) -> None:
    assert set(SHORT) == {f.name for f in runtimes.FEATURES}
    assert {
        SHORT[f.name] for f in runtimes.FEATURES if runtimes.supports(runtime, f.name)
    } == EXPECTED_FEATURES[runtime]


@pytest.mark.parametrize(
    ("build", "feature", "expected"),
    [
        # the client id arrived in a cumulative update of each branch, so earlier updates lack it
        ("9.1.2833.9590", runtimes.MANAGED_IDENTITY_CLIENT_ID, True),  # 9.1 CU12
        ("9.1.2488.9590", runtimes.MANAGED_IDENTITY_CLIENT_ID, False),
        ("10.0.2712.9590", runtimes.MANAGED_IDENTITY_CLIENT_ID, True),  # 10.0 CU6
        ("10.0.2382.9590", runtimes.MANAGED_IDENTITY_CLIENT_ID, False),
        ("10.1.2409.9590", runtimes.MANAGED_IDENTITY_CLIENT_ID, True),  # 10.1 CU5
        ("10.1.2175.9590", runtimes.MANAGED_IDENTITY_CLIENT_ID, False),
        ("11.0.2000.1", runtimes.MANAGED_IDENTITY_CLIENT_ID, True),  # a later branch has it from its start
        ("9.0.1121.9590", runtimes.MANAGED_IDENTITY_CLIENT_ID, False),  # an earlier one does not
        ("9.0.1121.9590", runtimes.PLAIN_TEXT_CREDENTIAL_WARNING, True),  # 9.0 CU5
        ("9.0.1107.9590", runtimes.PLAIN_TEXT_CREDENTIAL_WARNING, False),
        ("9.1.1390.9590", runtimes.PLAIN_TEXT_CREDENTIAL_WARNING, False),
        ("9.1.1436.9590", runtimes.PLAIN_TEXT_CREDENTIAL_WARNING, True),  # 9.1 CU1
        ("8.2.1686.9590", runtimes.PLAIN_TEXT_CREDENTIAL_WARNING, False),
        ("8.0.514.9590", runtimes.VALIDATE_CONNECTION, True),
        ("7.2.477.9590", runtimes.VALIDATE_CONNECTION, False),
        ("7.2.477.9590", runtimes.MANAGED_IDENTITY_STORAGE, False),
        ("11.2.100.1", runtimes.QUICK_RECOVERY, False),
        ("11.3.365.1", runtimes.QUICK_RECOVERY, True),
        ("6.3.187.9494", runtimes.GET_CLUSTER_VERSION, False),
    ],
)
def test_features_by_build(build: str, feature: str, expected: bool) -> None:
    assert runtimes.build_has(build, feature) is expected


def test_every_feature_names_its_source() -> None:
    for feature in runtimes.FEATURES:
        assert feature.source and feature.first_builds
    assumed = {f.name for f in runtimes.FEATURES if not f.confirmed}
    assert assumed == {runtimes.QUICK_RECOVERY, runtimes.COMPRESSION}


# GetClusterVersion.


@pytest.mark.parametrize("runtime", ALL[1:])
def test_get_cluster_version(api_at: Callable[..., Api], runtime: str) -> None:
    api = api_at(runtime)
    response = api.client.get("/$/GetClusterVersion", params={"api-version": "6.4"})
    assert (response.status_code, response.json()) == (200, {"Version": runtimes.BUILDS[runtime]})
    older = api.client.get("/$/GetClusterVersion", params={"api-version": "6.0"})
    assert (older.status_code, error_code(older)) == (400, "E_INVALIDARG")


def test_a_62_cluster_does_not_serve_get_cluster_version(api_at: Callable[..., Api]) -> None:
    response = api_at("6.2").client.get("/$/GetClusterVersion", params={"api-version": "6.4"})
    assert (response.status_code, error_code(response)) == (404, "FABRIC_E_INVALID_ADDRESS")
    assert response.headers["X-ServiceFabric"] == "ResourceNotFound"


# One request, each runtime's answer.

CASES: dict[str, tuple[Callable[[Api, str], httpx.Response], dict[str, tuple[int, str | None]]]] = {
    "managed-identity storage": (
        lambda api, rt: api.post(CREATE, body_for(rt, Storage=MANAGED)),
        {
            "6.2": (400, "E_INVALIDARG"),
            "6.4": (400, "E_INVALIDARG"),
            "9.1": (201, None),
            "10.1": (201, None),
            "11.3": (201, None),
        },
    ),
    "managed-identity storage with a client id": (
        lambda api, rt: api.post(
            CREATE, body_for(rt, Storage={**MANAGED, "ManagedIdentityClientId": CLIENT_ID})
        ),
        {
            "6.2": (400, "E_INVALIDARG"),
            "6.4": (400, "E_INVALIDARG"),
            "9.1": (201, None),
            "10.1": (201, None),
            "11.3": (201, None),
        },
    ),
    "RetentionPolicy": (
        lambda api, rt: api.post(CREATE, policy()),
        {
            "6.2": (400, "E_INVALIDARG"),
            "6.4": (201, None),
            "9.1": (201, None),
            "10.1": (201, None),
            "11.3": (201, None),
        },
    ),
    "api-version 6.4": (
        lambda api, rt: api.client.get("/BackupRestore/BackupPolicies", params={"api-version": "6.4"}),
        {
            "6.2": (400, "E_INVALIDARG"),
            "6.4": (200, None),
            "9.1": (200, None),
            "10.1": (200, None),
            "11.3": (200, None),
        },
    ),
    "api-version 6.2-preview": (
        lambda api, rt: api.client.get(
            "/BackupRestore/BackupPolicies", params={"api-version": "6.2-preview"}
        ),
        {
            "6.2": (200, None),
            "6.4": (400, "E_INVALIDARG"),
            "9.1": (400, "E_INVALIDARG"),
            "10.1": (400, "E_INVALIDARG"),
            "11.3": (400, "E_INVALIDARG"),
        },
    ),
    "DisableBackup with a body": (
        lambda api, rt: (
            api.post(CREATE, body_for(rt)),
            api.enable("Services/CalcApp/CalcService"),
            api.disable("Services/CalcApp/CalcService", {"CleanBackup": True}),
        )[-1],
        {
            "6.2": (400, "E_INVALIDARG"),
            "6.4": (202, None),
            "9.1": (202, None),
            "10.1": (202, None),
            "11.3": (202, None),
        },
    ),
    "ValidateConnection with a connection string the cluster cannot use": (
        lambda api, rt: api.post(
            CREATE,
            body_for(
                rt,
                Storage={
                    "StorageKind": "AzureBlobStore",
                    "ConnectionString": f"AccountName=demo;AccountKey={OTHER_KEY}",
                    "ContainerName": "backups",
                },
            ),
            ValidateConnection="true",
        ),
        {
            "6.2": (201, None),
            "6.4": (201, None),
            "9.1": (400, "E_INVALIDARG"),
            "10.1": (400, "E_INVALIDARG"),
            "11.3": (400, "E_INVALIDARG"),
        },
    ),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("runtime", ALL)
def test_same_request_each_runtimes_answer(
    api_at: Callable[..., Api], storage_topology: Path, case: str, runtime: str
) -> None:
    send, expected = CASES[case]
    api = api_at(runtime, storage_topology)
    assert outcome(send(api, runtime)) == expected[runtime]


def test_64_refuses_managed_identity_as_an_unknown_storage_kind(api_at: Callable[..., Api]) -> None:
    response = api_at("6.4").post(CREATE, policy(Storage=MANAGED))
    assert response.json()["Error"]["Message"] == "Invalid StorageKind ManagedIdentityAzureBlobStore"


@pytest.mark.parametrize("runtime", ["9.1", "10.1", "11.3"])
def test_managed_identity_storage_is_stored_and_echoed(api_at: Callable[..., Api], runtime: str) -> None:
    api = api_at(runtime)
    assert (
        api.post(CREATE, policy("plain", Storage={**MANAGED, "ManagedIdentityType": "cluster"})).status_code
        == 201
    )
    assert (
        api.post(
            CREATE, policy("user", Storage={**MANAGED, "ManagedIdentityClientId": CLIENT_ID})
        ).status_code
        == 201
    )
    plain = api.get("/BackupRestore/BackupPolicies/plain").json()["Storage"]
    user = api.get("/BackupRestore/BackupPolicies/user").json()["Storage"]
    assert plain == {**MANAGED, "ManagedIdentityType": "Cluster", "ManagedIdentityClientId": None}
    assert user == {**MANAGED, "ManagedIdentityClientId": CLIENT_ID}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"BlobServiceUri": None}, "BlobServiceUri"),
        ({"ContainerName": ""}, "ContainerName"),
        ({"ManagedIdentityType": None}, "ManagedIdentityType"),
        ({"ManagedIdentityType": "SystemAssigned"}, "ManagedIdentityType"),
    ],
)
def test_managed_identity_storage_validation(
    api_at: Callable[..., Api], change: dict[str, Any], field: str
) -> None:
    storage = {k: v for k, v in {**MANAGED, **change}.items() if v is not None}
    response = api_at("10.1").post(CREATE, policy(Storage=storage))
    assert outcome(response) == (400, "E_INVALIDARG")
    assert f"backupPolicy.Storage.{field}" in response.json()["Error"]["Message"]


# The runtime lives in the state.


def version_of(client: httpx.Client) -> str:
    return str(client.get("/$/GetClusterVersion", params={"api-version": "6.4"}).json()["Version"])


def test_the_runtime_is_the_states(tmp_path: Path) -> None:
    state = str(tmp_path / "s.db")
    init_state(state, str(CALC_TOPOLOGY))
    with httpx.Client(transport=EmulatorTransport(state), base_url="http://e", verify=NO_CA) as client:
        assert version_of(client) == runtimes.BUILDS["10.1"]  # a state that records none: the default
        init_state(state, None, "11.3")  # an upgrade: the next request sees it
        assert version_of(client) == runtimes.BUILDS["11.3"]
    init_state(state, str(CALC_TOPOLOGY))  # a new topology keeps the runtime
    with EmulatorServer(state) as server, http_client(server.url) as client:
        assert version_of(client) == runtimes.BUILDS["11.3"]
    with EmulatorServer(state, runtime="6.4") as server, http_client(server.url) as client:
        assert version_of(client) == runtimes.BUILDS["6.4"]  # serve --runtime records it
        init_state(state, None, "9.1")  # upgraded while served
        assert version_of(client) == runtimes.BUILDS["9.1"]
    with httpx.Client(transport=EmulatorTransport(state), base_url="http://e", verify=NO_CA) as client:
        assert version_of(client) == runtimes.BUILDS["9.1"]  # the in-process endpoint sees the same cluster


def test_an_unknown_runtime_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown runtime '7\.0'"):
        init_state(str(tmp_path / "s.db"), None, "7.0")


def test_cli_init_records_the_runtime(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = str(tmp_path / "s.db")
    assert (
        main(["emulator", "init", "--state", state, "--topology", str(CALC_TOPOLOGY), "--runtime", "9.1"])
        == 0
    )
    assert "(runtime 9.1, build 9.1.2937.9590)" in capsys.readouterr().out
    assert main(["emulator", "init", "--state", state]) == 0
    assert "(runtime 9.1, build 9.1.2937.9590)" in capsys.readouterr().out
    assert main(["emulator", "init", "--state", state, "--runtime", "7.0"]) == 1
    assert "invalid choice: '7.0'" in capsys.readouterr().err


# RunTimes: what DateTime.Parse (invariant culture) reads.


@pytest.mark.parametrize(
    ("sent", "stored"),
    [
        ("19:00:00", "0001-01-01T19:00:00Z"),  # the REST spec's own example
        ("09:00:00Z", "0001-01-01T09:00:00Z"),
        ("9:00 AM", "0001-01-01T09:00:00Z"),
        ("9:30 pm", "0001-01-01T21:30:00Z"),
        ("12:00 AM", "0001-01-01T00:00:00Z"),
        ("19:00", "0001-01-01T19:00:00Z"),
        ("19:00:00+02:00", "0001-01-01T17:00:00Z"),
        ("2019-01-01 09:00:00", "0001-01-01T09:00:00Z"),
        ("2019-01-01T09:00:00.1234567-05:00", "0001-01-01T14:00:00Z"),
        ("01/31/2019 18:15:00", "0001-01-01T18:15:00Z"),
        ("Tue, 01 Jan 2019 09:00:00 GMT", "0001-01-01T09:00:00Z"),
        ("2019-01-01", "0001-01-01T00:00:00Z"),
    ],
)
def test_run_times_forms(api_at: Callable[..., Api], sent: str, stored: str) -> None:
    api = api_at("6.4")
    schedule = {"ScheduleKind": "TimeBased", "ScheduleFrequencyType": "Daily", "RunTimes": [sent]}
    assert api.create(Schedule=schedule).status_code == 201
    assert api.get("/BackupRestore/BackupPolicies/p1").json()["Schedule"]["RunTimes"] == [stored]


@pytest.mark.parametrize(
    "sent", ["9", "25:00", "19:60", "13:00 PM", "noon", "2019-02-30 09:00", "19:00:00+15:00"]
)
def test_run_times_the_server_cannot_read(api_at: Callable[..., Api], sent: str) -> None:
    schedule = {"ScheduleKind": "TimeBased", "ScheduleFrequencyType": "Daily", "RunTimes": [sent]}
    response = api_at("6.4").create(Schedule=schedule)
    assert outcome(response) == (400, "E_INVALIDARG")
    assert response.json()["Error"]["Message"] == f"'{sent}' is not a valid date-time"


# The 11.3 policy fields.


def get(api: Api, name: str = "p1") -> dict[str, Any]:
    payload: dict[str, Any] = api.get(f"/BackupRestore/BackupPolicies/{name}").json()
    return payload


@pytest.mark.parametrize(
    ("sent", "echoed"),
    [
        ({}, ("Disabled", "CLUSTER_DEFINED")),  # the server's defaults
        ({"QuickRecovery": "FromPrimary", "CompressionType": "ZSTANDARD"}, ("FromPrimary", "ZSTANDARD")),
        ({"QuickRecovery": "fromprimary", "CompressionType": "zip"}, ("FromPrimary", "ZIP")),
        (
            {"QuickRecovery": True, "CompressionStrategy": "ZSTANDARD"},
            ("FromPrimary", "ZSTANDARD"),
        ),  # 2025 form
        ({"QuickRecovery": False}, ("Disabled", "CLUSTER_DEFINED")),
        ({"CompressionType": "ZIP", "CompressionStrategy": "ZIP"}, ("Disabled", "ZIP")),
    ],
)
def test_113_fields_read_both_forms_and_echo_one(
    api_at: Callable[..., Api], sent: dict[str, Any], echoed: tuple[str, str]
) -> None:
    api = api_at("11.3")
    assert api.create(**sent).status_code == 201
    read = get(api)
    assert (read["QuickRecovery"], read["CompressionType"]) == echoed
    assert "CompressionStrategy" not in read


@pytest.mark.parametrize(
    "sent",
    [
        {"QuickRecovery": "Always"},
        {"QuickRecovery": 1},
        {"CompressionType": "GZIP"},
        {"CompressionType": "ZIP", "CompressionStrategy": "ZSTANDARD"},
    ],
)
def test_113_fields_refused(api_at: Callable[..., Api], sent: dict[str, Any]) -> None:
    assert outcome(api_at("11.3").create(**sent)) == (400, "E_INVALIDARG")


def test_113_fields_an_update_replaces_them(api_at: Callable[..., Api]) -> None:
    api = api_at("11.3")
    api.create(QuickRecovery="FromPrimary", CompressionType="ZSTANDARD")
    assert api.post("/BackupRestore/BackupPolicies/p1/$/Update", policy()).status_code == 200
    assert (get(api)["QuickRecovery"], get(api)["CompressionType"]) == ("Disabled", "CLUSTER_DEFINED")


def test_before_113_the_fields_are_unknown_members(api_at: Callable[..., Api]) -> None:
    api = api_at("10.1")
    assert api.create(QuickRecovery="Nonsense", CompressionType="GZIP").status_code == 201  # ignored
    assert not {"QuickRecovery", "CompressionType"} & set(get(api))


# ValidateConnection against the topology's storage section.


def blob(key: str = ACCOUNT_KEY, container: str = "backups", account: str = "demo") -> dict[str, Any]:
    return {
        "StorageKind": "AzureBlobStore",
        "ConnectionString": f"DefaultEndpointsProtocol=https;AccountName={account};AccountKey={key};EndpointSuffix=core.windows.net",
        "ContainerName": container,
    }


def share(password: str | None = SHARE_PASSWORD, path: str = "\\\\files\\backups") -> dict[str, Any]:
    storage: dict[str, Any] = {"StorageKind": "FileShare", "Path": path}
    if password is not None:
        storage.update(PrimaryUserName="BACKUP-USER", PrimaryPassword=password)
    return storage


ACCEPTED: list[dict[str, Any]] = [
    blob(),
    blob(container="archive"),
    {
        "StorageKind": "AzureBlobStore",
        "ConnectionString": f"BlobEndpoint=https://DEMO.blob.core.windows.net/;AccountKey={ACCOUNT_KEY}",
        "ContainerName": "backups",
    },
    share(),
    {**share(password=None), "SecondaryUserName": "backup-user", "SecondaryPassword": SHARE_PASSWORD},
    share(password=None, path="\\\\FILES\\open"),  # a share without credentials of its own
    MANAGED,
    {**MANAGED, "BlobServiceUri": "https://demo.blob.core.windows.net/"},
    {
        "StorageKind": "DsmsAzureBlobStore",
        "StorageCredentialsSourceLocation": "https://dsms/x",
        "ContainerName": "c",
    },
]
REFUSED: list[tuple[dict[str, Any], str]] = [
    (blob(key=OTHER_KEY), "storage account 'demo' refused the AccountKey (authentication failed)"),
    (blob(container="missing"), "the container 'missing' does not exist in storage account 'demo'"),
    (blob(account="elsewhere"), "the storage account 'elsewhere' cannot be reached from the cluster"),
    (
        {
            "StorageKind": "AzureBlobStore",
            "ConnectionString": "AccountName=demo;SharedAccessSignature=sv=1&sig=abc",
            "ContainerName": "backups",
        },
        "the ConnectionString for storage account 'demo' carries no AccountKey the emulator can check",
    ),
    (
        {
            "StorageKind": "AzureBlobStore",
            "ConnectionString": "garbage-not-a-connection-string",
            "ContainerName": "backups",
        },
        "the ConnectionString names no storage account (AccountName or BlobEndpoint)",
    ),
    (
        share(password="wrong-pass"),
        "the file share '\\\\files\\backups' refused the credentials given (logon failure)",
    ),
    (
        share(password=None),
        "the file share '\\\\files\\backups' refused the credentials given (logon failure)",
    ),
    (share(path="\\\\other\\share"), "the file share '\\\\other\\share' cannot be reached from the cluster"),
    (
        {**MANAGED, "ContainerName": "archive"},
        "the VMSS managed identity (system-assigned) has no role on container 'archive' of storage account 'demo'",
    ),
    (
        {**MANAGED, "ManagedIdentityType": "Cluster"},
        "the cluster has no Cluster managed identity (system-assigned)",
    ),
    (
        {**MANAGED, "ManagedIdentityClientId": CLIENT_ID},
        f"the VMSS managed identity with client id '{CLIENT_ID}' has only Storage Blob Data Reader on container 'backups', which cannot write backups",
    ),
    (
        {**MANAGED, "ManagedIdentityClientId": "00000000-0000-0000-0000-000000000000"},
        "the cluster has no VMSS managed identity with client id '00000000-0000-0000-0000-000000000000'",
    ),
    (
        {**MANAGED, "BlobServiceUri": "https://nowhere.blob.core.windows.net"},
        "no storage account serves the BlobServiceUri 'https://nowhere.blob.core.windows.net'",
    ),
]


@pytest.mark.parametrize("storage", ACCEPTED)
def test_validate_connection_accepts_reachable_storage(
    api_at: Callable[..., Api], storage_topology: Path, storage: dict[str, Any]
) -> None:
    api = api_at("10.1", storage_topology)
    assert api.post(CREATE, policy(Storage=storage), ValidateConnection="true").status_code == 201


@pytest.mark.parametrize(("storage", "reason"), REFUSED)
def test_validate_connection_refuses_and_never_shows_the_secret(
    api_at: Callable[..., Api], storage_topology: Path, storage: dict[str, Any], reason: str
) -> None:
    api = api_at("10.1", storage_topology)
    response = api.post(CREATE, policy(Storage=storage), ValidateConnection="True")
    assert outcome(response) == (400, "E_INVALIDARG")
    message = response.json()["Error"]["Message"]
    assert message == f"Backup storage validation failed: {reason}"
    for secret in (ACCOUNT_KEY, OTHER_KEY, SHARE_PASSWORD, "wrong-pass", "sig=abc", "garbage-not"):
        assert secret not in message
    assert api.get("/BackupRestore/BackupPolicies/p1").status_code == 404  # nothing was created
    # without the flag (or with false) the server does not look
    assert api.post(CREATE, policy(Storage=storage), ValidateConnection="false").status_code == 201


def test_validate_connection_on_update_keeps_the_old_policy(
    api_at: Callable[..., Api], storage_topology: Path
) -> None:
    api = api_at("11.3", storage_topology)
    assert api.post(CREATE, policy(Storage=blob()), ValidateConnection="true").status_code == 201
    update = api.post(
        "/BackupRestore/BackupPolicies/p1/$/Update",
        policy(Storage=blob(container="nope")),
        ValidateConnection="true",
    )
    assert outcome(update) == (400, "E_INVALIDARG")
    assert get(api)["Storage"]["ContainerName"] == "backups"
    missing = api.post(
        "/BackupRestore/BackupPolicies/gone/$/Update",
        policy(Storage=blob(key=OTHER_KEY)),
        ValidateConnection="true",
    )
    assert outcome(missing) == (404, "FABRIC_E_BACKUP_POLICY_DOES_NOT_EXIST")


def test_validate_connection_without_a_storage_section_accepts_any_storage(
    api_at: Callable[..., Api],
) -> None:
    api = api_at("10.1")
    assert (
        api.post(
            CREATE, policy(Storage=blob(key=OTHER_KEY, account="x")), ValidateConnection="true"
        ).status_code
        == 201
    )


def test_validate_connection_needs_a_boolean(api_at: Callable[..., Api]) -> None:
    assert outcome(api_at("10.1").post(CREATE, policy(), ValidateConnection="yes")) == (400, "E_INVALIDARG")
    assert api_at("6.4").post(CREATE, policy(), ValidateConnection="yes").status_code == 201  # unknown there


def test_the_state_file_never_holds_the_topologys_secrets(tmp_path: Path, storage_topology: Path) -> None:
    state = tmp_path / "s.db"
    init_state(str(state), str(storage_topology))
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("s.db*"))
    assert ACCOUNT_KEY.encode() not in raw and SHARE_PASSWORD.encode() not in raw
    assert b"demo" in raw  # the section is there, only its secrets are digests


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("storage: []", "with-storage.yaml:1:10: error: 'storage' must be a mapping ($.storage)"),
        ("storage:\n  blobs: []", "with-storage.yaml:2:10: error: unknown field 'blobs'"),
        (
            "storage:\n  managed_identities:\n    - {type: vmss}",
            "with-storage.yaml:3:14: error: a managed identity's type must be VMSS or Cluster, not 'vmss'",
        ),
        (
            "storage:\n  managed_identities:\n    - type: VMSS\n      access: [{account: ghost}]",
            "with-storage.yaml:4:26: error: storage account 'ghost' is not among storage.blob_accounts",
        ),
        (
            "storage:\n  file_shares:\n    - {path: x, username: u}",
            "with-storage.yaml:3:7: error: a file share needs both 'username' and 'password', or neither",
        ),
        (
            "storage:\n  managed_identities:\n    - type: VMSS\n      access: [{account: a, role: Owner}]",
            "with-storage.yaml:4:35: error: role must be one of Storage Blob Data Owner",
        ),
    ],
)
def test_storage_section_mistakes_are_reported_at_their_line(
    tmp_path: Path, section: str, message: str
) -> None:
    path = tmp_path / "with-storage.yaml"
    path.write_text(section + "\n")
    with pytest.raises(ConfigError) as caught:
        load_topology(str(path))
    assert any(message in str(d) for d in caught.value.diagnostics), [
        str(d) for d in caught.value.diagnostics
    ]


# Microsoft's SDK.

sdk = pytest.importorskip("azure.servicefabric")
models = pytest.importorskip("azure.servicefabric.models")
authentication = pytest.importorskip("msrest.authentication")


@pytest.fixture
def served(tmp_path: Path, storage_topology: Path) -> Iterator[Callable[[str], Any]]:
    servers: list[EmulatorServer] = []
    clients: list[Any] = []

    def start(runtime: str) -> Any:
        server = EmulatorServer(
            str(tmp_path / f"sdk-{runtime}.db"), topology=str(storage_topology), runtime=runtime
        )
        servers.append(server.start())
        client = sdk.ServiceFabricClientAPIs(authentication.Authentication(), base_url=server.url)
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.close()
    for server in servers:
        server.stop()


def managed_policy(name: str) -> Any:
    return models.BackupPolicyDescription(
        name=name,
        auto_restore_on_data_loss=False,
        max_incremental_backups=3,
        schedule=models.FrequencyBasedBackupScheduleDescription(interval="PT4H"),
        storage=models.ManagedIdentityAzureBlobBackupStorageDescription(
            managed_identity_type="VMSS",
            blob_service_uri="https://demo.blob.core.windows.net",
            container_name="backups",
            friendly_name="mi",
        ),
    )


def test_sdk_creates_a_managed_identity_policy_on_101(served: Callable[[str], Any]) -> None:
    client = served("10.1")
    assert client.get_cluster_version().version == "10.1.3033.1"
    client.create_backup_policy(managed_policy("mi"), validate_connection=True)
    read = client.get_backup_policy_by_name("mi")
    assert isinstance(read.storage, models.ManagedIdentityAzureBlobBackupStorageDescription)
    assert (
        read.storage.managed_identity_type,
        read.storage.blob_service_uri,
        read.storage.container_name,
    ) == (
        "VMSS",
        "https://demo.blob.core.windows.net",
        "backups",
    )
    wrong = managed_policy("wrong")
    wrong.storage.container_name = "archive"  # the system-assigned identity has no role there
    with pytest.raises(models.FabricErrorException) as refused:
        client.create_backup_policy(wrong, validate_connection=True)
    assert refused.value.error.error.code == "E_INVALIDARG"


def test_sdk_is_refused_a_managed_identity_policy_on_64(served: Callable[[str], Any]) -> None:
    client = served("6.4")
    assert client.get_cluster_version().version == "6.4.670.9590"
    with pytest.raises(models.FabricErrorException) as refused:
        client.create_backup_policy(managed_policy("mi"))
    assert (refused.value.error.error.code, refused.value.error.error.message) == (
        "E_INVALIDARG",
        "Invalid StorageKind ManagedIdentityAzureBlobStore",
    )


def test_client_id_over_raw_http_where_the_sdk_has_no_field(tmp_path: Path) -> None:
    state = str(tmp_path / "raw.db")
    init_state(state, str(CALC_TOPOLOGY))
    with EmulatorServer(state, runtime="10.1") as server, http_client(server.url) as client:
        api = Api(client)
        storage = {**MANAGED, "ManagedIdentityClientId": CLIENT_ID}
        assert api.post(CREATE, policy(Storage=storage)).status_code == 201
        # the SDK reads the policy back, ignoring the member it does not know
        sdk_client = sdk.ServiceFabricClientAPIs(authentication.Authentication(), base_url=server.url)
        try:
            assert sdk_client.get_backup_policy_by_name("p1").storage.container_name == "backups"
        finally:
            sdk_client.close()
        assert get(api)["Storage"]["ManagedIdentityClientId"] == CLIENT_ID
        before = copy.deepcopy(get(api))
        assert (
            api.post("/BackupRestore/BackupPolicies/p1/$/Update", policy(Storage=MANAGED)).status_code == 200
        )
        assert get(api)["Storage"]["ManagedIdentityClientId"] is None  # an update replaces the whole policy
        assert before != get(api)
