"""The pure importer: live state -> configuration YAML, without a cluster."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from sfdeclare.config.export import env_name, import_configuration, relative_service
from sfdeclare.config.loader import load_declaration
from sfdeclare.model.addresses import EntityRef
from sfdeclare.model.live import LiveState
from sfdeclare.servicefabric.policies import canonical

BLOB: dict[str, Any] = {
    "AutoRestoreOnDataLoss": False,
    "MaxIncrementalBackups": 3,
    "Schedule": {"ScheduleKind": "FrequencyBased", "Interval": "P1D"},
    "Storage": {
        "StorageKind": "AzureBlobStore",
        "FriendlyName": "",
        "ConnectionString": "****",
        "ContainerName": "backups",
    },
    "RetentionPolicy": {
        "RetentionPolicyType": "Basic",
        "RetentionDuration": "P30D",
        "MinimumNumberOfBackups": 2,
    },
}
SHARE: dict[str, Any] = {
    "AutoRestoreOnDataLoss": True,
    "MaxIncrementalBackups": 0,
    "Schedule": {
        "ScheduleKind": "TimeBased",
        "ScheduleFrequencyType": "Weekly",
        "RunDays": ["Wednesday", "Monday"],
        "RunTimes": ["0001-01-01T22:30:00Z", "0001-01-01T02:00:15Z"],
    },
    "Storage": {
        "StorageKind": "FileShare",
        "FriendlyName": "share",
        "Path": "\\\\server\\backups",
        "PrimaryUserName": "svc-backup",
        "PrimaryPassword": "****",
        "SecondaryUserName": None,
        "SecondaryPassword": "****",
    },
    "RetentionPolicy": None,
}
APP = "fabric:/CalcApp"
SVC = "fabric:/CalcApp/CalcService"
PID = "c6d7e0fd-3726-56af-bf02-ebeb10602524"


def _live(**kwargs: Any) -> LiveState:
    defaults: dict[str, Any] = {
        "policies": {"Daily": BLOB, "Share.Weekly": SHARE, "Unused": BLOB},
        "mappings": {
            EntityRef(APP): "Daily",
            EntityRef(APP, SVC, PID): "Share.Weekly",
            EntityRef("fabric:/Org/Billing", "fabric:/Org/Billing/Ledger"): "Daily",
        },
        "suspensions": frozenset({EntityRef(APP, SVC), EntityRef(APP, SVC, PID)}),
        "configured_applications": frozenset({APP, "fabric:/Org/Billing", "fabric:/Empty"}),
    }
    defaults.update(kwargs)
    return LiveState(**defaults)


def test_env_names_are_upper_case_with_underscores() -> None:
    assert env_name("Daily", "ConnectionString") == "SFDECLARE_DAILY_CONNECTION_STRING"
    assert env_name("share.weekly-2", "PrimaryPassword") == "SFDECLARE_SHARE_WEEKLY_2_PRIMARY_PASSWORD"
    assert relative_service(APP, SVC) == "CalcService"
    assert relative_service(APP, "fabric:/Other/Svc") == "fabric:/Other/Svc"


def test_everything_explicit_is_written_in_canonical_order_and_nothing_inherited() -> None:
    live = _live()
    result = import_configuration(live, sorted(live.configured_applications), every_policy=True)
    doc = yaml.safe_load(result.text)
    assert list(doc) == ["version", "policies", "applications"]
    assert doc["version"] == 1
    assert list(doc["policies"]) == ["Daily", "Share.Weekly", "Unused"]
    assert list(doc["applications"]) == ["CalcApp", "Org/Billing"]  # Empty has no configuration
    assert doc["applications"]["CalcApp"] == {
        "policy": "Daily",
        "services": {
            "CalcService": {
                "suspended": True,
                "partitions": [{"id": PID, "policy": "Share.Weekly", "suspended": True}],
            }
        },
    }
    assert doc["applications"]["Org/Billing"] == {"services": {"Ledger": {"policy": "Daily"}}}
    assert result.text.startswith("# Backup configuration imported by `sfdeclare import`")
    # the same input always gives the same text
    again = import_configuration(live, sorted(live.configured_applications), every_policy=True)
    assert again.text == result.text


def test_policy_bodies_drop_server_defaults_keep_meaning_and_reference_secrets() -> None:
    live = _live()
    result = import_configuration(live, [APP], every_policy=False)
    doc = yaml.safe_load(result.text)
    assert list(doc["policies"]) == ["Daily", "Share.Weekly"]  # only what the application uses
    daily = doc["policies"]["Daily"]
    assert "FriendlyName" not in daily["Storage"]
    assert daily["Storage"]["ConnectionString"] == "${env:SFDECLARE_DAILY_CONNECTION_STRING}"
    share = doc["policies"]["Share.Weekly"]
    assert "RetentionPolicy" not in share
    assert share["Schedule"]["RunTimes"] == ["0001-01-01T02:00:15Z", "0001-01-01T22:30:00Z"]
    # a password without a user name was never set (the cluster masks it anyway): left out
    assert share["Storage"] == {
        "StorageKind": "FileShare",
        "FriendlyName": "share",
        "Path": "\\\\server\\backups",
        "PrimaryUserName": "svc-backup",
        "PrimaryPassword": "${env:SFDECLARE_SHARE_WEEKLY_PRIMARY_PASSWORD}",
    }
    assert [(r.policy, r.field, r.env_name) for r in result.secrets] == [
        ("Daily", "ConnectionString", "SFDECLARE_DAILY_CONNECTION_STRING"),
        ("Share.Weekly", "PrimaryPassword", "SFDECLARE_SHARE_WEEKLY_PRIMARY_PASSWORD"),
    ]
    for name, body in doc["policies"].items():
        assert canonical(body) == canonical(live.policies[name])
    assert "****" not in result.text


def test_colliding_env_names_get_a_suffix() -> None:
    live = _live(policies={"a-b": BLOB, "a.b": BLOB}, mappings={}, suspensions=frozenset())
    result = import_configuration(live, [], every_policy=True)
    assert [r.env_name for r in result.secrets] == [
        "SFDECLARE_A_B_CONNECTION_STRING",
        "SFDECLARE_A_B_CONNECTION_STRING_2",
    ]


def test_suspensions_in_an_application_without_any_mapping_are_a_note_not_config() -> None:
    live = _live(mappings={}, suspensions=frozenset({EntityRef(APP)}))
    result = import_configuration(live, [APP], every_policy=False)
    assert "applications" not in yaml.safe_load(result.text)
    assert result.notes and "not imported" in result.notes[0]
    named = import_configuration(live, [APP], every_policy=False, named=True)
    assert yaml.safe_load(named.text)["applications"] == {"CalcApp": {}}


def test_the_output_is_a_valid_configuration(tmp_path: Path) -> None:
    live = _live()
    result = import_configuration(
        live, sorted(live.configured_applications), every_policy=True, api_version="6.2-preview"
    )
    assert yaml.safe_load(result.text)["cluster"] == {"api_version": "6.2-preview"}
    path = tmp_path / "imported.yaml"
    live64 = import_configuration(live, sorted(live.configured_applications), every_policy=True)
    path.write_text(live64.text)
    declaration = load_declaration([str(path)])
    assert set(declaration.policies) == {"Daily", "Share.Weekly", "Unused"}
    assert declaration.applications[APP].settings.policy == "Daily"
    (svc,) = declaration.applications[APP].services
    assert svc.name == SVC and svc.settings.suspended is True
    assert svc.partitions[0].selector.value == PID
