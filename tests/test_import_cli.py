"""`sfdeclare import` end to end: what it writes, planned against the same cluster, shows no changes (and no
drift), for an example configuration and for generated topologies and backup settings."""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfdeclare.cli import main
from sfdeclare.commands.session import connect
from sfdeclare.emulator.state import init_state
from sfdeclare.emulator.topology import derived_partition_id
from sfdeclare.errors import ClusterError
from sfdeclare.model.addresses import EntityRef

TOPOLOGY = Path(__file__).resolve().parent / "data" / "topologies" / "calc.yaml"
SECRET = "DefaultEndpointsProtocol=https;AccountKey=aW1wb3J0LXNlY3JldA=="
PASSWORD = "pa55-w0rd-import"
CALC_SERVICE = "fabric:/CalcApp/CalcService"
PARTITION = derived_partition_id(CALC_SERVICE, 2)

CONFIG = f"""\
version: 1
policies:
  Daily:
    MaxIncrementalBackups: 3
    Schedule: {{ScheduleKind: FrequencyBased, Interval: PT24H}}
    Storage:
      StorageKind: AzureBlobStore
      ConnectionString: ${{env:IMPORT_TEST_CS}}
      ContainerName: backups
    RetentionPolicy: {{RetentionPolicyType: Basic, RetentionDuration: P30D, MinimumNumberOfBackups: 20}}
  nightly.share:
    AutoRestoreOnDataLoss: true
    MaxIncrementalBackups: 0
    Schedule:
      ScheduleKind: TimeBased
      ScheduleFrequencyType: Weekly
      RunDays: [Saturday, Monday]
      RunTimes: ["2024-05-01T23:30:00+02:00", "2024-05-01T04:00:00Z"]
    Storage:
      StorageKind: FileShare
      FriendlyName: share
      Path: '\\\\fileserver\\backups'
      PrimaryUserName: backup
      PrimaryPassword: ${{env:IMPORT_TEST_PW}}
applications:
  CalcApp:
    policy: Daily
    suspended: true
    services:
      Router:
        policy: nightly.share
      CalcService:
        suspended: true
        partitions:
          - id: {PARTITION}
            policy: nightly.share
            suspended: true
  Org/Billing:
    services:
      Ledger:
        policy: Daily
        partitions:
          - low_key: 100
            policy: nightly.share
"""


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def applied(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    state = str(tmp_path / "state.db")
    init_state(state, str(TOPOLOGY))
    config = tmp_path / "backup.yaml"
    config.write_text(CONFIG)
    monkeypatch.setenv("IMPORT_TEST_CS", SECRET)
    monkeypatch.setenv("IMPORT_TEST_PW", PASSWORD)
    code, out, err = _run("apply", str(config), "--endpoint", f"emulator:{state}", "--auto-approve")
    assert code == 0, out + err
    monkeypatch.delenv("IMPORT_TEST_CS")
    monkeypatch.delenv("IMPORT_TEST_PW")
    return state


def _assert_round_trip(state: str, imported: str, inert_apps: str = "") -> None:
    """Planning the imported file shows no changes, and drift (over every application) finds nothing but the
    suspensions import leaves out because they have no effect (``inert_apps``: import's warnings)."""
    code, out, err = _run("plan", imported, "--endpoint", f"emulator:{state}", "--detailed-exitcode")
    assert code == 0, out + err
    assert "No changes." in out
    code, out, err = _run(
        "drift", imported, "--endpoint", f"emulator:{state}", "--all-applications", "--format", "json"
    )
    assert code in (0, 2), err
    for item in json.loads(out)["items"]:
        assert item["class"] == "suspended_out_of_band", item
        assert f"warning: {item['application']}: " in inert_apps, (item, inert_apps)


def test_import_of_an_applied_example_plans_no_changes(applied: str, tmp_path: Path) -> None:
    output = tmp_path / "imported.yaml"
    code, out, err = _run("import", "--endpoint", f"emulator:{applied}", "--output", str(output))
    assert code == 0, err
    assert out == ""
    text = output.read_text()
    assert SECRET not in text + err and PASSWORD not in text + err and "****" not in text
    assert "SFDECLARE_DAILY_CONNECTION_STRING" in err
    assert "SFDECLARE_NIGHTLY_SHARE_PRIMARY_PASSWORD" in err
    assert f"Wrote {output}" in err
    doc = yaml.safe_load(text)
    assert doc["version"] == 1 and text.startswith("#")
    assert list(doc["applications"]) == ["CalcApp", "Org/Billing"]
    calc = doc["applications"]["CalcApp"]
    assert calc["policy"] == "Daily" and calc["suspended"] is True
    assert list(calc["services"]) == ["CalcService", "Router"]
    assert calc["services"]["CalcService"]["partitions"] == [
        {"id": PARTITION, "policy": "nightly.share", "suspended": True}
    ]
    ledger = doc["applications"]["Org/Billing"]["services"]["Ledger"]
    assert ledger["policy"] == "Daily"
    assert ledger["partitions"][0]["policy"] == "nightly.share"  # written by id, not by low_key
    assert doc["policies"]["nightly.share"]["Schedule"]["RunTimes"] == [
        "0001-01-01T04:00:00Z",
        "0001-01-01T21:30:00Z",
    ]
    _assert_round_trip(applied, str(output))


def test_import_to_stdout_with_named_applications_and_the_endpoint_from_the_environment(
    applied: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SFDECLARE_ENDPOINT", f"emulator:{applied}")
    code, out, err = _run("import", "--application", "fabric:/Org/Billing", "--application", "Empty")
    assert code == 0, err
    doc = yaml.safe_load(out)
    assert list(doc["applications"]) == ["Empty", "Org/Billing"]
    assert doc["applications"]["Empty"] == {}
    assert list(doc["policies"]) == ["Daily", "nightly.share"]
    imported = tmp_path / "billing.yaml"
    imported.write_text(out)
    monkeypatch.delenv("SFDECLARE_ENDPOINT")
    code, out, err = _run("plan", str(imported), "--endpoint", f"emulator:{applied}", "--detailed-exitcode")
    assert code == 0, out + err


def test_import_of_an_application_that_does_not_exist_is_one_line_exit_1(applied: str) -> None:
    code, out, err = _run("import", "--endpoint", f"emulator:{applied}", "--application", "Nope")
    assert code == 1 and out == ""
    assert err == "error: application fabric:/Nope does not exist on the cluster\n"


def test_import_without_an_endpoint_says_how_to_give_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SFDECLARE_ENDPOINT", raising=False)
    code, _, err = _run("import")
    assert code == 1 and "SFDECLARE_ENDPOINT" in err


def test_import_reads_and_never_writes(applied: str, tmp_path: Path) -> None:
    def snapshot() -> str:
        with connect(f"emulator:{applied}") as client:
            policies = client.list_policies()
            config = {app: repr(client.configuration_info(EntityRef(app))) for app in ("fabric:/CalcApp",)}
        return json.dumps([policies, config], sort_keys=True)

    before = snapshot()
    assert _run("import", "--endpoint", f"emulator:{applied}")[0] == 0
    assert snapshot() == before


# --- generated topologies ------------------------------------------------------------------------------------

POLICY_NAMES = ("Daily", "hourly-1", "Weekly.Share")


@st.composite
def _policy_body(draw: st.DrawFn) -> dict[str, Any]:
    if draw(st.booleans()):
        schedule: dict[str, Any] = {
            "ScheduleKind": "FrequencyBased",
            "Interval": draw(st.sampled_from(["PT15M", "PT1H", "PT90M", "PT24H", "P2D"])),
        }
    else:
        schedule = {
            "ScheduleKind": "TimeBased",
            "ScheduleFrequencyType": "Weekly",
            "RunDays": draw(
                st.lists(st.sampled_from(["Monday", "Friday", "Sunday"]), min_size=1, unique=True)
            ),
            "RunTimes": draw(
                st.lists(
                    st.sampled_from(
                        ["2024-01-01T01:00:00Z", "2024-01-01T13:45:30+01:00", "2024-01-01T23:59:00Z"]
                    ),
                    min_size=1,
                    unique=True,
                )
            ),
        }
    if draw(st.booleans()):
        storage: dict[str, Any] = {
            "StorageKind": "AzureBlobStore",
            "ConnectionString": SECRET,
            "ContainerName": draw(st.sampled_from(["a", "backups"])),
        }
    else:
        storage = {"StorageKind": "FileShare", "Path": "\\\\srv\\share"}
        if draw(st.booleans()):
            storage.update(PrimaryUserName="u", PrimaryPassword=PASSWORD)
    if draw(st.booleans()):
        storage["FriendlyName"] = "store"
    body: dict[str, Any] = {
        "MaxIncrementalBackups": draw(st.integers(0, 255)),
        "Schedule": schedule,
        "Storage": storage,
    }
    if draw(st.booleans()):
        body["AutoRestoreOnDataLoss"] = draw(st.booleans())
    if draw(st.booleans()):
        body["RetentionPolicy"] = {
            "RetentionPolicyType": "Basic",
            "RetentionDuration": draw(st.sampled_from(["PT1H", "P7D"])),
            "MinimumNumberOfBackups": draw(st.integers(0, 5)),
        }
    return body


@st.composite
def _topology(draw: st.DrawFn) -> dict[str, Any]:
    apps = []
    for a in range(draw(st.integers(1, 3))):
        app = f"fabric:/App{a}" if draw(st.booleans()) else f"fabric:/Team/App{a}"
        services = []
        for s in range(draw(st.integers(0, 3))):
            kind = draw(st.sampled_from(["persisted", "persisted", "stateless", "volatile"]))
            service: dict[str, Any] = {
                "name": f"{app}/Svc{s}",
                "kind": "Stateless" if kind == "stateless" else "Stateful",
            }
            if kind == "volatile":
                service["has_persisted_state"] = False
            if draw(st.booleans()):
                service["partitions"] = draw(st.integers(1, 3))
            else:
                service["partitions"] = [
                    {"id": derived_partition_id(f"{app}/Svc{s}/named", i), "kind": "Named", "name": f"n{i}"}
                    for i in range(draw(st.integers(1, 2)))
                ]
            services.append(service)
        apps.append({"name": app, "services": services})
    return {"applications": apps}


def _entities(topology: dict[str, Any]) -> list[EntityRef]:
    """Every entity a backup mapping can be put on: applications, persisted stateful services and partitions."""
    refs: list[EntityRef] = []
    for app in topology["applications"]:
        refs.append(EntityRef(app["name"]))
        for svc in app["services"]:
            if svc["kind"] != "Stateful" or svc.get("has_persisted_state") is False:
                continue
            refs.append(EntityRef(app["name"], svc["name"]))
            parts = svc["partitions"]
            ids = (
                [derived_partition_id(svc["name"], i) for i in range(parts)]
                if isinstance(parts, int)
                else [p["id"] for p in parts]
            )
            refs.extend(EntityRef(app["name"], svc["name"], pid) for pid in ids)
    return refs


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(topology=_topology(), data=st.data())
def test_import_round_trips_for_generated_clusters(topology: dict[str, Any], data: st.DataObject) -> None:
    with tempfile.TemporaryDirectory() as folder:
        topology_path = os.path.join(folder, "topology.json")
        with open(topology_path, "w") as handle:
            json.dump(topology, handle)
        state = os.path.join(folder, "state.db")
        init_state(state, topology_path)
        entities = _entities(topology)
        names = data.draw(st.lists(st.sampled_from(POLICY_NAMES), min_size=1, max_size=3, unique=True))
        with connect(f"emulator:{state}") as client:
            for name in names:
                client.create_policy(name, data.draw(_policy_body()))
            for ref in entities:
                if data.draw(st.booleans()):
                    client.enable_backup(ref, data.draw(st.sampled_from(names)))
            for ref in entities:
                if data.draw(st.integers(0, 3)) == 0:
                    try:
                        client.suspend_backup(ref)
                    except ClusterError as exc:  # no mapping anywhere in its application
                        assert exc.code == "FABRIC_E_BACKUP_NOT_ENABLED"
            if data.draw(st.booleans()) and entities:  # a disable leaves suspensions behind
                target = data.draw(st.sampled_from(entities))
                try:
                    client.disable_backup(target)
                except ClusterError as exc:
                    assert exc.code == "FABRIC_E_BACKUP_NOT_ENABLED"
        imported = os.path.join(folder, "imported.yaml")
        code, _, err = _run("import", "--endpoint", f"emulator:{state}", "--output", imported)
        assert code == 0, err
        with open(imported) as handle:
            text = handle.read()
        assert SECRET not in text and PASSWORD not in text
        _assert_round_trip(state, imported, err)
