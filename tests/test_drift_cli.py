"""`sfdeclare drift` end to end: apply a configuration to the emulator, change the cluster out of band through
its API, and check that each change is reported with the right class in every format, that the JSON validates
against schemas/drift.schema.json, and that drift never writes."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from sfdeclare import schemas
from sfdeclare.cli import main
from sfdeclare.commands.session import connect
from sfdeclare.emulator.server import EmulatorServer
from sfdeclare.emulator.state import init_state
from sfdeclare.emulator.topology import derived_partition_id
from sfdeclare.model.addresses import EntityRef

TOPOLOGY = Path(__file__).resolve().parent / "data" / "topologies" / "calc.yaml"
SECRET = "DefaultEndpointsProtocol=https;AccountKey=dG9wLXNlY3JldA=="
CALC = "fabric:/CalcApp"
CALC_SERVICE = "fabric:/CalcApp/CalcService"
ROUTER = "fabric:/CalcApp/Router"
PARTITION = derived_partition_id(CALC_SERVICE, 1)

CONFIG = f"""\
version: 1
policies:
  Daily:
    AutoRestoreOnDataLoss: false
    MaxIncrementalBackups: 3
    Schedule: {{ScheduleKind: FrequencyBased, Interval: PT24H}}
    Storage:
      StorageKind: AzureBlobStore
      FriendlyName: Store1
      ConnectionString: ${{env:DRIFT_TEST_CS}}
      ContainerName: backups
    RetentionPolicy: {{RetentionPolicyType: Basic, RetentionDuration: P30D, MinimumNumberOfBackups: 20}}
  Hourly:
    MaxIncrementalBackups: 1
    Schedule: {{ScheduleKind: FrequencyBased, Interval: PT1H}}
    Storage: {{StorageKind: FileShare, Path: '\\\\\\\\server\\\\share'}}
applications:
  CalcApp:
    policy: Daily
    services:
      CalcService:
        suspended: true
        partitions:
          - id: {PARTITION}
            policy: Hourly
      Router:
        policy: Hourly
  CalcApp2:
    policy: Daily
"""


def _run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """(config path, state path) with the configuration applied."""
    state = str(tmp_path / "state.db")
    init_state(state, str(TOPOLOGY))
    config = tmp_path / "backup.yaml"
    config.write_text(CONFIG)
    monkeypatch.setenv("DRIFT_TEST_CS", SECRET)
    code, out, err = _run("apply", str(config), "--endpoint", f"emulator:{state}", "--auto-approve")
    assert code == 0, out + err
    monkeypatch.delenv("DRIFT_TEST_CS")  # drift works without secret values
    return str(config), state


@pytest.fixture
def served(cluster: tuple[str, str]) -> Iterator[tuple[str, EmulatorServer]]:
    with EmulatorServer(cluster[1]) as server:
        yield cluster[0], server


def _drift(config: str, endpoint: str, fmt: str, *extra: str) -> tuple[int, str, str]:
    return _run("drift", config, "--endpoint", endpoint, "--format", fmt, *extra)


def _policy(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "AutoRestoreOnDataLoss": False,
        "MaxIncrementalBackups": 3,
        "Schedule": {"ScheduleKind": "FrequencyBased", "Interval": "PT24H"},
        "Storage": {
            "StorageKind": "AzureBlobStore",
            "FriendlyName": "Store1",
            "ConnectionString": SECRET,
            "ContainerName": "backups",
        },
        "RetentionPolicy": {
            "RetentionPolicyType": "Basic",
            "RetentionDuration": "P30D",
            "MinimumNumberOfBackups": 20,
        },
    }
    body.update(changes)
    return body


def _out_of_band(endpoint: str) -> None:
    """One change of every kind, made the way an operator would: straight through the cluster's API."""
    with connect(endpoint) as client:
        client.update_policy(
            "Daily", _policy(Schedule={"ScheduleKind": "FrequencyBased", "Interval": "PT12H"})
        )
        client.create_policy("Extra", _policy())
        client.enable_backup(EntityRef(CALC, CALC_SERVICE), "Extra")  # a new, undeclared mapping
        client.disable_backup(EntityRef(CALC, ROUTER))  # a declared mapping deleted
        client.enable_backup(EntityRef(CALC, CALC_SERVICE, PARTITION), "Daily")  # mapped to another policy
        client.suspend_backup(EntityRef(CALC))  # a suspension the file says nothing about
        client.resume_backup(EntityRef(CALC, CALC_SERVICE))  # a declared suspension lifted
        client.enable_backup(EntityRef("fabric:/Org/Billing"), "Extra")  # in an undeclared application


def _items(report: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(i["class"], i["subject"], i["address"]) for i in report["items"]}


EXPECTED = {
    ("changed", "policy", "policy[Daily]"),
    # policy[Extra] is not drift under scope: declared (nothing declares or references it): an info line
    ("unmanaged", "mapping", f"service[{CALC_SERVICE}]"),
    ("missing", "mapping", f"service[{ROUTER}]"),
    ("changed", "mapping", f"partition[{CALC_SERVICE}/{PARTITION}]"),
    ("suspended_out_of_band", "suspension", f"application[{CALC}]"),
    ("missing", "suspension", f"service[{CALC_SERVICE}]"),
}


def test_drift_right_after_apply_is_empty_in_every_format(cluster: tuple[str, str]) -> None:
    config, state = cluster
    schema = schemas.load("drift")
    for fmt in ("text", "json", "markdown"):
        code, out, err = _drift(config, f"emulator:{state}", fmt)
        assert code == 0, out + err
        assert "No drift" in out
    code, out, _ = _drift(config, f"emulator:{state}", "json")
    report = json.loads(out)
    jsonschema.validate(report, schema)
    assert report["drift"] is False and report["items"] == []
    # CalcService (partitions read: 3) and Router of CalcApp, Svc of CalcApp2: all covered, one suspended
    assert report["coverage"]["services_total"] == 3
    assert report["coverage"]["services_covered"] == 3
    assert report["coverage"]["services_suspended"] == 1
    assert report["coverage"]["partitions_known"] == 3


def test_every_out_of_band_change_is_classified_in_every_format_and_drift_never_writes(
    served: tuple[str, EmulatorServer],
) -> None:
    config, server = served
    _out_of_band(server.url)
    stats = httpx.Client(base_url=server.url)
    stats.post("/$/Emulator/Stats/$/Reset")
    outputs = {}
    for fmt in ("text", "json", "markdown"):
        code, out, err = _drift(config, server.url, fmt)
        assert code == 2, err
        outputs[fmt] = out
    routes = stats.get("/$/Emulator/Stats").json()["Routes"]
    stats.close()
    assert routes and all(template.startswith("GET ") for template in routes), routes

    report = json.loads(outputs["json"])
    jsonschema.validate(report, schemas.load("drift"))
    assert _items(report) == EXPECTED
    assert report["summary"] == {
        "changed": 2,
        "missing": 2,
        "unmanaged": 1,
        "suspended_out_of_band": 1,
        "total": 6,
    }
    (extra,) = [d for d in report["diagnostics"] if "policy Extra" in d["message"]]
    assert extra["severity"] == "info" and f"mapped in {CALC}" in extra["message"]
    changed = next(i for i in report["items"] if i["address"] == "policy[Daily]")
    assert changed["fields"] == [{"path": "Schedule.Interval", "declared": "PT24H", "live": "PT12H"}]
    assert changed["location"]["line"] == 3
    moved = next(i for i in report["items"] if i["subject"] == "mapping" and i["class"] == "changed")
    assert (moved["declared"], moved["live"]) == ("Hourly", "Daily")

    for fmt in ("text", "markdown"):
        text = outputs[fmt]
        for _, _, address in EXPECTED:
            assert address in text, (fmt, address)
        assert "Schedule.Interval" in text and "PT12H" in text
        assert "Coverage:" in text
        assert SECRET not in text and "****" not in text
    assert (
        outputs["text"]
        .rstrip()
        .endswith("Drift: 2 changed, 2 missing, 1 unmanaged, 1 suspended out of band.")
    )
    assert "Unmanaged (1):" in outputs["text"] and "Suspended out of band (1):" in outputs["text"]
    assert outputs["markdown"].startswith("### sfdeclare drift")
    assert "| Changed | 2 |" in outputs["markdown"]
    assert SECRET not in outputs["json"]


def test_all_applications_reports_mappings_and_suspensions_in_undeclared_applications(
    cluster: tuple[str, str],
) -> None:
    config, state = cluster
    with connect(f"emulator:{state}") as client:
        client.enable_backup(EntityRef("fabric:/Org/Billing"), "Daily")
        client.suspend_backup(EntityRef("fabric:/Org/Billing"))
    code, out, _ = _drift(config, f"emulator:{state}", "json")
    assert code == 0 and json.loads(out)["items"] == []
    code, out, _ = _drift(config, f"emulator:{state}", "json", "--all-applications")
    assert code == 2
    report = json.loads(out)
    jsonschema.validate(report, schemas.load("drift"))
    assert _items(report) == {
        ("unmanaged", "mapping", "application[fabric:/Org/Billing]"),
        ("suspended_out_of_band", "suspension", "application[fabric:/Org/Billing]"),
    }
    assert report["all_applications"] is True


def test_coverage_names_stateful_services_without_a_policy(tmp_path: Path) -> None:
    state = str(tmp_path / "state.db")
    init_state(state, str(TOPOLOGY))
    config = tmp_path / "c.yaml"
    config.write_text(
        "version: 1\napplications:\n  CalcApp:\n    services:\n      CalcService: {}\n  Org/Billing: {}\n"
    )
    code, out, err = _drift(str(config), f"emulator:{state}", "text")
    assert code == 0, err
    assert (
        "Coverage: 0 of 3 stateful services have a backup policy; without: fabric:/CalcApp/CalcService, "
        "fabric:/CalcApp/Router, fabric:/Org/Billing/Ledger." in out
    )


def test_declared_entities_missing_from_the_cluster_are_missing_drift(tmp_path: Path) -> None:
    state = str(tmp_path / "state.db")
    init_state(state, str(TOPOLOGY))
    config = tmp_path / "c.yaml"
    config.write_text(
        "version: 1\napplications:\n  Gone: {}\n  CalcApp:\n    services:\n      Nope: {}\n"
        "      Router:\n        partitions:\n          - name: north\n"
    )
    code, out, err = _drift(str(config), f"emulator:{state}", "json")
    assert code == 2, err
    report = json.loads(out)
    jsonschema.validate(report, schemas.load("drift"))
    assert _items(report) == {
        ("missing", "application", "application[fabric:/Gone]"),
        ("missing", "service", "service[fabric:/CalcApp/Nope]"),
        ("missing", "partition", "partition[fabric:/CalcApp/Router/name=north]"),
    }


def test_a_policy_on_a_stateless_service_is_an_error_exit_1_with_the_report(tmp_path: Path) -> None:
    state = str(tmp_path / "state.db")
    init_state(state, str(TOPOLOGY))
    config = tmp_path / "c.yaml"
    config.write_text("version: 1\napplications:\n  CalcApp:\n    services:\n      Web: {policy: P}\n")
    code, out, err = _drift(str(config), f"emulator:{state}", "json")
    assert code == 1
    report = json.loads(out)
    jsonschema.validate(report, schemas.load("drift"))
    assert "stateless" in err
    assert ("missing", "policy", "policy[P]") in _items(report)
